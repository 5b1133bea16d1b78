"""The plan compiler on a small schema of its own: no database, no HTTP.

Every compiled answer is compared with the normal executor's answer for the same
document; every refusal is seen in the fallback counter with its reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, get_type_hints

import pytest
import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.compiled_reads import CompiledReadRefused, ReadPlan
from schema import catalog, disbursements
from schema.common import Node
from schema.compiled import (
    FALLBACKS,
    CompiledFieldRead,
    CompiledRead,
    CompiledReadExecutor,
    FallbackReason,
    Nested,
    Related,
    column,
    global_id,
    reads,
    record_values,
)
from schema.compiled.declare import Column, GlobalId, declaration_of
from schema.compiled.executor import COMPLETE_OBJECT_VALUE_PARAMETERS
from schema.root import schema as gateway_schema


@dataclass(frozen=True)
class OwnerRecord:
    id: int
    name: str


@dataclass(frozen=True)
class PartRecord:
    id: int
    thing_id: int
    size: int


@dataclass(frozen=True)
class ThingRecord:
    id: int
    label: str
    hidden: str
    owner_id: int
    owner_name: str

    @property
    def owner(self) -> OwnerRecord:
        return OwnerRecord(id=self.owner_id, name=self.owner_name)


RECORDS = [
    ThingRecord(id=1, label="one", hidden="h1", owner_id=7, owner_name="Ana"),
    ThingRecord(id=2, label="two", hidden="h2", owner_id=8, owner_name="Budi"),
]
PARTS = {1: [PartRecord(id=10, thing_id=1, size=3), PartRecord(id=11, thing_id=1, size=5)]}


class Nobody(BasePermission):
    message = "nobody may read this"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


class Upper(FieldExtension):
    def resolve(self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any) -> Any:
        return str(next_(source, info, **kwargs)).upper()


@strawberry.type
class Owner(Node):
    name: str = column()

    @classmethod
    def from_record(cls, record: OwnerRecord) -> Owner:
        return cls(**record_values(cls, record))


@strawberry.type
class Part(Node):
    size: int = column()

    @classmethod
    def from_record(cls, record: PartRecord) -> Part:
        return cls(**record_values(cls, record))


@strawberry.type
class Thing(Node):
    label: str = column()
    # Declared, but guarded: a compiled read must never serve it.
    hidden: str = column(permission_classes=[Nobody])
    shouted: str = strawberry.field(metadata=reads(Column("label")), extensions=[Upper()])
    record: strawberry.Private[ThingRecord]

    @classmethod
    def from_record(cls, record: ThingRecord) -> Thing:
        return cls(record=record, **record_values(cls, record))

    @strawberry.field(metadata=reads(Nested("owner")))
    def owner(self) -> Owner:
        return Owner.from_record(self.record.owner)

    @strawberry.field(metadata=reads(Related("parts")))
    def parts(self, larger_than: int = 0) -> list[Part]:
        return [Part.from_record(part) for part in PARTS.get(self.record.id, [])]

    @strawberry.field
    def computed(self) -> str:  # a resolver nobody declared
        return f"computed {self.record.id}"

    @strawberry.field
    def label_length(self) -> int:
        return len(self.record.label)


@strawberry.type
class ThingPage:
    items: list[Thing]
    total: int


@dataclass
class Calls:
    plans: list[ReadPlan]


CALLS = Calls([])


async def read_things(
    info: strawberry.Info, plan: ReadPlan, arguments: dict[str, Any]
) -> tuple[Any, Mapping[str, Mapping[Any, Sequence[Any]]]]:
    parts = plan.relation("parts")
    if parts is not None and parts.argument("larger_than") < 0:
        raise CompiledReadRefused("argument", "larger_than below zero")
    CALLS.plans.append(plan)
    related = {"parts": PARTS} if parts is not None else {}
    return ThingPage(items=RECORDS, total=len(RECORDS)), related  # type: ignore[arg-type]


@dataclass(frozen=True)
class TagRecord:
    id: int
    thing_id: int
    word: str


TAGS = [
    TagRecord(id=1, thing_id=1, word="red"),
    TagRecord(id=2, thing_id=2, word="blue"),
    TagRecord(id=3, thing_id=2, word="green"),
]


@strawberry.type
class Tag:
    word: str = column()
    thing_id: strawberry.ID = global_id("thing_id", type_name="Thing")

    @classmethod
    def from_record(cls, record: TagRecord) -> Tag:
        return cls(**record_values(cls, record))


@strawberry.type
class TagPage:
    items: list[Tag]


async def read_tags(
    shelf: Shelf, info: strawberry.Info, plan: ReadPlan, arguments: dict[str, Any]
) -> tuple[Any, Mapping[str, Mapping[Any, Sequence[Any]]]]:
    CALLS.plans.append(plan)
    return TagPage(items=_tags_of(shelf, **arguments)), {}  # type: ignore[arg-type]


def _tags_of(shelf: Shelf, first: int = 10) -> list[TagRecord]:
    return [tag for tag in TAGS if tag.thing_id == shelf.thing_id][:first]


@strawberry.type
class Shelf:
    """A type whose page field (not a root field) opts in, given its parent."""

    thing_id: int

    @strawberry.field(
        extensions=[CompiledFieldRead(read_tags, enabled=lambda info: info.context["compiled"])]
    )
    async def tags(self, first: int = 10) -> TagPage:
        return TagPage(items=[Tag.from_record(tag) for tag in _tags_of(self, first)])


@strawberry.type
class Query:
    @strawberry.field(
        extensions=[CompiledRead(read_things, enabled=lambda info: info.context["compiled"])]
    )
    def things(self) -> ThingPage:
        return ThingPage(items=[Thing.from_record(record) for record in RECORDS], total=2)

    @strawberry.field
    def shelves(self) -> list[Shelf]:
        return [Shelf(thing_id=1), Shelf(thing_id=2), Shelf(thing_id=3)]


SCHEMA = strawberry.Schema(query=Query, execution_context_class=CompiledReadExecutor)
FIELD = "Query.things"


async def both(document: str, variables: dict[str, Any] | None = None) -> tuple[Any, bool]:
    """The answer (the same on both paths) and whether the compiled read answered."""
    before = len(CALLS.plans)
    compiled = await SCHEMA.execute(
        document, variable_values=variables, context_value={"compiled": True}
    )
    answered = len(CALLS.plans) > before
    normal = await SCHEMA.execute(
        document, variable_values=variables, context_value={"compiled": False}
    )
    assert compiled.data == normal.data
    assert [error.message for error in compiled.errors or []] == [
        error.message for error in normal.errors or []
    ]
    return compiled, answered


COMPILED_SHAPES = [
    "{ things { total items { id label owner { id name } } } }",
    "{ things { __typename items { __typename label } } }",
    "{ things { items { parts { id size } } } }",
    "{ things { items { parts(largerThan: 2) { size } more: parts(largerThan: 2) { id } } } }",
    "{ things { a: items { b: label } items { label ...F } } } fragment F on Thing { id }",
    "{ things { items { ... on Node { id } ... on Thing { owner { ... on Owner { name } } } } } }",
    "query($n: Int = 2) { things { items { parts(largerThan: $n) { size } } } }",
]


@pytest.mark.parametrize("document", COMPILED_SHAPES)
async def test_compiled_shapes_answer_as_the_normal_executor(document: str) -> None:
    result, answered = await both(document)
    assert result.errors is None
    assert answered


async def test_a_page_below_a_list_is_compiled_for_each_parent() -> None:
    """``CompiledFieldRead``: one plan for the field in every position of the list, each
    read given its own parent; a Relay id of another type reads as that type's."""
    before = len(CALLS.plans)
    result, answered = await both(
        "{ shelves { thingId tags(first: 1) { items { word thingId } } all: tags { items "
        "{ __typename word } } } }"
    )
    assert answered and result.errors is None
    assert len(CALLS.plans) - before == 6  # two fields of three shelves
    assert result.data is not None
    assert [shelf["tags"]["items"] for shelf in result.data["shelves"]] == [
        [{"word": "red", "thingId": "VGhpbmc6MQ"}],
        [{"word": "blue", "thingId": "VGhpbmc6Mg"}],
        [],
    ]


