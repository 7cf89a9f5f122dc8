"""WhatsApp through Meta's Cloud API (docs/channels/whatsapp.md)."""


def register() -> None:
    from omniline.channels.whatsapp import channel_type, media, sender, window
    from omniline.conversations.delivery import register_reply_guard, register_sender
    from omniline.conversations.media import register_media_fetcher
    from omniline.inboxes.channel_types import register_channel_type

    register_sender("whatsapp", sender.send)
    register_media_fetcher("whatsapp", media.fetch)
    register_reply_guard("whatsapp", window.reply_guard)
    register_channel_type(channel_type.CHANNEL_TYPE)
