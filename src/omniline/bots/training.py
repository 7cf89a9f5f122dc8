"""`omniline nlu train`: train the FAQ intents of a workspace's published flows now.

Publishing a flow already schedules its training in the background; this command does it in
the foreground, fills the embedding cache every process reuses, and prints what the
validation part of the examples says about each flow, so a bot owner sees whether the FAQ
has enough examples before customers ask.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from sqlalchemy import select


async def _train(slug: str | None, flow_key: str | None) -> int:
    from omniline import db
    from omniline.bots import faq
    from omniline.bots.graph import Graph
    from omniline.bots.models import BotFlow, BotFlowVersion
    from omniline.workspaces.models import Workspace

    db.init_engine()
    done = 0
    try:
        async with db.sessionmaker()() as session:
            stmt = (
                select(Workspace.slug, BotFlow, BotFlowVersion)
                .join(BotFlow, BotFlow.workspace_id == Workspace.id)
                .join(BotFlowVersion, BotFlowVersion.id == BotFlow.published_version_id)
                .order_by(Workspace.slug, BotFlow.key)
            )
            if slug:
                stmt = stmt.where(Workspace.slug == slug)
            if flow_key:
                stmt = stmt.where(BotFlow.key == flow_key)
            rows = list(await session.execute(stmt))
        if not rows:
            print("no published flow matches", file=sys.stderr)
            return 1
        for ws, flow, version in rows:
            graph = Graph.model_validate(version.graph)
            texts, labels = faq.examples(graph)
            if not texts:
                print(f"{ws}/{flow.key} v{version.number}: no FAQ entries, nothing to train")
                continue
            print(
                f"{ws}/{flow.key} v{version.number}: {len(set(labels))} FAQ entries, "
                f"{len(texts)} examples; training...",
                file=sys.stderr,
                flush=True,
            )
            started = time.perf_counter()
            model = await faq.model_for(("cli", version.id), graph)
            seconds = time.perf_counter() - started
            tuning = model.model.tuning if model and model.model else None
            checked = (
                f"validation accuracy {tuning.validation.get('accuracy', 0):.1%}"
                if tuning and tuning.validation
                else "too few examples to hold any out for validation"
            )
            print(
                f"{ws}/{flow.key} v{version.number}: trained in {seconds:.1f} s; {checked}; "
                f"{sum(1 for lab in set(labels) if labels.count(lab) < 3)} entries have fewer "
                "than 3 examples"
            )
            done += 1
    finally:
        await db.dispose_engine()
    print(f"trained {done} flow(s)")
    return 0


def cmd_nlu_train(args: argparse.Namespace) -> int:
    return asyncio.run(_train(args.workspace, args.flow))


def register(nlu: argparse._SubParsersAction) -> None:
    p = nlu.add_parser("train", help="train the FAQ intents of published flows now")
    p.add_argument("--workspace", help="the workspace's slug (default: every workspace)")
    p.add_argument("--flow", help="one flow's key (default: every published flow)")
    p.set_defaults(fn=cmd_nlu_train)
