"""The database writes a compiled node's leaves exactly as the schema's scalars do
(resolvers/json_sql.py, migration 0022): every kind checked against Python's own text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Text, bindparam, func, literal, select, text

from core.db.database import Database
from resolvers.compiled_reads import JsonLeaf, LeafKind
from resolvers.json_sql import leaf
from schema.common import to_global_id

TIMES = [
    datetime(2026, 11, 30, 15, 40, tzinfo=UTC),
    datetime(2026, 11, 30, 15, 40, 1, 500_000, tzinfo=UTC),  # trailing zeros kept
    datetime(2026, 11, 30, 15, 40, 59, 1, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 58, 999_999, tzinfo=UTC),  # (asyncpg: max is infinity)
    datetime(2026, 6, 1, 7, 0, tzinfo=UTC) + timedelta(hours=7),
]


async def test_a_time_is_written_as_python_writes_it(database: Database) -> None:
    async with database.sessionmaker() as session:
        for value in TIMES:
            # Whatever the session's time zone: the value is an instant.
            await session.execute(text("SET LOCAL TIME ZONE 'Asia/Jakarta'"))
            instant = bindparam("value", value, type_=DateTime(timezone=True))
            written = await session.scalar(select(func.prakerja_isoformat(instant)))
            read_back = await session.scalar(select(instant))
            assert written == read_back.isoformat() == value.isoformat()


async def test_a_global_id_is_written_as_to_global_id_writes_it(database: Database) -> None:
    async with database.sessionmaker() as session:
        # A long type name makes base64 wrap its lines: the id must have none.
        for type_name in ("Course", "Schedule", "DisbursementBatchItemWithALongName" * 3):
            for pk in (1, 42, 2**31, 2**62):
                written = await session.scalar(
                    text("SELECT prakerja_global_id(:type_name, :pk)").bindparams(
                        type_name=type_name, pk=pk
                    )
                )
                assert written == to_global_id(type_name, pk)


async def test_each_leaf_kind_is_written_as_its_scalar_serializes_it(database: Database) -> None:
    enum = JsonLeaf("k", "a", LeafKind.ENUM, names=(("v-1", "FIRST"), ("v-2", "SECOND")))
    cases = [
        (JsonLeaf("k", "a", LeafKind.INTEGER_TEXT), literal(350_000), "350000"),
        (JsonLeaf("k", "a", LeafKind.PLAIN), literal('Pelatihan "kerja" ✓', Text), None),
        (enum, literal("v-2", Text), "SECOND"),
        (JsonLeaf("k", "a", LeafKind.PLAIN), literal(7), 7),
    ]
    async with database.sessionmaker() as session:
        for item, value, expected in cases:
            written = await session.scalar(select(_as_json(leaf(item, value))))
            decoded = json.loads(written)
            assert decoded == (expected if expected is not None else 'Pelatihan "kerja" ✓')


def _as_json(expression):  # type: ignore[no-untyped-def]
    return func.to_json(expression).cast(Text)
