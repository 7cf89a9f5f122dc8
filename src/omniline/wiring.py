"""Registering channels and domain listeners: the core never imports a channel, the wiring does."""

from __future__ import annotations

from fastapi import FastAPI


def register_channels() -> None:
    from omniline.channels import webchat

    webchat.register()


def register_domains() -> None:
    """Domains that react to conversation changes subscribe here (omniline.kit.hooks)."""
    # One line per domain, e.g. `from omniline.sla import listeners; listeners.register()`.


def register_all() -> None:
    register_channels()
    register_domains()


def include_routers(app: FastAPI) -> None:
    """Every domain's API and pages. Add one import line per new router module."""
    from omniline.auth import api as auth_api
    from omniline.auth import pages as auth_pages
    from omniline.channels.webchat import api as webchat_api
    from omniline.channels.webchat import pages as webchat_pages
    from omniline.conversations import api as conversations_api
    from omniline.conversations import pages as conversations_pages
    from omniline.workspaces import api as workspaces_api
    from omniline.workspaces import pages as admin_pages

    modules = [
        auth_api,
        conversations_api,
        workspaces_api,
        webchat_api,
        auth_pages,
        conversations_pages,
        webchat_pages,
        admin_pages,
    ]
    # Routers of issue-3 domains are appended below, one line each.
    for module in modules:
        app.include_router(module.router)
