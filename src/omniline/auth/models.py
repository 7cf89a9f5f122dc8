from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from omniline.kit.encryption import EncryptedString
from omniline.kit.models import Base, BigId, CreatedMixin, IdMixin


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    qa = "qa"
    admin = "admin"


class TokenKind(StrEnum):
    session = "session"  # browser cookie
    access = "access"  # bearer token from /api/v1/auth/login
    api = "api"  # long-lived integration token
    # Long-lived, read-only: the BI endpoints (/api/v1/bi/*) and nothing else.
    reporting = "reporting"


class User(IdMixin, CreatedMixin, Base):
    """A staff member. Customers are contacts, never users."""

    __tablename__ = "users"

    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.agent.value)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    # Two-factor (auth/totp.py): the base32 secret once confirmed, one being set up, and the
    # last 30-second step accepted (a code is never accepted twice).
    # Encrypted at rest like channel secrets (kit/encryption.py).
    totp_secret: Mapped[str | None] = mapped_column(EncryptedString(512), default=None)
    totp_pending_secret: Mapped[str | None] = mapped_column(EncryptedString(512), default=None)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)


class AuthToken(IdMixin, CreatedMixin, Base):
    """A staff credential; only a SHA-256 of the secret is stored."""

    __tablename__ = "auth_tokens"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    # Where the session was opened, shown in the list of sessions (never used to decide access).
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # "2fa_setup": a session that may only set up two-factor (its role requires it).
    scope: Mapped[str] = mapped_column(String(16), default="")


class RecoveryCode(IdMixin, CreatedMixin, Base):
    """A single-use code to sign in without the authenticator app; only a hash is kept."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(default=None)
