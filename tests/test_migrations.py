"""The migrations build exactly the tables the models describe (no drift between the two)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import omniline.models  # noqa: F401 - registers every table
from omniline.kit.models import Base
from omniline.migrate import upgrade


def _relevant(diff: object) -> bool:
    # SQLite reflects JSON and DateTime loosely; types are compared on PostgreSQL by hand.
    kind = diff[0][0] if isinstance(diff, list) else diff[0]  # type: ignore[index]
    return kind not in ("modify_type", "modify_default", "modify_nullable")


def test_migrations_match_models(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if _relevant(d)]
    engine.dispose()
    assert diffs == [], "models and migrations differ:\n" + "\n".join(map(repr, diffs))
