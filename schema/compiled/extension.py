"""The field extensions through which a field opts in: ``CompiledRead``, ``CompiledFieldRead``.

``CompiledRead`` is for a root field (the catalog's ``courses``): its read takes the
field's arguments. ``CompiledFieldRead`` is for a field of an object type (a batch's
``items`` page): its read takes the parent object too, as the normal path built it (the
field resolver's ``self``), since that is where the page starts (the batch's key).

Strawberry runs a field's permission classes outside its extensions, so by the time this
runs the caller has passed the field's own checks, and the arguments arrive converted as
the resolver gets them. The selection is compiled (``compiler.compile_plan``) once per
operation, response path (list positions aside) and variable values; when it compiles,
the field's ``read`` function fetches the rows for the plan and the plan renders the
finished value. Every fallback (a refused plan, a read that refuses, the switch off) is
counted with its reason (``metrics.FALLBACKS``) and the field's own resolver answers: the
answer is the same, only slower.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from graphql import OperationDefinitionNode
from graphql.pyutils import Path
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.nodes import SelectedField

from resolvers.compiled_reads import CompiledReadRefused, ReadPlan
from schema.compiled.compiler import CompiledPlan, Refused, compile_plan
from schema.compiled.executor import Finished
from schema.compiled.metrics import FALLBACKS, FallbackReason

PLANS_KEPT: Final = 512  # like the parser cache: partners send the same few documents

# What a read gives back: the source the field's type renders from (an instance of the
# field's type or a record, as its declarations say) and the related lists by name and key.
ReadResult = tuple[Any, Mapping[str, Mapping[Any, Sequence[Any]]]]
# A root read takes the request's context (``schema.context.Context``), not the field's
# info: a compiled document (``schema.compiled.documents``) replays it without GraphQL.
Read = Callable[[Any, ReadPlan, dict[str, Any]], Awaitable[ReadResult]]
# Whether a root read needs its statements in one transaction, from its arguments: it
# must when it touches a partner-owned table (row-level security reads a transaction-local
# setting) or sets transaction-local settings itself; the public catalog need not.
InTransaction = Callable[[dict[str, Any]], bool]
FieldRead = Callable[[Any, Info, ReadPlan, dict[str, Any]], Awaitable[ReadResult]]

_PlanKey = tuple[int, int, tuple[tuple[str, str | None], ...], str]
# The operation is kept with its plan, so its id cannot be reused while the entry lives.
_plans: dict[_PlanKey, tuple[OperationDefinitionNode, CompiledPlan | Refused]] = {}


class _CompiledReadExtension(FieldExtension):
    def __init__(self, *, enabled: Callable[[Info], bool] | None) -> None:
        super().__init__()
        self.enabled = enabled

    async def fetch(
        self, source: Any, info: Info, plan: ReadPlan, arguments: dict[str, Any]
    ) -> ReadResult:
        raise NotImplementedError

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        where = f"{info.path.typename}.{info.field_name}"
        if self.enabled is not None and not self.enabled(info):
            FALLBACKS.record(where, FallbackReason.DISABLED)
            return await next_(source, info, **kwargs)
        plan = plan_for(info)
        if isinstance(plan, Refused):
            FALLBACKS.record(where, plan.reason, plan.detail)
            return await next_(source, info, **kwargs)
        try:
            root, related = await self.fetch(source, info, plan.read, kwargs)
        except CompiledReadRefused as refused:
            FALLBACKS.record(where, refused.reason, refused.detail)
            return await next_(source, info, **kwargs)
        if isinstance(self, CompiledRead) and info.path.prev is None:
            # A root field answered compiled: the view may keep the whole document as a
            # compiled document and answer it next time without GraphQL.
            compiled_roots = getattr(info.context, "compiled_roots", None)
            if compiled_roots is not None:
                compiled_roots.append(CompiledRoot(info.path.key, where, self, kwargs, plan))
        value = plan.render(root, related)
        if plan.many:
            # graphql-core completes a list item by item: each object passes finished.
            return [Finished(item) for item in value]
        return Finished(value)


class CompiledRead(_CompiledReadExtension):
    """On a root field: ``read(context, plan, arguments)``. ``in_transaction(arguments)``
    says whether the read needs a transaction (the default: always); a compiled document
    whose read needs none is answered by single statements, without BEGIN and COMMIT."""

    def __init__(
        self,
        read: Read,
        *,
        enabled: Callable[[Info], bool] | None = None,
        in_transaction: InTransaction | None = None,
    ) -> None:
        super().__init__(enabled=enabled)
        self.read = read
        self.in_transaction = in_transaction or _always

    async def fetch(
        self, source: Any, info: Info, plan: ReadPlan, arguments: dict[str, Any]
    ) -> ReadResult:
        return await self.read(info.context, plan, arguments)


def _always(_arguments: dict[str, Any]) -> bool:
    return True


def no_transaction(_arguments: dict[str, Any]) -> bool:
    """``in_transaction`` of a read of public tables only (no partner-owned row, no
    row-level security, no transaction-local setting): each statement stands alone,
    without BEGIN and COMMIT."""
    return False


@dataclass(frozen=True, slots=True)
class CompiledRoot:
    """A root field the compiled read answered: what replaying it takes."""

    response_key: str | int
    where: str
    extension: CompiledRead
    arguments: dict[str, Any]
    plan: CompiledPlan


class CompiledFieldRead(_CompiledReadExtension):
    """On a field of an object type: ``read(parent, info, plan, arguments)``."""

    def __init__(self, read: FieldRead, *, enabled: Callable[[Info], bool] | None = None) -> None:
        super().__init__(enabled=enabled)
        self.read = read

    async def fetch(
        self, source: Any, info: Info, plan: ReadPlan, arguments: dict[str, Any]
    ) -> ReadResult:
        return await self.read(source, info, plan, arguments)


def plan_for(info: Info) -> CompiledPlan | Refused:
    """The field's plan (or why it has none), compiled once per schema, operation,
    response path and variable values (the arguments of related lists depend on them)."""
    operation = info.operation
    # The schema too: a document string parses to one shared node for every schema.
    key = (id(info.schema), id(operation), _selection_path(info), repr(info.variable_values))
    found = _plans.get(key)
    if found is not None and found[0] is operation:
        return found[1]
    plan: CompiledPlan | Refused
    try:
        type_name, many = _object_type(info)
        plan = compile_plan(
            info.schema,
            type_name,
            [item for item in info.selected_fields if isinstance(item, SelectedField)],
            info.variable_values,
            many=many,
        )
    except Refused as refused:
        plan = refused
    if len(_plans) >= PLANS_KEPT:
        _plans.clear()
    _plans[key] = (operation, plan)
    return plan


def _selection_path(info: Info) -> tuple[tuple[str, str | None], ...]:
    """The response path without list indices, each key with its parent's type: what
    decides a field's selection. A field inside a list (the items of every batch of a
    page) then has one plan, not one per position."""
    steps = []
    path: Path | None = info.path
    while path is not None:
        if isinstance(path.key, str):
            steps.append((path.key, path.typename))
        path = path.prev
    return tuple(reversed(steps))


def _object_type(info: Info) -> tuple[str, bool]:
    """The GraphQL name of the field's object type, and whether the field is a list of it."""
    field_type: Any = info.return_type
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    # Only an object value reaches the executor's complete_object_value, which a Finished
    # value must pass through: a compiled field is an object type (a connection, a page)
    # or a list of non-null objects (graphql-core completes each item as an object).
    many = isinstance(field_type, StrawberryList)
    if many:
        field_type = field_type.of_type
    definition = get_object_definition(field_type)
    if definition is None:
        raise Refused(FallbackReason.UNSUPPORTED_TYPE, f"{info.field_name} is not an object")
    return info.schema.config.name_converter.from_type(definition), many
