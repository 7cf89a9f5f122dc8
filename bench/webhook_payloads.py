"""Webhook requests as each provider sends them, for bench_webhooks.py.

For every messenger: the inbox settings the benchmark connects it with (what an admin
would type into the connect form) and a builder of one inbound text message as the
provider's documented webhook format has it, signed the way the provider signs it:

  telegram   an Update with a private-chat message; the secret token in the
             X-Telegram-Bot-Api-Secret-Token header (setWebhook's secret_token).
  whatsapp   a whatsapp_business_account notification (entry -> changes -> value with
             metadata, contacts, messages); X-Hub-Signature-256 = HMAC-SHA256 of the raw
             body keyed with the app secret.
  messenger  a "page" notification (entry -> messaging with sender, recipient, message);
             X-Hub-Signature-256 as above.
  vk         a Callback API message_new event (API 5.199: object.message, client_info);
             the community's secret key in the "secret" field of the body.

Every message has its own provider message id; senders are spread over a pool so that
conversations spread like real traffic (a sender's first message opens a conversation,
later ones join it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

# Settings the benchmark inboxes are created with; "api_base" is filled in by the caller
# (a port nothing listens on: no reply can leave the machine, none slows the server).
TELEGRAM = {
    "bot_token": "7012345678:AAHbenchBenchBenchBenchBenchBench_x1",
    "webhook_secret": "bench-telegram-secret-token-0123456789",
}
WHATSAPP = {
    "phone_number_id": "109876543210987",
    "waba_id": "209876543210987",
    "access_token": "EAABbenchBenchBenchBenchBenchBenchBenchBench",
    "app_secret": "5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e",
    "verify_token": "bench-verify-token",
}
MESSENGER = {
    "page_id": "104857600123456",
    "page_access_token": "EAAGbenchBenchBenchBenchBenchBenchBenchBench",
    "app_secret": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "verify_token": "bench-verify-token",
    "human_agent_tag": True,
}
VK = {
    "group_id": "218276154",
    "access_token": "vk1.a.benchBenchBenchBenchBenchBenchBenchBenchBench",
    "secret_key": "benchVkSecret2024",
    "confirmation_code": "a1b2c3d4",
}


@dataclass(frozen=True, slots=True)
class Request:
    body: bytes
    headers: bytes  # extra header lines, each ending in CRLF


Builder = Callable[[dict[str, Any], int, int, str], Request]


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    path: str  # with {key}
    settings: dict[str, Any]
    build: Builder  # (stored settings, message number, sender number, text) -> Request
    ok_status: int = 200


JSON = b"Content-Type: application/json\r\n"


def _meta_signature(secret: str, body: bytes) -> bytes:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return b"X-Hub-Signature-256: sha256=%s\r\n" % digest.encode()


def _unique_id(prefix: str, n: int) -> str:
    """An opaque id in the style of Meta's (base64 of something unique)."""
    raw = f"bench:{n}:{time.time_ns()}".encode()
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def telegram(settings: dict[str, Any], n: int, sender: int, text: str) -> Request:
    user_id = 100_000_000 + sender
    user = {"id": user_id, "is_bot": False, "first_name": "Client", "last_name": str(sender)}
    update = {
        "update_id": 500_000_000 + n,
        "message": {
            "message_id": n + 1,
            "from": {**user, "language_code": "uk"},
            "chat": {**user, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
    secret = str(settings["webhook_secret"]).encode()
    return Request(orjson.dumps(update), JSON + b"X-Telegram-Bot-Api-Secret-Token: %s\r\n" % secret)


def whatsapp(settings: dict[str, Any], n: int, sender: int, text: str) -> Request:
    wa_id = f"380{500_000_000 + sender}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": "380441234567",
            "phone_number_id": settings["phone_number_id"],
        },
        "contacts": [{"profile": {"name": f"Client {sender}"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": _unique_id("wamid.HBgM", n),
                "timestamp": str(int(time.time())),
                "text": {"body": text},
                "type": "text",
            }
        ],
    }
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": settings["waba_id"], "changes": [{"value": value, "field": "messages"}]}],
    }
    body = orjson.dumps(payload)
    return Request(body, JSON + _meta_signature(str(settings["app_secret"]), body))


def messenger(settings: dict[str, Any], n: int, sender: int, text: str) -> Request:
    now_ms = int(time.time() * 1000)
    page_id = settings["page_id"]
    payload = {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": now_ms,
                "messaging": [
                    {
                        "sender": {"id": str(6_100_000_000_000_000 + sender)},
                        "recipient": {"id": page_id},
                        "timestamp": now_ms,
                        "message": {"mid": _unique_id("m_", n), "text": text},
                    }
                ],
            }
        ],
    }
    body = orjson.dumps(payload)
    return Request(body, JSON + _meta_signature(str(settings["app_secret"]), body))


def vk(settings: dict[str, Any], n: int, sender: int, text: str) -> Request:
    peer_id = 500_000_000 + sender
    event = {
        "group_id": int(settings["group_id"]),
        "type": "message_new",
        "event_id": hashlib.sha1(f"bench:{n}".encode()).hexdigest(),
        "v": "5.199",
        "object": {
            "message": {
                "date": int(time.time()),
                "from_id": peer_id,
                "id": 1_000_000 + n,
                "out": 0,
                "version": 10_000_000 + n,
                "attachments": [],
                "conversation_message_id": n + 1,
                "fwd_messages": [],
                "important": False,
                "is_hidden": False,
                "peer_id": peer_id,
                "random_id": 0,
                "text": text,
            },
            "client_info": {
                "button_actions": ["text", "vkpay", "open_app", "location", "open_link"],
                "keyboard": True,
                "inline_keyboard": True,
                "carousel": True,
                "lang_id": 0,
            },
        },
        "secret": settings["secret_key"],
    }
    return Request(orjson.dumps(event), JSON)


CHANNELS: dict[str, Channel] = {
    "telegram": Channel("telegram", "/channels/telegram/{key}/webhook", TELEGRAM, telegram),
    "whatsapp": Channel("whatsapp", "/channels/whatsapp/{key}/webhook", WHATSAPP, whatsapp),
    "vk": Channel("vk", "/channels/vk/{key}/callback", VK, vk),
    "messenger": Channel("messenger", "/channels/messenger/{key}/webhook", MESSENGER, messenger),
}


def sender_of(n: int, senders: int) -> int:
    """Message ``n``'s sender: a stride through the pool, so neighbours differ."""
    return (n * 7919) % senders
