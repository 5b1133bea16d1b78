"""Settings, read once from environment variables that all start with ``PRAKERJA_``.

Every field here is listed in the README's configuration table. A wrong value stops
start-up with pydantic's message, which names the variable (see ``load_settings``).
"""

from __future__ import annotations

import logging
import os
import secrets
import warnings
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PRAKERJA_"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Listening on every address says nothing about where partners reach us; on this machine
# they reach us at the loopback address.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}  # noqa: S104


def derived_base_url(host: str, port: object) -> str:
    """``http://HOST:PORT`` of the listener, for when no public base URL is configured."""
    host = _ANY_ADDRESS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


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
    migration_database_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL URL of the owner of the schema, for migrate, seed and the identity "
            "administration commands; unset means database_url. The serving processes and "
            "the worker never use it."
        ),
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
    host: str = DEFAULT_HOST
    port: Annotated[int, Field(ge=1, le=65535)] = DEFAULT_PORT
    log_level: LogLevel = LogLevel.INFO
    log_format: LogFormat = LogFormat.JSON
    public_base_url: str = Field(
        default="",
        description=(
            "The URL partners reach the gateway at; the OAuth issuer and token audience. "
            "Unset, it follows host and port (http://HOST:PORT)."
        ),
    )
    demo: bool = Field(default=False, description="Serve GraphiQL and demo helpers.")
    # The most connections a worker holds to PostgreSQL, each kept open once opened
    # (core/db/engine.py).
    db_pool_size: Annotated[int, Field(ge=1, le=200)] = 20
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
    compiled_reads: bool = Field(
        default=True,
        description=(
            "Answer the fields that declare a compiled read (the catalog's courses, a "
            "disbursement batch's items) from one SQL statement without GraphQL value "
            "completion when their selection allows, and a document whose only root field "
            "was so answered without GraphQL at all (same answers; off to compare or "
            "debug). PRAKERJA_CATALOG_FAST_PATH, its former name, is still read."
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
    rate_limit_points: Annotated[int, Field(ge=1, le=10_000_000)] = Field(
        default=10_000,
        description=(
            "Query-cost points a client's bucket holds (the burst it may spend at once); "
            "shared by every process through PostgreSQL, in-process for the embedded demo."
        ),
    )
    rate_limit_points_per_second: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=500, description="Query-cost points a client's bucket regains each second."
    )

    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1, description="Worker processes serving requests (serve --workers overrides)."
    )
    shutdown_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=30,
        description="On SIGTERM: how long in-flight requests may take before they are cut.",
    )
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=0,
        description="Port of the Prometheus /metrics listener; 0 means none on its own port.",
    )
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token that opens GET /metrics on the main port; unset, no route.",
    )
    otel_enabled: bool = Field(
        default=False,
        description="OpenTelemetry tracing of requests and SQL (needs the 'otel' extra).",
    )

    @model_validator(mode="before")
    @classmethod
    def _public_base_url_follows_host_and_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("public_base_url"):
            data = dict(data)
            data["public_base_url"] = derived_base_url(
                str(data.get("host") or DEFAULT_HOST), data.get("port") or DEFAULT_PORT
            )
        return data

    @field_validator(
        "database_url", "migration_database_url", "database_listen_url", "database_read_url"
    )
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


# Former names still read, each with the setting that replaced it: a deployment that sets
# the old variable keeps its behaviour and is warned once at start-up.
DEPRECATED_VARIABLES: dict[str, str] = {"PRAKERJA_CATALOG_FAST_PATH": "compiled_reads"}


def _deprecated_values() -> dict[str, str]:
    values = {}
    for old, field in DEPRECATED_VARIABLES.items():
        new = ENV_PREFIX + field.upper()
        if old in os.environ and new not in os.environ:
            warnings.warn(
                f"{old} is deprecated: set {new} instead", DeprecationWarning, stacklevel=3
            )
            logging.getLogger(__name__).warning("%s is deprecated: set %s instead", old, new)
            values[field] = os.environ[old]
    return values


def load_settings() -> Settings:
    try:
        return Settings(**_deprecated_values())  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + str(error["loc"][0]).upper() if error["loc"] else ENV_PREFIX
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
