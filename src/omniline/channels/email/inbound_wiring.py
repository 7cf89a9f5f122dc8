"""Registration of the email channel's inbound side: the IMAP pollers and the SMTP receiver."""

from omniline.kit.background import register_background


def register() -> None:
    from omniline.channels.email import imap, smtp_receiver

    register_background("email-imap", imap.supervise)
    register_background("email-smtp-receiver", smtp_receiver.serve)
