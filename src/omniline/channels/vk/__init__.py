"""VK community messages: Callback API in, messages.send out."""


def register() -> None:
    from omniline.channels import _kit
    from omniline.channels.vk import admin, sender
    from omniline.conversations.delivery import register_sender
    from omniline.conversations.media import register_media_fetcher
    from omniline.inboxes.channel_types import register_channel_type

    register_sender(admin.CHANNEL, sender.send, repeat_safe=True)
    register_media_fetcher(admin.CHANNEL, _kit.fetch_url_media)
    register_channel_type(admin.CHANNEL_TYPE)
