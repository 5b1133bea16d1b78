"""Settings, read once from environment variables that all start with ``PRAKERJA_``.

Every field here is listed in the README's configuration table. A wrong value stops
start-up with pydantic's message, which names the variable (see ``load_settings``).
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PRAKERJA_"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class DatabasePooler(StrEnum):
    NONE = "none"
    TRANSACTION = "transaction"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; unset means: start the embedded server in data_dir.",
    )
    database_pooler: DatabasePooler = Field(
        default=DatabasePooler.NONE,
        description=(
            "'transaction' when database_url is a pooler in transaction mode (PgBouncer): no "
            "prepared-statement cache, no per-session settings."
        ),
    )
    database_listen_url: str | None = Field(
        default=None,
        description=(
            "Direct PostgreSQL URL for the LISTEN connection (a transaction pooler cannot "
            "carry LISTEN); unset means database_url."
        ),
    )
    database_read_url: str | None = Field(
        default=None,
        description=(
            "A streaming replica's URL for read-only operations (read-your-writes per client; "
            "the primary when the replica lags or is down); unset means every read on the primary."
        ),
    )
    read_replica_max_lag_seconds: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=5.0, description="Replication lag beyond which reads go to the primary."
    )
    shutdown_drain_seconds: Annotated[float, Field(ge=0, le=120)] = Field(
        default=0.0,
        description=(
            "On SIGTERM, /readyz answers 503 this long before the server stops accepting, so "
            "a load balancer stops sending first."
        ),
    )
    data_dir: Path = Field(
        default=Path(".prakerja"),
        description="Where the embedded PostgreSQL keeps its cluster and the gateway its state.",
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.JSON
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The URL partners reach the gateway at; the OAuth issuer and token audience.",
    )
    demo: bool = Field(default=False, description="Serve GraphiQL and demo helpers.")
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 10
    master_key: str | None = Field(
        default=None,
        description="Secret that encrypts signing keys and keys national-ID hashes.",
    )
    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = 900
    catalog_cache: bool = Field(
        default=True,
        description=(
            "Cache whole answers of catalog queries in each process, dropped on every catalog "
            "change (PostgreSQL LISTEN/NOTIFY)."
        ),
    )
    catalog_fast_path: bool = Field(
        default=True,
        description=(
            "Answer the courses query from one SQL statement without GraphQL value "
            "completion when its selection allows (same answers; off to compare or debug)."
        ),
    )
    catalog_cache_max_mb: Annotated[int, Field(ge=1, le=4096)] = Field(
        default=64, description="Memory the catalog response cache may hold, in MiB."
    )
    public_rate_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=120,
        description=(
            "Requests a minute one address may make to the token-less certificate routes "
            "(in-process token bucket, bursts up to a quarter of it)."
        ),
    )

    @field_validator("database_url", "database_listen_url", "database_read_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("public_base_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    def resolved_master_key(self) -> bytes:
        """The master key, or a per-data-directory one made on first use (demo and tests)."""
        if self.master_key:
            return self.master_key.encode()
        key_file = self.data_dir / "master.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()


class SettingsError(Exception):
    """A variable has a wrong value; the message names it by its environment name."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
