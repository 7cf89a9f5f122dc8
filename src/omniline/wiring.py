"""Registering channels: the core never imports a channel, the wiring does."""

from __future__ import annotations


def register_channels() -> None:
    from omniline.channels import webchat

    webchat.register()
