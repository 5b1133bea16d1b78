"""The plan compiler: a selection and the types' declarations become one render function.

Input: the selection as strawberry's public ``info.selected_fields`` gives it (fragments
resolved, arguments and directive arguments already evaluated with the variables) and the
schema's strawberry type definitions. Output: a ``CompiledPlan``, whose ``read`` tells the
resolvers which related lists to join (``resolvers.compiled_reads.ReadPlan``) and whose
``render`` turns the rows into the field's finished value, with every leaf serialized by
the schema's own scalar or enum, exactly as value completion would.

What it compiles, field by field (anything else raises ``Refused`` with its reason, and
the field takes the normal path):

- a field with a permission class, an extension or a schema directive: never;
- on a type that declares its fields (``schema.compiled.declare``): the declared ones;
- on a type that declares none (Connection, Edge, PageInfo): fields without a resolver,
  read by their Python name, which is what strawberry's default resolver does, so the
  compiled source must then be an instance of the type itself;
- ``__typename``; fragments on the type or one of its interfaces, merged by response key
  in graphql-core's order; no executable directive at all (``DIRECTIVE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from operator import attrgetter
from typing import Any, Final

from orjson import Fragment
from strawberry import Schema
from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.base import (
    StrawberryList,
    StrawberryObjectDefinition,
    StrawberryOptional,
    get_object_definition,
    has_object_definition,
)
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection
from strawberry.types.scalar import ScalarDefinition
from strawberry.types.unset import UNSET

from resolvers.compiled_reads import (
    JsonConstant,
    JsonLeaf,
    JsonNested,
    JsonNode,
    JsonObject,
    JsonRelated,
    LeafKind,
    ReadPlan,
    RelationRead,
)
from schema.compiled.declare import Column, GlobalId, Nested, Related, declaration_of, leaf_getter
from schema.compiled.metrics import FallbackReason

# render(source, related) -> the finished value; ``related`` is the read's related lists.
Render = Callable[[Any, Mapping[str, Mapping[Any, Sequence[Any]]]], Any]

# graphql-core's String, ID and Boolean give back a str (a bool) unchanged, and Int an int
# within 32 bits: skip the call for exactly that class, which is what the records hold (an
# int out of range still goes to serialize_int, which refuses it as value completion does).
_UNCHANGED_BY: Final[Mapping[str, type]] = {
    "String": str,
    "ID": str,
    "Boolean": bool,
    "Int": int,
}
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1

# How the database writes each scalar as the schema serializes it (``JsonLeaf``); a scalar
# not named here keeps its node rendered in Python.
_LEAF_KINDS: Final[Mapping[str, LeafKind]] = {
    "String": LeafKind.PLAIN,
    "ID": LeafKind.PLAIN,
    "Int": LeafKind.PLAIN,
    "Boolean": LeafKind.PLAIN,
    "DateTime": LeafKind.DATETIME,
    "Rupiah": LeafKind.INTEGER_TEXT,
}


class Refused(Exception):
    """The selection needs the normal path; ``reason`` is the fallback counter's label."""

    def __init__(self, reason: FallbackReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    read: ReadPlan
    render: Render
    # A root that is a list of objects (the programme's figures by group): the read gives
    # the sequence of records and ``render`` the list of finished objects.
    many: bool = False


@dataclass
class _Compiler:
    schema: Schema
    variables: Mapping[str, Any]
    relations: dict[str, tuple[tuple[str, Any], ...]] = field(default_factory=dict)
    # The node: the outermost objects of a type that declares its fields (a connection's
    # ``node``), with the JSON shape the database may write them in.
    node: JsonObject | None = None
    node_positions: int = 0
    declared_depth: int = 0

    # -- types --------------------------------------------------------------------------

    def type_name(self, definition: StrawberryObjectDefinition) -> str:
        # The GraphQL name: a specialized generic (Connection[Course]) is CourseConnection.
        return self.schema.config.name_converter.from_type(definition)

    def object(self, type_name: str, selections: Iterable[Selection]) -> Render:
        definition = self.schema.get_type_by_name(type_name)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.is_interface:
            raise Refused(FallbackReason.UNSUPPORTED_TYPE, type_name)
        declared = _declares(definition)
        rendered: list[tuple[str, Render]] = []
        for key, nodes in self.collect(definition, type_name, selections).items():
            name = nodes[0].name
            if name == "__typename":
                rendered.append((key, _constant(type_name)))
                continue
            found = self.schema.get_field_for_type(name, type_name)
            if found is None:
                raise Refused(FallbackReason.UNKNOWN_FIELD, f"{type_name}.{name}")
            rendered.append((key, self.field(found, type_name, nodes, declared=declared)))
        fields = tuple(rendered)
        return lambda source, related: {key: render(source, related) for key, render in fields}

    def collect(
        self,
        definition: StrawberryObjectDefinition,
        type_name: str,
        selections: Iterable[Selection],
    ) -> dict[str, list[SelectedField]]:
        """The selected fields by response key, in graphql-core's order of first
        appearance, through fragments whose type condition applies."""
        applies = {type_name, *(self.type_name(item) for item in definition.interfaces)}
        grouped: dict[str, list[SelectedField]] = {}

        def visit(items: Iterable[Selection]) -> None:
            for item in items:
                self.refuse_directives(item.directives)
                if isinstance(item, SelectedField):
                    grouped.setdefault(item.alias or item.name, []).append(item)
                elif isinstance(item, FragmentSpread | InlineFragment):
                    condition = item.type_condition
                    if condition is not None and condition not in applies:
                        raise Refused(FallbackReason.UNSUPPORTED_TYPE, f"fragment on {condition}")
                    visit(item.selections)
                else:
                    raise Refused(FallbackReason.UNSUPPORTED_TYPE, type(item).__name__)

        visit(selections)
        return grouped

    def refuse_directives(self, directives: Mapping[str, Mapping[str, Any]]) -> None:
        # @include and @skip could be evaluated here (their arguments arrive evaluated and
        # plans are kept per variable values), but no partner document uses them on the
        # catalog yet, and a directive not understood must never be ignored.
        for name in directives:
            raise Refused(FallbackReason.DIRECTIVE, f"@{name}")

    # -- fields -------------------------------------------------------------------------

    def field(
        self, found: StrawberryField, type_name: str, nodes: list[SelectedField], *, declared: bool
    ) -> Render:
        where = f"{type_name}.{nodes[0].name}"
        if found.permission_classes:
            raise Refused(FallbackReason.PERMISSION, where)
        if found.extensions:
            raise Refused(FallbackReason.EXTENSION, where)
        if found.directives:
            raise Refused(FallbackReason.DIRECTIVE, where)
        declaration = declaration_of(found)
        if declaration is None:
            if found.base_resolver is not None:
                raise Refused(FallbackReason.RESOLVER, where)
            if declared:
                raise Refused(FallbackReason.UNDECLARED, where)
            return self.value(found.type, attrgetter(found.python_name), nodes, where)
        if isinstance(declaration, Column | GlobalId):
            if found.base_resolver is not None:
                raise Refused(FallbackReason.RESOLVER, f"{where} declares a column")
            get = leaf_getter(declaration, found.python_name, type_name)
            return self.value(found.type, get, nodes, where, leaf_only=True)
        if isinstance(declaration, Nested):
            return self.value(found.type, attrgetter(declaration.attribute), nodes, where)
        return self.related(found, declaration, nodes, where)

    def related(
        self, found: StrawberryField, declaration: Related, nodes: list[SelectedField], where: str
    ) -> Render:
        arguments = {self.arguments(found, node, where) for node in nodes}
        known = self.relations.get(declaration.name)
        if known is not None:
            arguments.add(known)
        if len(arguments) > 1:
            raise Refused(FallbackReason.ARGUMENT, f"{where} selected with different arguments")
        (self.relations[declaration.name],) = arguments
        field_type = found.type
        if not isinstance(field_type, StrawberryList):
            raise Refused(FallbackReason.UNSUPPORTED_TYPE, f"{where} is not a list")
        item = self.value(field_type.of_type, lambda record: record, nodes, where)
        name, key = declaration.name, attrgetter(declaration.key)

        def render(source: Any, related: Mapping[str, Mapping[Any, Sequence[Any]]]) -> Any:
            return [item(record, related) for record in related[name].get(key(source), ())]

        return render

    def arguments(
        self, found: StrawberryField, node: SelectedField, where: str
    ) -> tuple[tuple[str, Any], ...]:
        """The field's arguments with their defaults, by Python name, in a stable order."""
        converter = self.schema.config.name_converter
        values: list[tuple[str, Any]] = []
        given = dict(node.arguments)
        for argument in found.arguments:
            graphql_name = converter.get_graphql_name(argument)
            value = given.pop(graphql_name, UNSET)
            if value is None and not isinstance(argument.type, StrawberryOptional):
                # An omitted variable leaves the default; an explicit null is refused by
                # the normal path. The selection cannot tell them apart, the variables can.
                if any(variable is None for variable in self.variables.values()):
                    raise Refused(FallbackReason.ARGUMENT, f"{where}({graphql_name}: null)")
                value = UNSET
            if value is UNSET:
                value = argument.default
            if value is UNSET:
                raise Refused(FallbackReason.ARGUMENT, f"{where}({graphql_name}) missing")
            values.append((argument.python_name, _coerced(argument.type, value, where)))
        if given:
            raise Refused(FallbackReason.ARGUMENT, f"{where}: unknown {sorted(given)}")
        return tuple(values)

    # -- values -------------------------------------------------------------------------

    def value(
        self,
        field_type: Any,
        get: Callable[[Any], Any],
        nodes: list[SelectedField],
        where: str,
        *,
        leaf_only: bool = False,
    ) -> Render:
        if isinstance(field_type, StrawberryOptional):
            field_type = field_type.of_type  # a None is rendered as null either way
        if isinstance(field_type, StrawberryList):
            if leaf_only:
                raise Refused(FallbackReason.UNSUPPORTED_TYPE, f"{where} is a list")
            item = self.value(field_type.of_type, lambda value: value, nodes, where)

            def render_list(source: Any, related: Any) -> Any:
                values = get(source)
                return None if values is None else [item(value, related) for value in values]

            return render_list
        if has_object_definition(field_type):
            if leaf_only:
                raise Refused(FallbackReason.UNSUPPORTED_TYPE, f"{where} is an object")
            definition = get_object_definition(field_type, strict=True)
            type_name = self.type_name(definition)
            selections = [item for node in nodes for item in node.selections]
            declares = _declares(definition)
            self.declared_depth += declares
            try:
                child = self.object(type_name, selections)
            finally:
                self.declared_depth -= declares
            if not declares or self.declared_depth > 0:

                def render_object(source: Any, related: Any) -> Any:
                    value = get(source)
                    return None if value is None else child(value, related)

                return render_object
            self.node_positions += 1
            self.node = self.json_object(type_name, selections)

            def render_node(source: Any, related: Any) -> Any:
                value = get(source)
                if value is None:
                    return None
                if isinstance(value, JsonNode):
                    return Fragment(value.json)  # written by the database (``ReadPlan.node``)
                return child(value, related)

            return render_node
        serialize, unchanged = self.serializer(field_type, where)
        if unchanged is int:

            def render_int(source: Any, related: Any) -> Any:
                value = get(source)
                if value is None or (value.__class__ is int and _INT_MIN <= value <= _INT_MAX):
                    return value
                return serialize(value)

            return render_int

        def render_leaf(source: Any, related: Any) -> Any:
            value = get(source)
            if value is None or value.__class__ is unchanged:
                return value
            return serialize(value)

        return render_leaf

    # -- the node as JSON written by the database ------------------------------------------

    def json_object(self, type_name: str, selections: Iterable[Selection]) -> JsonObject | None:
        """The JSON shape of an object of a declaring type, or None when a field of it is
        not one the database can write exactly as the schema serializes it (the node is
        then rendered here). The selection already compiled (``object``): no refusal."""
        definition = self.schema.get_type_by_name(type_name)
        assert isinstance(definition, StrawberryObjectDefinition)
        fields: list[JsonLeaf | JsonConstant | JsonNested | JsonRelated] = []
        for key, nodes in self.collect(definition, type_name, selections).items():
            name = nodes[0].name
            if name == "__typename":
                fields.append(JsonConstant(key, type_name))
                continue
            found = self.schema.get_field_for_type(name, type_name)
            declaration = None if found is None else declaration_of(found)
            if found is None or declaration is None:
                return None
            shape = self.json_field(key, found, declaration, nodes, type_name)
            if shape is None:
                return None
            fields.append(shape)
        return JsonObject(tuple(fields))

    def json_field(
        self,
        key: str,
        found: StrawberryField,
        declaration: Column | GlobalId | Nested | Related,
        nodes: list[SelectedField],
        type_name: str,
    ) -> JsonLeaf | JsonNested | JsonRelated | None:
        field_type = found.type
        if isinstance(field_type, StrawberryOptional):
            field_type = field_type.of_type
        selections = [item for node in nodes for item in node.selections]
        if isinstance(declaration, GlobalId):
            named = declaration.type_name or type_name
            return JsonLeaf(key, declaration.attribute, LeafKind.GLOBAL_ID, type_name=named)
        if isinstance(declaration, Column):
            return self.json_leaf(key, declaration.attribute or found.python_name, field_type)
        if isinstance(declaration, Nested):
            if not has_object_definition(field_type):
                return None
            nested = get_object_definition(field_type, strict=True)
            shape = self.json_object(self.type_name(nested), selections)
            return None if shape is None else JsonNested(key, declaration.attribute, shape)
        if not isinstance(field_type, StrawberryList) or not has_object_definition(
            field_type.of_type
        ):
            return None
        item = get_object_definition(field_type.of_type, strict=True)
        shape = self.json_object(self.type_name(item), selections)
        return None if shape is None else JsonRelated(key, declaration.name, shape)

    def json_leaf(self, key: str, attribute: str, field_type: Any) -> JsonLeaf | None:
        if isinstance(field_type, StrawberryEnumDefinition):
            names = tuple((value.value, value.name) for value in field_type.values)
            if not all(isinstance(value, str) for value, _ in names):
                return None
            return JsonLeaf(key, attribute, LeafKind.ENUM, names=names)
        scalar = self.schema.config.scalar_map.get(field_type) or DEFAULT_SCALAR_REGISTRY.get(
            field_type
        )
        if not isinstance(scalar, ScalarDefinition) or scalar.name not in _LEAF_KINDS:
            return None
        return JsonLeaf(key, attribute, _LEAF_KINDS[scalar.name])

    def serializer(self, field_type: Any, where: str) -> tuple[Callable[[Any], Any], type | None]:
        """The schema's own serialization of a leaf type, as value completion applies it."""
        if isinstance(field_type, StrawberryEnumDefinition):
            return _enum_serializer(field_type), None
        scalar = self.schema.config.scalar_map.get(field_type) or DEFAULT_SCALAR_REGISTRY.get(
            field_type
        )
        if not isinstance(scalar, ScalarDefinition) or scalar.serialize is None:
            raise Refused(FallbackReason.UNSUPPORTED_TYPE, f"{where}: {field_type!r}")
        return scalar.serialize, _UNCHANGED_BY.get(scalar.name)


def _declares(definition: StrawberryObjectDefinition) -> bool:
    """A type that maps a record declares its fields (``schema.compiled.declare``)."""
    return any(declaration_of(item) is not None for item in definition.fields)


def _constant(value: str) -> Render:
    return lambda _source, _related: value


def _enum_serializer(definition: StrawberryEnumDefinition) -> Callable[[Any], Any]:
    # Strawberry's enum type gives a member its name, and any other value the name of the
    # member that has it.
    names = {value.value: value.name for value in definition.values}
    wrapped = definition.wrapped_cls

    def serialize(value: Any) -> Any:
        if isinstance(value, wrapped):
            return value.name
        if isinstance(value, Enum):
            value = value.value
        return names[value]

    return serialize


def _coerced(argument_type: Any, value: Any, where: str) -> Any:
    """Literal Int arguments arrive from the selection as their source text."""
    if isinstance(argument_type, StrawberryOptional):
        argument_type = argument_type.of_type
    if argument_type is int and isinstance(value, str):
        return int(value)
    if argument_type in (int, bool, str) and not isinstance(value, argument_type):
        raise Refused(FallbackReason.ARGUMENT, f"{where}: {value!r}")
    return value


def compile_plan(
    schema: Schema,
    type_name: str,
    selections: Sequence[SelectedField],
    variables: Mapping[str, Any],
    *,
    many: bool = False,
) -> CompiledPlan:
    """The plan of a field of type ``type_name`` (a list of them with ``many``) selected by
    ``selections`` (its nodes). Raises ``Refused`` when any part of the selection needs the
    normal path."""
    compiler = _Compiler(schema, variables)
    for node in selections:
        compiler.refuse_directives(node.directives)
    render = compiler.object(type_name, [item for node in selections for item in node.selections])
    if many:
        one = render

        def render(source: Any, related: Mapping[str, Mapping[Any, Sequence[Any]]]) -> Any:
            return [one(record, related) for record in source]

    relations = tuple(
        RelationRead(name, arguments) for name, arguments in compiler.relations.items()
    )
    # One node position at most: a read answers its rows as JSON for one selection.
    shape = compiler.node if compiler.node_positions == 1 else None
    return CompiledPlan(ReadPlan(relations, shape), render, many)
