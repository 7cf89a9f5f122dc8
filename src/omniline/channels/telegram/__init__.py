"""Telegram bot channel: customers write to the lender's bot, agents answer from Omniline."""


def register() -> None:
    from omniline.channels.telegram import admin, media, sender
    from omniline.conversations.delivery import register_sender
    from omniline.conversations.media import register_media_fetcher
    from omniline.inboxes.channel_types import register_channel_type

    register_sender("telegram", sender.send, remembers=sender.remembers)
    register_media_fetcher("telegram", media.fetch)
    register_channel_type(admin.CHANNEL_TYPE)
