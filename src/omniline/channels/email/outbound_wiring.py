"""Registration of the email channel's outbound side: sender, offline fallback, admin form."""


def register() -> None:
    from omniline.channels.email import admin, fallback, sender
    from omniline.conversations.delivery import register_sender
    from omniline.inboxes.channel_types import register_channel_type
    from omniline.kit import hooks

    register_sender("email", sender.send, repeat_safe=True)
    register_channel_type(admin.CHANNEL_TYPE)
    hooks.on("message.created", fallback.on_message_created)
