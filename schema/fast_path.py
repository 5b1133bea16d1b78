"""The catalog fast path: ``Query.courses`` answered from one statement, without completion.

Why: on the standard catalog page (20 courses with their provider and first schedules)
most of a worker's time went to graphql-core completing some 400 values one resolver call
at a time, to strawberry's per-field wrapping and to a second statement for the schedules.
Servers like PostGraphile get their speed by compiling a selection into one query and
handing back the finished value; this does the same for the one field that carries the load.

How: ``CoursesFastPath`` is a field extension of ``courses``. Strawberry runs the field's
permission classes outside every other extension, so the caller has already passed the
very same check, and the arguments arrive converted as the resolver gets them. When the
field's selection compiles to a ``Plan`` (below), the extension validates the arguments
with the resolver's own function, builds the resolver's own page statement
(``resolvers.catalog.course_page_query``), fetches it with the schedules in one statement
(``resolvers.catalog_sql``), pages it with ``build_connection`` and renders the plan: the
finished value, wrapped in ``Finished``, which ``FastPathExecutor`` hands through value
completion untouched. Leaves are serialized by the schema's own scalar and enum types.

Anything a plan does not know (another field, any directive, schedules arguments out of
range or differing between selections) takes the normal way, so the fast path never
answers differently, it only answers sooner; ``PRAKERJA_CATALOG_FAST_PATH=false`` turns it
off.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)
from graphql.pyutils import Path
from strawberry.extensions import FieldExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info
from strawberry.utils.str_converters import to_snake_case

from resolvers import catalog_sql
from resolvers.catalog import CourseRecord, PageRequest, schedules_first_allowed
from resolvers.catalog_sql import CourseWithSchedules, SchedulesWanted
from resolvers.loaders import ScheduleRecord
from schema.common import Connection, PageInfo, build_connection, to_global_id

Render = Callable[[Any], Any]
# A field of an object type: (response key, how to render it from the object's source).
RenderedField = tuple[str, Render]

PLANS_KEPT: Final = 512  # like the parser cache: partners send the same few documents


class Finished:
    """A field's value, already completed: ``FastPathExecutor`` passes it through."""

    __slots__ = ("value",)

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = value


class FastPathExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, except that a ``Finished`` object value is not completed."""

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        if result.__class__ is Finished:
            return result.value
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )


class NotCompilable(Exception):
    """The selection (or its arguments) needs the normal path."""


@dataclass(frozen=True)
class Plan:
    """How to render a ``CourseConnection`` for one ``courses`` selection."""

    render: Render
    # The arguments of each ``schedules`` selection, with the field's defaults.
    schedules: tuple[tuple[Sequence[ArgumentNode], Mapping[str, Any]], ...]

    def schedules_wanted(self, variables: Mapping[str, Any]) -> SchedulesWanted | None:
        """The one (first, withSeatsLeft) every schedules selection asks for; None when
        none is selected. Raises NotCompilable for several, or for a ``first`` out of range
        (the normal path answers that with its per-course errors)."""
        wanted = {
            _schedules_arguments(nodes, defaults, variables) for nodes, defaults in self.schedules
        }
        if not wanted:
            return None
        if len(wanted) > 1:
            raise NotCompilable("schedules selected with different arguments")
        (only,) = wanted
        if not schedules_first_allowed(only.first):
            raise NotCompilable("schedules first out of range")
        return only


def _schedules_arguments(
    nodes: Sequence[ArgumentNode], defaults: Mapping[str, Any], variables: Mapping[str, Any]
) -> SchedulesWanted:
    values = dict(defaults)
    for node in nodes:
        values[node.name.value] = _argument_value(node.value, defaults[node.name.value], variables)
    first, with_seats_left = values["first"], values["withSeatsLeft"]
    if not isinstance(first, int) or not isinstance(with_seats_left, bool):
        raise NotCompilable("unexpected schedules argument")
    return SchedulesWanted(first, with_seats_left)


def _argument_value(node: ValueNode, default: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        name = node.name.value
        if name not in variables:
            return default  # an omitted variable leaves the argument's default
        if variables[name] is None:
            raise NotCompilable("null for a non-null argument: the normal path refuses it")
        return variables[name]
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, BooleanValueNode):
        return node.value
    raise NotCompilable("unexpected argument literal")


@dataclass
class _Compiling:
    fragments: Mapping[str, FragmentDefinitionNode]
    schedules: list[tuple[Sequence[ArgumentNode], Mapping[str, Any]]] = field(default_factory=list)


def _collect(
    compiling: _Compiling,
    object_type: GraphQLObjectType,
    selection_sets: Iterable[SelectionSetNode],
) -> dict[str, list[FieldNode]]:
    """The fields of the selection sets by response key, in graphql-core's order."""
    applies = {object_type.name, *(interface.name for interface in object_type.interfaces)}
    grouped: dict[str, list[FieldNode]] = {}

    def visit(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
                continue
            condition: NamedTypeNode | None
            if isinstance(selection, FragmentSpreadNode):
                fragment = compiling.fragments[selection.name.value]
                if fragment.directives:
                    raise NotCompilable("directives")
                condition, selections = fragment.type_condition, fragment.selection_set
            elif isinstance(selection, InlineFragmentNode):
                condition, selections = selection.type_condition, selection.selection_set
            else:
                raise NotCompilable("unknown selection")
            if condition is not None and condition.name.value not in applies:
                raise NotCompilable("fragment on another type")
            visit(selections)

    for selection_set in selection_sets:
        visit(selection_set)
    return grouped


FieldCompiler = Callable[[str, GraphQLField, list[FieldNode]], Render]


def _object(
    compiling: _Compiling,
    object_type: GraphQLObjectType,
    nodes: Sequence[FieldNode],
    compile_field: FieldCompiler,
) -> Render:
    """A render of one object: a dict of its selected fields, each rendered from the source."""
    fields: list[RenderedField] = []
    selection_sets = [node.selection_set for node in nodes if node.selection_set is not None]
    for key, field_nodes in _collect(compiling, object_type, selection_sets).items():
        name = field_nodes[0].name.value
        if name == "__typename":
            fields.append((key, _constant(object_type.name)))
        elif name in object_type.fields:
            fields.append((key, compile_field(name, object_type.fields[name], field_nodes)))
        else:
            raise NotCompilable(f"unknown field {name}")
    rendered = tuple(fields)
    return lambda source: {key: render(source) for key, render in rendered}


def _child(
    compiling: _Compiling,
    field_def: GraphQLField,
    nodes: Sequence[FieldNode],
    compile_field: FieldCompiler,
) -> Render:
    object_type = get_named_type(field_def.type)
    assert isinstance(object_type, GraphQLObjectType)  # every child here is an object type
    return _object(compiling, object_type, nodes, compile_field)


def _constant(value: str) -> Render:
    return lambda _source: value


def _leaf(field_def: GraphQLField, get: Callable[[Any], Any]) -> Render:
    """Serialized by the schema's own type, exactly as value completion would."""
    leaf_type = get_named_type(field_def.type)
    if not is_leaf_type(leaf_type) or not getattr(field_def.resolve, "_is_default", False):
        # Only plain data fields: one with a resolver of its own may compute anything.
        raise NotCompilable("not a plain leaf")
    coerce = leaf_type.coerce_output_value
    # graphql-core's String, ID and Boolean give back a str (a bool) as it is: skip the call
    # for exactly that class, which is what the columns hold.
    unchanged = _UNCHANGED_BY.get(leaf_type.name)

    def render(source: Any) -> Any:
        value = get(source)
        if value is None or value.__class__ is unchanged:
            return value
        return coerce(value)

    return render


_UNCHANGED_BY: Final[Mapping[str, type]] = {"String": str, "ID": str, "Boolean": bool}


def _attribute(
    name: str, allowed: Iterable[str], renamed: Mapping[str, str] | None = None
) -> Callable[[Any], Any]:
    attribute = (renamed or {}).get(name, to_snake_case(name))
    if attribute not in allowed:
        raise NotCompilable(f"no column for {name}")
    return attrgetter(attribute)


_COURSE_COLUMNS: Final = frozenset(CourseRecord.__slots__) - {"sort_key"}
_SCHEDULE_COLUMNS: Final = frozenset(ScheduleRecord.__slots__)
_PAGE_INFO_FIELDS: Final = frozenset(PageInfo.__annotations__)


def _connection(
    compiling: _Compiling, name: str, field_def: GraphQLField, nodes: list[FieldNode]
) -> Render:
    if name == "edges":
        edge = _child(compiling, field_def, nodes, lambda *f: _edge(compiling, *f))
        return lambda connection: [edge(item) for item in connection.edges]
    if name == "pageInfo":
        page_info = _child(compiling, field_def, nodes, _page_info)
        return lambda connection: page_info(connection.page_info)
    raise NotCompilable(name)


def _edge(
    compiling: _Compiling, name: str, field_def: GraphQLField, nodes: list[FieldNode]
) -> Render:
    if name == "cursor":
        return _leaf(field_def, attrgetter("cursor"))
    if name == "node":
        course = _child(compiling, field_def, nodes, lambda *f: _course(compiling, *f))
        return lambda edge: course(edge.node)
    raise NotCompilable(name)


def _page_info(name: str, field_def: GraphQLField, nodes: list[FieldNode]) -> Render:
    return _leaf(field_def, _attribute(name, _PAGE_INFO_FIELDS))


def _course(
    compiling: _Compiling, name: str, field_def: GraphQLField, nodes: list[FieldNode]
) -> Render:
    # The source is a CourseWithSchedules.
    if name == "provider":
        provider = _child(compiling, field_def, nodes, _provider)
        return lambda course: provider(course.record)
    if name == "schedules":
        defaults = {argument: value.default_value for argument, value in field_def.args.items()}
        compiling.schedules.append((nodes[0].arguments or (), defaults))
        schedule = _child(compiling, field_def, nodes, _schedule)
        return lambda course: [schedule(item) for item in course.schedules]
    if name == "id":
        return _leaf(field_def, lambda course: to_global_id("Course", course.record.id))
    column = _attribute(name, _COURSE_COLUMNS)
    return _leaf(field_def, lambda course: column(course.record))


def _provider(name: str, field_def: GraphQLField, nodes: list[FieldNode]) -> Render:
    # The source is the course's record: the provider is joined into the page.
    if name == "id":
        return _leaf(field_def, lambda record: to_global_id("Provider", record.provider_id))
    renamed = {"code": "provider_code", "name": "provider_name"}
    return _leaf(field_def, _attribute(name, renamed.values(), renamed))


def _schedule(name: str, field_def: GraphQLField, nodes: list[FieldNode]) -> Render:
    if name == "id":
        return _leaf(field_def, lambda schedule: to_global_id("Schedule", schedule.id))
    return _leaf(field_def, _attribute(name, _SCHEDULE_COLUMNS, {"seatsLeft": "remaining"}))


def compile_plan(info: GraphQLResolveInfo[Any]) -> Plan | None:
    """The plan of the ``courses`` field being resolved, or None when it has no plan."""
    compiling = _Compiling(info.fragments)
    try:
        if any(node.directives for node in info.field_nodes):
            raise NotCompilable("directives")
        field_def = info.parent_type.fields[info.field_name]
        render = _child(
            compiling, field_def, info.field_nodes, lambda *f: _connection(compiling, *f)
        )
    except NotCompilable:
        return None
    return Plan(render, tuple(compiling.schedules))


# First field node's id -> (the nodes, their plan). The nodes are kept, so an id cannot
# be reused by another document while its entry lives.
_plans: dict[int, tuple[tuple[FieldNode, ...], Plan | None]] = {}


def plan_for(info: GraphQLResolveInfo[Any]) -> Plan | None:
    nodes = tuple(info.field_nodes)
    found = _plans.get(id(nodes[0]))
    if found is not None and len(found[0]) == len(nodes) and all(map(_same, found[0], nodes)):
        return found[1]
    plan = compile_plan(info)
    if len(_plans) >= PLANS_KEPT:
        _plans.clear()
    _plans[id(nodes[0])] = (nodes, plan)
    return plan


def _same(left: object, right: object) -> bool:
    return left is right


class CoursesFastPath(FieldExtension):
    """Answers ``courses`` through its plan when it has one (see the module's docstring)."""

    def __init__(self, arguments: Callable[..., PageRequest]) -> None:
        super().__init__()
        self.arguments = arguments  # schema.catalog.course_page_arguments, the resolver's own

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        plan = plan_for(info._raw_info) if info.context.catalog_fast_path else None
        schedules: SchedulesWanted | None = None
        if plan is not None:
            try:
                schedules = plan.schedules_wanted(info.variable_values)
            except NotCompilable:
                plan = None
        if plan is None:
            return await next_(source, info, **kwargs)
        request = self.arguments(**kwargs)
        courses = await catalog_sql.courses_with_schedules(
            info.context.session,
            info.context.principal,
            request.search,
            request.keyset,
            request.limit,
            schedules,
        )
        connection: Connection[CourseWithSchedules] = build_connection(
            courses,
            page_size=request.page_size,
            key_of=lambda course: request.keyset.as_cursor(course.record),
            after=kwargs.get("after"),
        )
        return Finished(plan.render(connection))


__all__ = ["CoursesFastPath", "FastPathExecutor", "Finished", "Plan", "compile_plan", "plan_for"]
