"""Web-chat widget channel (also the contract for a lender's mobile app)."""

from omniline.conversations.delivery import register_sender


def register() -> None:
    from omniline.channels.webchat import push, sender

    register_sender("webchat", sender.send, on_commit=True)
    register_sender("mobile", sender.send, on_commit=True)
    push.register()
