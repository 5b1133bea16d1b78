"""Applying and inspecting Alembic migrations from code (CLI, start-up, readiness, tests)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def revision_module(file_name: str) -> ModuleType:
    """A migration's module, by its file name in ``versions/`` (it starts with a digit, so
    it cannot be imported): a later migration builds on its definitions or puts them back
    on a downgrade."""
    path = MIGRATIONS_DIR / "versions" / file_name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is ConfigParser's interpolation character; URLs may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Runs in its own event loop: call it from synchronous code or a worker thread."""
    command.upgrade(alembic_config(url), revision)


def pending_revisions(url: str, revision: str = "head") -> list[str]:
    """The revisions an upgrade to ``revision`` would apply, oldest first."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from core.db.urls import async_url

    async def _current() -> str | None:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as connection:
                return await current_revision(connection)
        finally:
            await engine.dispose()

    current = asyncio.run(_current())
    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        steps = [rev.revision for rev in script.iterate_revisions(revision, current)]
    except CommandError:
        # A relative or unusual target: one step, and alembic says what it makes of it.
        return [revision]
    return list(reversed(steps))


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    head = script.get_current_head()
    assert head is not None
    return head


async def current_revision(connection: AsyncConnection) -> str | None:
    def _read(sync_connection: object) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()  # type: ignore[arg-type]

    return await connection.run_sync(_read)
