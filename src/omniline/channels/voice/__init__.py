"""The phone: the PBX carries the audio; Omniline decides what callers hear and who answers."""


def register() -> None:
    from omniline.channels.voice import admin, link
    from omniline.inboxes.channel_types import register_channel_type
    from omniline.kit.background import register_background

    register_channel_type(admin.CHANNEL_TYPE)
    register_background("voice", link.loop)
