"""Facebook Messenger for a Page: signed webhook in, Send API out, 24-hour window."""


def register() -> None:
    from omniline.channels import _kit
    from omniline.channels.messenger import admin, sender, window
    from omniline.conversations.delivery import register_reply_guard, register_sender
    from omniline.conversations.media import register_media_fetcher
    from omniline.inboxes.channel_types import register_channel_type

    register_sender(admin.CHANNEL, sender.send)
    register_reply_guard(admin.CHANNEL, window.guard)
    register_media_fetcher(admin.CHANNEL, _kit.fetch_url_media)
    register_channel_type(admin.CHANNEL_TYPE)
