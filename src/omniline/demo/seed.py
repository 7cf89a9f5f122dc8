"""The demo workspace of a microfinance lender (demo mode only)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from omniline.auth import service as users
from omniline.auth.models import Role
from omniline.contacts import service as contacts
from omniline.inboxes import service as inboxes
from omniline.workspaces import repository
from omniline.workspaces import service as workspaces

SLUG = "demo"
QUEUES = ("First line", "Business assistants", "Tech support", "Complaints")
USERS = [
    ("admin@demo.omniline", "Alex Admin", "demo-admin", Role.admin),
    ("supervisor@demo.omniline", "Sofia Supervisor", "demo-supervisor", Role.supervisor),
    ("agent@demo.omniline", "Anna Agent", "demo-agent", Role.agent),
    ("agent2@demo.omniline", "Boris Agent", "demo-agent", Role.agent),
]


DEMO_MAILBOX = "help@demo.omniline"


async def seed(
    session: AsyncSession,
    *,
    with_bot: bool = False,
    with_phone: bool = False,
    ari_url: str = "http://127.0.0.1:8088",
) -> bool:
    """Create the demo workspace once; returns False when it already exists.

    ``with_bot``: the website chat greets with the demo bot (``omniline demo``; the tests'
    demo leaves it out so that their conversations go straight to the queues).
    ``with_phone``: a "Hotline" phone line on the ARI simulator at ``ari_url``, with its
    menu flow and the agents' phones (``omniline demo`` runs the simulator).
    """
    if await repository.by_slug(session, SLUG) is not None:
        return False
    ws = await workspaces.do_create_workspace(session, name="MicroLend (demo)", slug=SLUG)
    team = await workspaces.do_create_team(session, ws.id, "Support team")
    queues = {
        name: await workspaces.do_create_queue(session, ws.id, name, team_id=team.id)
        for name in QUEUES
    }
    made = {}
    for email, name, password, role in USERS:
        made[email] = await users.do_create_user(
            session, workspace_id=ws.id, email=email, name=name, password=password, role=role.value
        )
    await workspaces.do_set_team_members(
        session, ws.id, team.id, [u.id for u in made.values() if u.role != Role.admin.value]
    )
    first, business = queues["First line"], queues["Business assistants"]
    await workspaces.do_set_queue_members(
        session, ws.id, first.id, [made["agent@demo.omniline"].id, made["agent2@demo.omniline"].id]
    )
    await workspaces.do_set_queue_members(
        session, ws.id, business.id, [made["agent2@demo.omniline"].id]
    )
    widget = await inboxes.do_create_inbox(
        session,
        ws.id,
        channel="webchat",
        name="Website chat",
        key="demo-widget",
        default_queue_id=first.id,
        settings={
            "color": "#0b6e4f",
            "greeting": "Hello! We answer within 10 minutes, 8:00-20:00 Kyiv time.",
            "greetings": {
                "ru": "Здравствуйте! Отвечаем в течение 10 минут, 8:00-20:00 по Киеву.",
                "uk": "Вітаємо! Відповідаємо протягом 10 хвилин, 8:00-20:00 за Києвом.",
            },
        },
        identity_secret="demo-identity-secret",
    )
    # Letters to this address through the demo's built-in SMTP receiver become conversations;
    # no outgoing mail server is set, so replies show a failed delivery with the reason.
    await inboxes.do_create_inbox(
        session,
        ws.id,
        channel="email",
        name="Support mailbox",
        key="demo-mailbox",
        default_queue_id=first.id,
        settings={"address": DEMO_MAILBOX, "aliases": [], "from_name": "MicroLend support"},
    )
    client = await contacts.do_upsert_verified(
        session,
        ws.id,
        "webchat",
        external_id="client-42",
        name="Olena Kovalenko",
        email="olena.kovalenko@example.com",
        phone="+380501234567",
        language="uk",
    )
    client.country = "UA"
    client.timezone = "Europe/Kyiv"
    client.attributes = {"client": True, "segment": "small business", "loan_product": "Micro 50"}
    await contacts.do_add_event(session, ws.id, client.id, "contract_signed", {"amount": 50000})
    await session.flush()
    if with_bot:
        from omniline.demo import bot

        await bot.install(session, ws.id, widget.id)
        from omniline.notifications import service as notifications

        await notifications.do_save_template(
            session,
            ws.id,
            {
                "key": "application.approved",
                "name": "Loan application approved",
                "texts": {
                    "ru": "Ваша заявка {{application}} на {{amount}} грн одобрена.",
                    "uk": "Вашу заявку {{application}} на {{amount}} грн схвалено.",
                    "en": "Your application {{application}} for {{amount}} UAH was approved.",
                },
                "fallback_language": "en",
            },
        )
    if with_phone:
        from omniline.demo import phone

        await phone.ensure(session, ari_url)
    return True
