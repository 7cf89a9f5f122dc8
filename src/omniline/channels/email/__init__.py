"""Email channel: any number of mailboxes per workspace (IMAP/SMTP receiver in, SMTP out)."""


def register() -> None:
    from omniline.channels.email import inbound_wiring, outbound_wiring

    inbound_wiring.register()
    outbound_wiring.register()
