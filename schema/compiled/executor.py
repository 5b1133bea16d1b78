"""The one place the compiled read reaches into graphql-core: skipping value completion.

A compiled read resolves its field to a ``Finished`` value; graphql-core would then
complete it as an object, calling a resolver per field of every object in it (what made
the catalog page slow). ``CompiledReadExecutor`` hands a ``Finished`` value through
``complete_object_value`` untouched. graphql-core marks that method ``:meta private:``,
and strawberry's execution context class is not documented either, so both versions are
pinned in ``pyproject.toml`` and ``tests/catalog/test_fast_path.py`` fails when the method's
signature or the class strawberry builds on changes. Everything else in
``schema.compiled`` uses public names only.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfo
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# The parameters this override was written against (graphql-core 3.3).
COMPLETE_OBJECT_VALUE_PARAMETERS = (
    "self",
    "return_type",
    "field_details_list",
    "info",
    "path",
    "result",
    "position_context",
)


class Finished:
    """A field's value, already completed: ``CompiledReadExecutor`` passes it through."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class CompiledReadExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, except that a ``Finished`` object value is not completed."""

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
