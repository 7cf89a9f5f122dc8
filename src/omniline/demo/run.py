"""``omniline demo`` after migrating: the ARI simulator, the seed, the banner, then the app,
all in one event loop (the simulator and the hotline's controller talk inside it)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from omniline.channels.voice.simulator import RunningSimulator


async def _seed(ari_url: str | None) -> bool:
    from omniline import db
    from omniline.demo import phone
    from omniline.demo.seed import seed

    db.init_engine()
    try:
        async with db.unit_of_work() as session:
            created = await seed(
                session, with_bot=True, with_phone=ari_url is not None, ari_url=ari_url or ""
            )
            if ari_url is not None and not created:
                await phone.ensure(session, ari_url)  # a demo database from an earlier run
            return created
    finally:
        await db.dispose_engine()


def banner(
    created: bool, base: str, host: str, smtp_port: int, sim: RunningSimulator | None
) -> str:
    from omniline.demo import phone
    from omniline.demo.seed import DEMO_MAILBOX

    lines = [
        "",
        "  Omniline demo " + ("(new demo workspace created)" if created else "(existing data)"),
        "  DEMO MODE: these logins exist only for the demo; never use it for real customers.",
        "",
        f"  Agent workspace:  {base}/login",
        "    admin@demo.omniline       / demo-admin",
        "    supervisor@demo.omniline  / demo-supervisor",
        "    agent@demo.omniline       / demo-agent",
        "    agent2@demo.omniline      / demo-agent",
        f"  Lender's website with the chat widget:  {base}/demo/site",
        f"    (as a logged-in client:               {base}/demo/site?as=client-42)",
        f"  API docs:  {base}/docs",
    ]
    if smtp_port:
        lines += [
            f"  Email: letters to {DEMO_MAILBOX} through SMTP {host}:{smtp_port}, e.g.",
            f"    python3 -c \"import smtplib; smtplib.SMTP('{host}', {smtp_port})"
            f".sendmail('me@example.com', '{DEMO_MAILBOX}', 'Subject: Loan\\n\\nHello')\"",
        ]
    if sim is not None:
        phones = " and ".join(phone.PHONES.values())
        lines += [
            f"  Phone: the Hotline ({phone.DIALLED}) on a simulated Asterisk, {sim.ari_url}",
            f"    (ARI user {sim.user} / {sim.password}). Anna's and Boris's phones, {phones},",
            f"    answer by themselves after {phone.ANSWER_AFTER_S:.0f} s: go online in the "
            "workspace to take calls.",
            "    About one simulated caller a minute asks for an operator. A test call from",
            "    the demo client (menu: 1 loan and next payment, 2 callback, 0 operator;",
            "    this caller presses 1):",
            f"    {phone.call_hint(sim)}",
        ]
    return "\n".join(lines) + "\n"


def _not_simulator(record: logging.LogRecord) -> bool:
    """Uvicorn's access log is one logger for both servers of the process: leave out the
    simulator's requests (about ten per call), which would bury the app's."""
    args = record.args if isinstance(record.args, tuple) else ()
    return not (len(args) > 2 and str(args[2]).startswith(("/ari", "/_sim")))


async def run_demo(
    *,
    base: str,
    host: str,
    smtp_port: int,
    phone_line: bool,
    serve: Callable[[], Awaitable[None]],
) -> None:
    """Seed, print how to get in, and serve until stopped; with ``phone_line`` the ARI
    simulator runs alongside, with the agents' phones and light traffic."""
    from omniline.demo import phone

    if phone_line:
        logging.getLogger("uvicorn.access").addFilter(_not_simulator)
    async with contextlib.AsyncExitStack() as stack:
        sim = await stack.enter_async_context(phone.simulator(host)) if phone_line else None
        created = await _seed(sim.base_url if sim is not None else None)
        print(banner(created, base, host, smtp_port, sim), flush=True)
        if sim is not None:
            await phone.start_world(sim)
        await serve()
