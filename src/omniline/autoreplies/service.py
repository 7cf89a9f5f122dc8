"""Auto-reply rules: validation and saving (``check_*`` / ``do_*``), and which rule applies."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.autoreplies import business_hours, languages, repository, templates
from omniline.autoreplies.models import AutoReplyRule, Kind
from omniline.autoreplies.schemas import RuleData
from omniline.errors import Invalid, NoSuch, NotFound
from omniline.inboxes import repository as inboxes
from omniline.workspaces import repository as workspaces

KINDS = tuple(k.value for k in Kind)
MAX_THRESHOLD = 100_000


def specificity(rule: AutoReplyRule) -> int:
    """inbox and queue > queue > inbox > the workspace default."""
    return (2 if rule.queue_id is not None else 0) + (1 if rule.inbox_id is not None else 0)


def pick_rule(rules: list[AutoReplyRule]) -> AutoReplyRule | None:
    """The most specific of the rules that cover a conversation (ties: the oldest)."""
    if not rules:
        return None
    return sorted(rules, key=lambda r: (-specificity(r), r.id))[0]


def _cache_key(workspace_id: int) -> tuple[str, int]:
    return ("autoreplies.enabled_rules", workspace_id)


def forget_rules(session: AsyncSession, workspace_id: int) -> None:
    """A rule was written in this transaction: the next lookup reads them again."""
    session.info.pop(_cache_key(workspace_id), None)


async def _enabled(session: AsyncSession, workspace_id: int) -> list[AutoReplyRule]:
    """The workspace's enabled rules, read once per transaction."""
    key = _cache_key(workspace_id)
    enabled: list[AutoReplyRule] | None = session.info.get(key)
    if enabled is None:
        enabled = await repository.enabled_rules(session, workspace_id)
        session.info[key] = enabled
    return enabled


async def has_rules(session: AsyncSession, workspace_id: int) -> bool:
    """Whether any rule is enabled in the workspace (see :func:`applicable`)."""
    return bool(await _enabled(session, workspace_id))


async def applicable(
    session: AsyncSession, workspace_id: int, kind: str, inbox_id: int, queue_id: int | None
) -> AutoReplyRule | None:
    """The rule of ``kind`` for a conversation of this inbox and queue, or None.

    The workspace's enabled rules are read once per transaction: a batch of new
    conversations asks up to four times each, usually to learn there is none.
    """
    return pick_rule(
        [
            r
            for r in await _enabled(session, workspace_id)
            if r.kind == kind
            and r.inbox_id in (None, inbox_id)
            and (r.queue_id is None or r.queue_id == queue_id)
        ]
    )


def check_texts(data: RuleData) -> dict[str, str]:
    """The texts by normalised language; every problem names its row's field."""
    if not data.texts:
        raise Invalid("texts", "add the text in at least one language")
    out: dict[str, str] = {}
    for i, (raw_lang, text) in enumerate(data.texts):
        lang = languages.normalize(raw_lang)
        if lang is None:
            shown = raw_lang.strip()[:16] or "(empty)"
            raise Invalid(
                f"texts.{i}.language", f"unknown language code {shown}; use e.g. en, uk, ru"
            )
        if lang in out:
            raise Invalid(f"texts.{i}.language", f"there is already a text in {lang}")
        out[lang] = templates.check_text(f"texts.{i}.text", text, data.kind)
    return out


def _check_threshold(field: str, value: int | None) -> None:
    if value is not None and not 0 <= value <= MAX_THRESHOLD:
        raise Invalid(field, f"must be between 0 and {MAX_THRESHOLD}")


async def _check_scope(session: AsyncSession, workspace_id: int, data: RuleData) -> None:
    if (
        data.inbox_id is not None
        and await inboxes.get(session, workspace_id, data.inbox_id) is None
    ):
        raise NoSuch("inbox_id", "no such inbox in this workspace")
    if (
        data.queue_id is not None
        and await workspaces.queue(session, workspace_id, data.queue_id) is None
    ):
        raise NoSuch("queue_id", "no such queue in this workspace")


