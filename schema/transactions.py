"""Every mutation field runs in a savepoint of its own.

The request's transaction is committed in one place (the HTTP view). Inside it, each root
mutation field is wrapped in a savepoint: a field that is refused (any exception) rolls back
its own writes only, so in a document with two mutations neither leaks into the other, and a
refused mutation never leaves a partial write.

The one deliberate exception is ``KeptRefusal`` (``core.errors``): a resolver raises it when
what it wrote before refusing must stay — a wrong one-time password counts as a try. Its
savepoint is released, not rolled back, and the refusal still reaches the caller as an error.

Which documents the view runs in a ``DriverTransaction`` (``core/db/driver_transaction.py``)
instead of an ORM session is decided here too (``runs_on_driver``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
)
from strawberry.extensions import FieldExtension
from strawberry.types import get_object_definition

from core.errors import KeptRefusal
from schema.info import Info


class OwnSavepoint(FieldExtension):
    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: Info,
        **kwargs: Any,
    ) -> Any:
        savepoint = await info.context.session.begin_nested()
        try:
            result = await next_(source, info, **kwargs)
        except KeptRefusal:
            await savepoint.commit()
            raise
        except BaseException:
            await savepoint.rollback()
            raise
        await savepoint.commit()
        return result


def in_own_savepoints(mutation_type: type) -> type:
    """Gives every field of the root mutation type its savepoint (applied once, at import)."""
    definition = get_object_definition(mutation_type, strict=True)
    for field in definition.fields:
        if not any(isinstance(extension, OwnSavepoint) for extension in field.extensions):
            field.extensions.append(OwnSavepoint())
    return mutation_type


# Root mutation fields whose resolvers use nothing of a session but ``execute_core`` (and the
# field's savepoint): a purchase's two steps, the programme's busiest writes.
DRIVER_MUTATIONS: Final = frozenset({"startPurchase", "authorizePurchase"})


def runs_on_driver(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> bool:
    """Whether the operation is one mutation field of ``DRIVER_MUTATIONS`` whose selection
    asks only for fields that are plain values of its payload (no field resolver, which may
    read through the session's loaders). Anything else, an invalid document included, runs
    in an ORM session as every other request does."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.MUTATION:
        return False
    roots = operation.selection_set.selections
    mutation = schema.mutation_type
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or mutation is None:
        return False
    root = roots[0]
    field = mutation.fields.get(root.name.value)
    if root.name.value not in DRIVER_MUTATIONS or field is None:
        return False
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    return _plain_values(field.type, root.selection_set, fragments, set())


def _plain_values(
    type_: GraphQLOutputType,
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    spread: set[str],
) -> bool:
    if selection_set is None:
        return True  # a scalar or an enum
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return False
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if name == "__typename":
                continue
            field = named.fields.get(name)
            definition = None if field is None else field.extensions.get("strawberry-definition")
            if field is None or definition is None or definition.base_resolver is not None:
                return False
            if not _plain_values(field.type, selection.selection_set, fragments, spread):
                return False
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value != named.name:
                return False
            if not _plain_values(named, selection.selection_set, fragments, spread):
                return False
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if (
                fragment is None
                or name in spread
                or fragment.type_condition.name.value != named.name
            ):
                return False
            if not _plain_values(named, fragment.selection_set, fragments, spread | {name}):
                return False
    return True