async def test_a_refusal_below_a_list_is_counted_per_parent() -> None:
    before = FALLBACKS.count("Shelf.tags", FallbackReason.DIRECTIVE)
    _, answered = await both("{ shelves { tags { items { word @skip(if: false) } } } }")
    assert not answered
    assert FALLBACKS.count("Shelf.tags", FallbackReason.DIRECTIVE) == before + 3


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("{ things { items { label hidden } } }", FallbackReason.PERMISSION),
        ("{ things { items { shouted } } }", FallbackReason.EXTENSION),
        ("{ things { items { computed } } }", FallbackReason.RESOLVER),
        ("{ things { items { labelLength } } }", FallbackReason.RESOLVER),
        ("{ things { items { label @include(if: true) } } }", FallbackReason.DIRECTIVE),
        (
            "{ things { items { a: parts(largerThan: 1) { id } b: parts { id } } } }",
            FallbackReason.ARGUMENT,
        ),
        ("{ things { items { parts(largerThan: -1) { id } } } }", FallbackReason.ARGUMENT),
    ],
)
async def test_each_refusal_is_counted_with_its_reason(document: str, reason: str) -> None:
    before = FALLBACKS.count(FIELD, reason)
    result, answered = await both(document)
    assert not answered
    assert FALLBACKS.count(FIELD, reason) == before + 1
    if reason == FallbackReason.PERMISSION:
        # The normal path ran the permission: the guarded field is refused, not served.
        assert result.errors is not None
        assert result.errors[0].message == "nobody may read this"


