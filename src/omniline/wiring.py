"""Registering channels and domain listeners: the core never imports a channel, the wiring does."""

from __future__ import annotations

from fastapi import FastAPI


def register_channels() -> None:
    from omniline.channels import webchat

    webchat.register()
    from omniline.channels import email

    email.register()
    from omniline.channels import telegram

    telegram.register()
    from omniline.channels import whatsapp

    whatsapp.register()
    from omniline.channels import messenger, vk

    vk.register()
    messenger.register()
    from omniline.channels import voice

    voice.register()


def register_domains() -> None:
    """Domains that react to conversation changes subscribe here (omniline.kit.hooks)."""
    # One line per domain, e.g. `from omniline.sla import listeners; listeners.register()`.
    # Who takes a new conversation: routing rules first, then the inbox's bot (its order
    # matters: a rule may tell the bot to stay out).
    from omniline.routing import listeners as routing_listeners

    routing_listeners.register()
    from omniline.bots import faq as bot_faq  # noqa: F401  (the bot_train_faq job)
    from omniline.bots import listeners as bot_listeners
    from omniline.bots import turns as bot_turns  # noqa: F401  (the bot_turn, bot_silence jobs)

    bot_listeners.register()
    from omniline.autoreplies import listeners as autoreplies
    from omniline.conversations import media  # noqa: F401  (the fetch_media job)

    autoreplies.register()
    from omniline.sla import listeners as sla_listeners

    sla_listeners.register()
    from omniline.webhooks import listeners as webhook_listeners

    webhook_listeners.register()
    from omniline.canned import mentions

    mentions.register()
    from omniline.presence import history as presence_history
    from omniline.presence import jobs as presence_jobs

    presence_jobs.register()
    presence_history.register()
    from omniline.audit import listeners as audit_listeners

    audit_listeners.register()
    from omniline.analytics import listeners as analytics_listeners
    from omniline.bi import jobs as bi_jobs
    from omniline.conversations import ingest
    from omniline.privacy import jobs as privacy_jobs  # noqa: F401  (the retention_sweep job)
    from omniline.surveys import jobs as survey_jobs  # noqa: F401  (the survey_send job)
    from omniline.surveys import listeners as survey_listeners
    from omniline.surveys import replies as survey_replies

    survey_listeners.register()
    ingest.intercept(survey_replies.wants, survey_replies.take)
    from omniline.reports import mailer  # noqa: F401  (the report_mail job)

    analytics_listeners.register()
    bi_jobs.register()


def register_all() -> None:
    from omniline.conversations.document_numbers import install_log_masking

    install_log_masking()
    register_channels()
    register_domains()


def include_routers(app: FastAPI) -> None:
    """Every domain's API and pages. Add one import line per new router module.

    Customer-facing hot paths (the widget API and the channels' webhooks) come first:
    the router tries routes in order, and each route it passes costs a few microseconds,
    which at a thousand messages a second was 15 % of a webhook's CPU (docs/benchmarks.md).
    """
    from omniline.audit import api as audit_api
    from omniline.audit import pages as audit_pages
    from omniline.auth import api as auth_api
    from omniline.auth import pages as auth_pages
    from omniline.autoreplies import api as autoreplies_api
    from omniline.autoreplies import pages as autoreplies_pages
    from omniline.bots import api as bots_api
    from omniline.bots import pages as bots_pages
    from omniline.canned import api as canned_api
    from omniline.canned import pages as canned_pages
    from omniline.channels.messenger import api as messenger_api
    from omniline.channels.telegram import api as telegram_api
    from omniline.channels.vk import api as vk_api
    from omniline.channels.voice import api as voice_api
    from omniline.channels.voice import campaigns_api as voice_campaigns_api
    from omniline.channels.voice import cti as voice_cti
    from omniline.channels.voice import pages as voice_pages
    from omniline.channels.voice import recordings as voice_recordings
    from omniline.channels.voice import widget as voice_widget
    from omniline.channels.webchat import api as webchat_api
    from omniline.channels.webchat import pages as webchat_pages
    from omniline.channels.whatsapp import api as whatsapp_api
    from omniline.channels.whatsapp import webhook as whatsapp_webhook
    from omniline.contacts import api as contacts_api
    from omniline.conversations import api as conversations_api
    from omniline.conversations import pages as conversations_pages
    from omniline.demo import bot as demo_bot
    from omniline.notifications import api as notifications_api
    from omniline.notifications import pages as notifications_pages
    from omniline.presence import api as presence_api
    from omniline.presence import pages as presence_pages
    from omniline.privacy import api as privacy_api
    from omniline.privacy import pages as privacy_pages
    from omniline.routing import api as routing_api
    from omniline.routing import pages as routing_pages
    from omniline.sla import api as sla_api
    from omniline.sla import pages as sla_pages
    from omniline.sla import pages_calendars as sla_calendar_pages
    from omniline.webhooks import api as webhooks_api
    from omniline.webhooks import pages as webhooks_pages
    from omniline.workspaces import api as workspaces_api
    from omniline.workspaces import pages as admin_pages

    hot_paths = [webchat_api, telegram_api, whatsapp_webhook, vk_api, messenger_api, voice_cti]
    modules = [
        auth_api,
        conversations_api,
        workspaces_api,
        contacts_api,
        whatsapp_api,
        auth_pages,
        conversations_pages,
        webchat_pages,
        admin_pages,
    ]
    modules += [autoreplies_api, autoreplies_pages]
    modules += [routing_api, routing_pages]
    modules += [sla_api, sla_calendar_pages, sla_pages]
    modules += [webhooks_api, webhooks_pages, canned_api, canned_pages]
    modules += [presence_api, presence_pages]
    modules += [audit_api, audit_pages, privacy_api, privacy_pages]
    modules += [bots_api, bots_pages, demo_bot, notifications_api, notifications_pages]
    modules += [voice_api, voice_campaigns_api, voice_pages, voice_recordings, voice_widget]
    from omniline.surveys import admin_pages as surveys_admin
    from omniline.surveys import api as surveys_api
    from omniline.surveys import pages as surveys_pages

    modules += [surveys_api, surveys_pages, surveys_admin]
    from omniline.wallboard import api as wallboard_api
    from omniline.wallboard import pages as wallboard_pages

    modules += [wallboard_api, wallboard_pages]
    from omniline.reports import api as reports_api
    from omniline.reports import pages as reports_pages

    modules += [reports_api, reports_pages]
    from omniline.analytics import api as analytics_api
    from omniline.bi import api as bi_api
    from omniline.ops import api as ops_api

    modules += [analytics_api, bi_api]

    for module in hot_paths + modules:
        app.include_router(module.router)
    app.include_router(ops_api.router)