async def _check_kind_settings(session: AsyncSession, workspace_id: int, data: RuleData) -> None:
    if data.kind == Kind.out_of_hours.value and data.calendar_id is None:
        raise Invalid("calendar_id", "choose the calendar that says when you are closed")
    if data.calendar_id is not None and not await business_hours.calendar_exists(
        session, workspace_id, data.calendar_id
    ):
        raise NoSuch("calendar_id", "no such business-hours calendar in this workspace")
    _check_threshold("min_position", data.min_position)
    _check_threshold("min_wait_minutes", data.min_wait_minutes)
    if (
        data.kind == Kind.high_load.value
        and data.min_position is None
        and data.min_wait_minutes is None
    ):
        raise Invalid(
            "min_position", "set a queue position or a wait in minutes above which to send it"
        )


async def check_rule(
    session: AsyncSession, workspace_id: int, data: RuleData, rule_id: int | None = None
) -> dict[str, str]:
    """Validate everything before anything is written; returns the texts by language."""
    data.name = data.name.strip()
    if not data.name:
        raise Invalid("name", "must not be empty")
    if len(data.name) > 200:
        raise Invalid("name", "must be at most 200 characters")
    if data.kind not in KINDS:
        raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
    data.author_name = data.author_name.strip()
    if len(data.author_name) > 200:
        raise Invalid("author_name", "must be at most 200 characters")
    await _check_scope(session, workspace_id, data)
    await _check_kind_settings(session, workspace_id, data)
    texts = check_texts(data)
    fallback = languages.normalize(data.fallback_language)
    if fallback is None:
        raise Invalid("fallback_language", "unknown language code; use e.g. en, uk, ru")
    if fallback not in texts:
        raise Invalid("fallback_language", f"add a text in {fallback}, the fallback language")
    data.fallback_language = fallback
    same = await repository.same_scope(
        session, workspace_id, data.kind, data.inbox_id, data.queue_id
    )
    clash = next((r for r in same if r.id != rule_id), None)
    if clash is not None:
        raise Invalid(
            "inbox_id",
            f"the rule '{clash.name}' already sends this kind of reply for this inbox and queue",
        )
    return texts


def _apply(rule: AutoReplyRule, data: RuleData) -> None:
    rule.name = data.name
    rule.kind = data.kind
    rule.inbox_id = data.inbox_id
    rule.queue_id = data.queue_id
    rule.enabled = data.enabled
    rule.fallback_language = data.fallback_language
    rule.author_name = data.author_name
    rule.calendar_id = data.calendar_id
    rule.replaces_greeting = data.replaces_greeting
    high_load = data.kind == Kind.high_load.value
    rule.min_position = data.min_position if high_load else None
    rule.min_wait_minutes = data.min_wait_minutes if high_load else None


async def do_create_rule(session: AsyncSession, workspace_id: int, data: RuleData) -> AutoReplyRule:
    texts = await check_rule(session, workspace_id, data)
    rule = AutoReplyRule(workspace_id=workspace_id)
    _apply(rule, data)
    session.add(rule)
    forget_rules(session, workspace_id)
    await session.flush()
    await repository.replace_texts(session, rule.id, texts)
    await session.flush()
    return rule


async def get_rule(session: AsyncSession, workspace_id: int, rule_id: int) -> AutoReplyRule:
    rule = await repository.rule(session, workspace_id, rule_id)
    if rule is None:
        raise NotFound("no such auto-reply rule")
    return rule


async def do_update_rule(
    session: AsyncSession, workspace_id: int, rule_id: int, data: RuleData
) -> AutoReplyRule:
    rule = await get_rule(session, workspace_id, rule_id)
    texts = await check_rule(session, workspace_id, data, rule_id=rule.id)
    _apply(rule, data)
    forget_rules(session, workspace_id)
    await repository.replace_texts(session, rule.id, texts)
    await session.flush()
    return rule


async def do_delete_rule(session: AsyncSession, workspace_id: int, rule_id: int) -> None:
    rule = await get_rule(session, workspace_id, rule_id)
    forget_rules(session, workspace_id)
    await repository.replace_texts(session, rule.id, {})
    await session.delete(rule)
    await session.flush()


def preview(kind: str, text: str, field: str = "text") -> str:
    """The text as a customer would read it, with sample values; validates like saving."""
    if kind not in KINDS:
        raise Invalid("kind", f"must be one of {', '.join(KINDS)}")
    return templates.render(templates.check_text(field, text, kind), templates.SAMPLE_VALUES)
