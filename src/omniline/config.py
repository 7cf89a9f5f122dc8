"""One settings class for the whole application (env prefix ``OMNILINE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me-demo-only-secret"

DEFAULT_ALLOWED_TYPES = (
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,"
    "application/msword,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/vnd.ms-excel,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMNILINE_", env_file=".env", extra="ignore")

    var_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = DEFAULT_SECRET
    demo_mode: bool = False
    public_base_url: str = "http://127.0.0.1:8000"
    default_locale: str = "en"
    upload_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    upload_allowed_types: str = DEFAULT_ALLOWED_TYPES
    message_max_chars: int = Field(default=10_000, gt=0)
    access_token_hours: int = Field(default=12, gt=0)
    session_cookie_hours: int = Field(default=12, gt=0)
    widget_session_days: int = Field(default=90, gt=0)
    run_jobs: bool = True
    realtime_buffer: int = Field(default=10_000, gt=0)
    heartbeat_seconds: float = Field(default=20.0, gt=0)
    # How often each web process checks that its open staff sockets' sessions are still
    # valid (revoked, expired, user deactivated) and reloads changed memberships: one query.
    # A job a runner claims is leased for this long and renewed while it runs; when a runner
    # dies, its jobs are taken over by another within about this time.
    job_lease_seconds: float = Field(default=15.0, ge=1, le=3600)
    # Jobs one runner (a worker, or the server's own) runs at once; a conversation's jobs
    # still run one after another.
    job_concurrency: int = Field(default=8, ge=1, le=200)
    # Fernet keys (comma-separated, newest first) for channel secrets at rest; empty: one key
    # derived from secret_key. See docs/security.md, "Secrets at rest".
    encryption_keys: str = ""
    session_check_seconds: float = Field(default=1.0, gt=0, le=60)
    # Login throttling (auth/throttle.py), in the `limits` notation "N/period": failed sign-ins
    # per account and per client address, and failed widget identity checks per address.
    login_limit_per_account: str = "10/15 minutes"
    login_limit_per_address: str = "100/15 minutes"
    widget_identity_limit_per_address: str = "30/15 minutes"
    secure_cookies: bool = False
    db_pool_size: int = Field(default=20, gt=0)
    # uvicorn's WebSocket implementation, and per-message compression: off, since a zlib
    # context per socket doubled an idle socket's memory (docs/benchmarks.md).
    ws_impl: str = "auto"
    ws_per_message_deflate: bool = False
    log_level: str = "info"
    # "text" (readable) or "json" (one object per line, for a log collector); both carry the
    # request id. See docs/deployment.md, "Operations".
    log_format: Literal["text", "json"] = "text"
    # Bearer token Prometheus sends to /metrics; empty: /metrics answers only from loopback.
    metrics_token: str = ""
    # Built-in SMTP receiver for letters forwarded to Omniline's email inboxes: off unless a
    # port is set (docs/channels/email.md). Set the host to 0.0.0.0 to take mail from outside.
    smtp_receiver_host: str = "127.0.0.1"
    smtp_receiver_port: int | None = Field(default=None, ge=1, le=65535)
    # Nightly BI export (docs/bi.md): every workspace's previous day, as files under
    # <dir>/<workspace slug>/<dataset>/<YYYY-MM-DD>.csv|.parquet; off while no directory is set.
    bi_export_dir: Path | None = None
    bi_export_format: Literal["csv", "parquet", "both"] = "both"
    # The hour of the workspace's own day at which the previous day is exported.
    bi_export_hour: int = Field(default=2, ge=0, le=23)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.var_dir / 'omniline.db').as_posix()}"
        if self.secret_key == DEFAULT_SECRET and not self.demo_mode:
            raise ValueError(
                "OMNILINE_SECRET_KEY must be set to a long random value outside demo mode "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if len(self.secret_key) < 16:
            raise ValueError("OMNILINE_SECRET_KEY must be at least 16 characters long")
        self.public_base_url = self.public_base_url.rstrip("/")
        if self.default_locale not in ("en", "ru", "uk"):
            raise ValueError("OMNILINE_DEFAULT_LOCALE must be one of en, ru, uk")
        return self

    @property
    def allowed_types(self) -> frozenset[str]:
        return frozenset(
            t.strip().lower() for t in self.upload_allowed_types.split(",") if t.strip()
        )

    @property
    def uploads_dir(self) -> Path:
        return self.var_dir / "uploads"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_override: Settings | None = None


def set_settings(settings: Settings | None) -> None:
    """Install settings explicitly (CLI and tests); ``None`` returns to the environment."""
    global _override
    _override = settings
    _from_env.cache_clear()


@lru_cache(maxsize=1)
def _from_env() -> Settings:
    return Settings()


def get_settings() -> Settings:
    return _override if _override is not None else _from_env()
