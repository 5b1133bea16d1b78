"""The large tables' indexes and constraints, set aside for a bulk load and put back after it,
over several connections at once.

``set_aside`` drops them and keeps, in ``seed_rebuild``, the statements that put each back
(read from the catalog, as the migrations defined them). ``put_back_indexes`` builds the unique
keys and indexes, each in its own transaction on one of several connections (the largest
tables first); ``add_foreign_keys`` the foreign keys: all added ``NOT VALID`` at once (a
catalog change, no check), then each checked once by ``VALIDATE CONSTRAINT`` on one of the
connections (the tasks it returns). Adding a checked
foreign key holds a lock on both tables that makes every other foreign key of them wait;
validating holds one that lets them be validated side by side. The result is the same trusted
constraint.

Each statement commits on its own, so a seed that fails or is killed midway leaves some back
and some not: ``put_back_remaining`` (from ``undo_interrupted``) asks the catalog which
are missing or not yet validated and finishes them over the emptied tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import asyncpg

Step = Callable[[str, float], None]
Task = Callable[[Any], Awaitable[None]]

# Each worker's session: sorts of the largest indexes in memory (the registrants' keys at
# full scale take 0.6-1.1 GB); no parallel workers (the connections already keep the cores
# busy; a parallel index build divides the memory among its workers and merges their
# runs, and each worker of a parallel hash join builds its own copy of the smaller sides);
# a backend whose client vanished (a killed seed) stops at its next check instead of
# finishing a long build.
WORKER_SETTINGS: Final = (
    "SET maintenance_work_mem = '1GB'",
    "SET max_parallel_maintenance_workers = 0",
    "SET work_mem = '256MB'",
    "SET max_parallel_workers_per_gather = 0",
    "SET synchronous_commit = off",
    "SET client_connection_check_interval = '2s'",
)
# A foreign key into a table this many times larger than the referencing one is checked by
# probing the referenced key's index per row: the planner's default hashes the whole
# referenced table (every registrant) for each such key.
_PROBE_RATIO: Final = 2.0
_KEY, _INDEX, _FOREIGN = "key", "index", "foreign"


@dataclass(frozen=True)
class Piece:
    """One index or constraint set aside: what puts it back."""

    kind: str  # _KEY (primary/unique), _INDEX, _FOREIGN
    table: str
    name: str
    statement: str


async def in_parallel(dsn: str, tasks: Sequence[Task], jobs: int) -> None:
    """Runs ``tasks`` over at most ``jobs`` connections, each task on a free one, in order."""
    pending = iter(tasks)

    async def work() -> None:
        connection = await asyncpg.connect(dsn)
        try:
            for setting in WORKER_SETTINGS:
                await connection.execute(setting)
            for task in pending:
                await task(connection)
        finally:
            await connection.close()

    workers = [asyncio.ensure_future(work()) for _ in range(max(1, min(jobs, len(tasks))))]
    try:
        await asyncio.gather(*workers)
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def set_aside(connection: Any, tables: Sequence[str]) -> None:
    """Drops ``tables``' indexes, unique and primary keys and the foreign keys from or to
    them, keeping what puts each back in ``seed_rebuild`` (in the caller's transaction)."""
    foreign = await connection.fetch(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype = 'f' "
        "AND (conrelid::regclass::text = ANY($1) OR confrelid::regclass::text = ANY($1))",
        list(tables),
    )
    keys = await connection.fetch(
        "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
        "FROM pg_constraint WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY($1)",
        list(tables),
    )
    indexes = await connection.fetch(
        "SELECT i.indrelid::regclass::text AS tbl, i.indexrelid::regclass::text AS name,"
        " pg_get_indexdef(i.indexrelid) AS def "
        "FROM pg_index i WHERE i.indrelid::regclass::text = ANY($1) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        list(tables),
    )
    for row in foreign:
        await connection.execute(f'ALTER TABLE {row["tbl"]} DROP CONSTRAINT "{row["conname"]}"')
    for row in indexes:
        await connection.execute(f"DROP INDEX {row['name']}")
    for row in keys:
        await connection.execute(f'ALTER TABLE {row["tbl"]} DROP CONSTRAINT "{row["conname"]}"')
    pieces = (
        [Piece(_KEY, r["tbl"], r["conname"], _add_constraint(r)) for r in keys]
        + [Piece(_INDEX, r["tbl"], r["name"], str(r["def"])) for r in indexes]
        + [Piece(_FOREIGN, r["tbl"], r["conname"], _add_constraint(r)) for r in foreign]
    )
    await connection.execute(
        "CREATE TABLE seed_rebuild (position integer PRIMARY KEY, kind text NOT NULL,"
        " tbl text NOT NULL, name text NOT NULL, statement text NOT NULL)"
    )
    await connection.executemany(
        "INSERT INTO seed_rebuild VALUES ($1, $2, $3, $4, $5)",
        [(i, p.kind, p.table, p.name, p.statement) for i, p in enumerate(pieces)],
    )


def _add_constraint(row: Any) -> str:
    return f'ALTER TABLE {row["tbl"]} ADD CONSTRAINT "{row["conname"]}" {row["def"]}'


async def _pieces(connection: Any) -> list[Piece]:
    rows = await connection.fetch(
        "SELECT kind, tbl, name, statement FROM seed_rebuild ORDER BY position"
    )
    return [Piece(r["kind"], r["tbl"], r["name"], r["statement"]) for r in rows]


async def put_back_indexes(
    dsn: str,
    connection: Any,
    step: Step,
    weight: float,
    *,
    jobs: int,
    wanted: Callable[[str], bool],
) -> None:
    """The unique keys and indexes of the tables ``wanted`` says yes to, over ``jobs``
    connections (the loaded rows committed: the other connections build from them), the
    largest tables first: the longest builds start at once, the short ones fill in.
    ``weight`` progress units for all pieces of ``seed_rebuild``."""
    pieces = await _pieces(connection)
    sizes = await _sizes(connection)
    built = [p for p in pieces if p.kind != _FOREIGN and wanted(p.table)]
    built.sort(key=lambda p: -sizes[p.table])

    def build(piece: Piece) -> Task:
        async def task(worker: Any) -> None:
            await worker.execute(piece.statement)
            step(f"indexes: {piece.name}", weight / len(pieces))

        return task

    await in_parallel(dsn, [build(p) for p in built], jobs)


async def add_foreign_keys(connection: Any, step: Step, weight: float) -> list[Task]:
    """Every foreign key of ``seed_rebuild`` added ``NOT VALID`` (their keys must be back);
    returns the tasks validating them, for ``in_parallel``: one per table, its keys one after
    the other (validating one holds a lock on its table that would keep a second connection
    waiting to validate another of the same), the largest tables first."""
    pieces = await _pieces(connection)
    sizes = await _sizes(connection)
    foreign = [p for p in pieces if p.kind == _FOREIGN]
    async with connection.transaction():
        for piece in foreign:
            await connection.execute(f"{piece.statement} NOT VALID")
    probed = await _probed_by_index(connection, foreign)

    def validate(table: str) -> Task:
        async def task(worker: Any) -> None:
            for piece in foreign:
                if piece.table != table:
                    continue
                join = "off" if piece.name in probed else "on"
                await worker.execute(f"SET enable_hashjoin = {join}")
                await worker.execute(f"SET enable_mergejoin = {join}")
                await worker.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{piece.name}"')
                step(f"foreign keys: {piece.name}", weight / len(pieces))

        return task

    tables = sorted({p.table for p in foreign}, key=lambda table: -sizes[table])
    return [validate(table) for table in tables]


async def _sizes(connection: Any) -> dict[str, int]:
    rows = await connection.fetch(
        "SELECT tbl, pg_relation_size(tbl::regclass) AS size"
        " FROM (SELECT DISTINCT tbl FROM seed_rebuild) t"
    )
    return {r["tbl"]: int(r["size"]) for r in rows}


async def _probed_by_index(connection: Any, foreign: Sequence[Piece]) -> set[str]:
    """The foreign keys whose check probes the referenced index per referencing row."""
    rows = await connection.fetch(
        "SELECT c.conname, f.reltuples AS referencing, r.reltuples AS referenced"
        " FROM pg_constraint c JOIN pg_class f ON f.oid = c.conrelid"
        " JOIN pg_class r ON r.oid = c.confrelid"
        " WHERE c.contype = 'f' AND c.conname = ANY($1)",
        [p.name for p in foreign],
    )
    return {
        r["conname"]
        for r in rows
        # reltuples is -1 for a table never counted (an empty one): probing costs nothing.
        if r["referenced"] > _PROBE_RATIO * max(r["referencing"], 0)
    }


async def put_back_remaining(connection: Any) -> None:
    """After a seed failed midway, over its emptied tables (in the caller's transaction):
    every piece the catalog lacks is added, every foreign key left unvalidated validated."""
    for piece in await _pieces(connection):
        if piece.kind == _INDEX:
            if await connection.fetchval("SELECT to_regclass($1) IS NULL", piece.name):
                await connection.execute(piece.statement)
            continue
        validated = await connection.fetchval(
            "SELECT convalidated FROM pg_constraint"
            " WHERE conrelid = to_regclass($1) AND conname = $2",
            piece.table,
            piece.name,
        )
        if validated is None:
            await connection.execute(piece.statement)
        elif not validated:
            await connection.execute(
                f'ALTER TABLE {piece.table} VALIDATE CONSTRAINT "{piece.name}"'
            )