async def test_a_repeated_document_is_counted_every_time() -> None:
    before = FALLBACKS.count(FIELD, FallbackReason.PERMISSION)
    for _ in range(3):
        await both("{ things { items { hidden } } }")
    assert FALLBACKS.count(FIELD, FallbackReason.PERMISSION) == before + 3


async def test_switched_off_is_counted_as_disabled() -> None:
    before = FALLBACKS.count(FIELD, FallbackReason.DISABLED)
    await SCHEMA.execute("{ things { total } }", context_value={"compiled": False})
    assert FALLBACKS.count(FIELD, FallbackReason.DISABLED) == before + 1


async def test_an_explicit_null_for_a_defaulted_argument_is_left_to_the_normal_path() -> None:
    document = "query($n: Int) { things { items { parts(largerThan: $n) { size } } } }"
    omitted, answered = await both(document)
    assert answered and omitted.errors is None
    before = FALLBACKS.count(FIELD, FallbackReason.ARGUMENT)
    _, answered = await both(document, {"n": None})
    assert not answered
    assert FALLBACKS.count(FIELD, FallbackReason.ARGUMENT) == before + 1


async def test_the_plan_names_each_related_list_with_its_arguments() -> None:
    await both("{ things { items { parts(largerThan: 4) { id } } } }")
    assert [(item.name, item.arguments) for item in CALLS.plans[-1].relations] == [
        ("parts", (("larger_than", 4),))
    ]


def test_the_executor_override_matches_graphql_core() -> None:
    """The one graphql-core internal the compiled read relies on (schema/compiled/executor.py):
    if an upgrade changes it, this fails before any answer does."""
    assert issubclass(CompiledReadExecutor, StrawberryGraphQLCoreExecutionContext)
    parameters = inspect.signature(
        StrawberryGraphQLCoreExecutionContext.complete_object_value
    ).parameters
    assert tuple(parameters) == COMPLETE_OBJECT_VALUE_PARAMETERS
    assert gateway_schema.execution_context_class is CompiledReadExecutor


@pytest.mark.parametrize(
    "cls",
    [catalog.Course, catalog.Schedule, catalog.Provider, disbursements.DisbursementItem],
)
def test_every_declared_attribute_is_a_field_of_the_record(cls: type) -> None:
    """A declaration naming an attribute the record lacks would fail only at run time."""
    module = vars(catalog) if cls.__module__ == catalog.__name__ else vars(disbursements)
    record = get_type_hints(cls.from_record, module)["record"]  # type: ignore[attr-defined]
    names = {item.name for item in fields(record)} | {
        name for name, value in vars(record).items() if isinstance(value, property)
    }
    for field in strawberry.types.base.get_object_definition(cls, strict=True).fields:
        declaration = declaration_of(field)
        if isinstance(declaration, Column):
            assert (declaration.attribute or field.python_name) in names, field.python_name
        elif isinstance(declaration, GlobalId | Nested):
            assert declaration.attribute in names, field.python_name
