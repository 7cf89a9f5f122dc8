"""Where an imported call came from: one row per source call, the key that makes a second
import of the same file add nothing, and the source's fields Omniline has no column for."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class ImportedCall(IdMixin, CreatedMixin, Base):
    __tablename__ = "imported_calls"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source_key", name="uq_imported_calls_source_key"),
    )

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    voice_call_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("voice_calls.id", ondelete="CASCADE"), index=True
    )
    # "<vru_line>:<call_id>:<YYYY-MM-DD>": call ids are numbered per menu line.
    source_key: Mapped[str] = mapped_column(String(64))
    vru_line: Mapped[str] = mapped_column(String(32), default="")
    customer_id: Mapped[str] = mapped_column(String(32), default="")
    call_type: Mapped[str] = mapped_column(String(8), default="")
    # The agent's name as the source wrote it (NO_SERVER: nobody served), also when no user
    # of the workspace has that name.
    agent_name: Mapped[str] = mapped_column(String(64), default="")
    outcome: Mapped[str] = mapped_column(String(16))  # AGENT, HANG, PHANTOM
