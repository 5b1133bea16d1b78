"""How a type's fields are read from its record: one declaration per field.

A type that maps a record (a frozen dataclass from ``resolvers``) declares each field's
source where the field is defined, in the field's metadata:

    code: str = column(description="...")                    # record.code
    seats_left: int = column("remaining")                     # record.remaining
    id: strawberry.ID = global_id()                           # Relay id of record.id
    @strawberry.field(metadata=reads(Nested("provider")))     # a resolver whose value the
    async def provider(...)                                   #   record reaches by attribute
    @strawberry.field(metadata=reads(Related("schedules")))   # a list the compiled read
    async def schedules(...)                                  #   joins (loaders otherwise)

A reference to another type's node names that type:
``installment_id: strawberry.ID = global_id("installment_id", type_name="Installment")``.

The same declarations build the type from its record on the normal path
(``record_values``, what each ``from_record`` calls) and tell the plan compiler
(``schema.compiled.compiler``) how to read the field without running its resolver, so the
two paths cannot drift apart. A field without a declaration on such a type, or with a
permission class, an extension or a resolver that is not declared, is never compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Any, Final

import strawberry
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField

COMPILED: Final = "prakerja.compiled"  # the metadata key of a field's declaration


@dataclass(frozen=True, slots=True)
class Column:
    """A leaf read from an attribute of the record (the field's Python name by default)."""

    attribute: str | None = None


@dataclass(frozen=True, slots=True)
class GlobalId:
    """A Relay global id: a type's name (the declaring type's own by default, another's
    for a reference such as an item's installment) and the record's key attribute."""

    attribute: str = "id"
    type_name: str | None = None


@dataclass(frozen=True, slots=True)
class Nested:
    """An object field whose record is an attribute of this record."""

    attribute: str


@dataclass(frozen=True, slots=True)
class Related:
    """A list of records the compiled read fetches beside the rows, by the key attribute
    of this record (on the normal path the field's resolver loads them)."""

    name: str
    key: str = "id"


Declaration = Column | GlobalId | Nested | Related


def column(attribute: str | None = None, **options: Any) -> Any:
    """A ``strawberry.field`` read from ``record.<attribute>`` (default: its Python name)."""
    return strawberry.field(metadata=reads(Column(attribute)), **options)


def global_id(attribute: str = "id", *, type_name: str | None = None, **options: Any) -> Any:
    """A ``strawberry.ID`` field: the Relay id of ``record.<attribute>`` as ``type_name``
    (default: the type that declares the field)."""
    return strawberry.field(metadata=reads(GlobalId(attribute, type_name)), **options)


def reads(declaration: Declaration) -> dict[str, Any]:
    """The metadata of a field with a resolver that the compiled read serves by declaration."""
    return {COMPILED: declaration}


def declaration_of(field: StrawberryField) -> Declaration | None:
    metadata: Mapping[str, Any] = field.metadata or {}
    found = metadata.get(COMPILED)
    return found if isinstance(found, Column | GlobalId | Nested | Related) else None


def leaf_getter(
    declaration: Column | GlobalId, python_name: str, type_name: str
) -> Callable[[Any], Any]:
    """How the value of a leaf field is read from the record: both paths use this."""
    if isinstance(declaration, GlobalId):
        from schema.common import to_global_id  # schema.common declares Node.id with this

        key = attrgetter(declaration.attribute)
        named = declaration.type_name or type_name
        return lambda record: to_global_id(named, key(record))
    return attrgetter(declaration.attribute or python_name)


@cache
def _getters(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    definition = get_object_definition(cls, strict=True)
    getters = []
    for field in definition.fields:
        declaration = declaration_of(field)
        if isinstance(declaration, Column | GlobalId):
            getters.append(
                (field.python_name, leaf_getter(declaration, field.python_name, definition.name))
            )
    return tuple(getters)


def record_values(cls: type, record: Any) -> Mapping[str, Any]:
    """The constructor arguments of ``cls`` that its declared columns read from ``record``."""
    return {name: get(record) for name, get in _getters(cls)}
