"""The static cost of a GraphQL document, computed before it runs (Shopify's and GitHub's model).

* a leaf (scalar or enum) costs 0; an object costs 1 plus its selection;
* a field with a ``first`` argument multiplies its selection by the page size asked for
  (its default, else ``DEFAULT_PAGE_SIZE``): 2 for the page itself plus ``first`` times the
  cost of one item (an object: 1 plus its selection). ``edges`` under it is the same page,
  not a second multiplication;
* any other list is assumed to hold ``LIST_ESTIMATE`` items;
* a root mutation field costs ``MUTATION_COST`` plus its answer's selection;
* introspection costs a flat ``INTROSPECTION_COST``.

Fragments are added in full wherever they are spread (an overestimate, never an
underestimate). A document above ``MAX_QUERY_COST`` is refused (``QUERY_TOO_COSTLY``); the
cost of every answered document is also what the per-client rate limit is charged.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
)

from schema.common import DEFAULT_PAGE_SIZE
from schema.documents import select_operation

# Above any document a partner needs (100 courses with 20 schedules each cost 2,302),
# below what the abuse costs (30 such aliases: 69,060).
MAX_QUERY_COST = 5000


def cost_extension(cost: int) -> dict[str, int]:
    """What an answer says of its cost (``extensions.cost``)."""
    return {"requested": cost, "limit": MAX_QUERY_COST}


# The largest page any list accepts (a disbursement batch's items).
LARGEST_PAGE = 1000
LIST_ESTIMATE = 10
MUTATION_COST = 10
INTROSPECTION_COST = 50
CONNECTION_COST = 2
# Nesting is already limited by validation (depth 10); this only stops fragment cycles in a
# document validation will refuse anyway.
_MAX_NESTING = 32


def document_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int | None:
    """The cost of the operation a request runs; None when it cannot be told (the document
    is then refused by validation anyway). Cached per document and page-size variables."""
    pages = tuple(
        sorted(
            (name, value)
            for name, value in (variables or {}).items()
            if isinstance(value, int) and not isinstance(value, bool)
        )
    )
    return _cached_cost(schema, document, operation_name, json.dumps(pages))


@lru_cache(maxsize=512)
def _cached_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, pages: str
) -> int | None:
    operation = select_operation(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    variables = dict(json.loads(pages))
    walker = _Walker(schema, fragments, {name: int(value) for name, value in variables.items()})
    if operation.operation is OperationType.MUTATION:
        root = schema.mutation_type
        per_field = MUTATION_COST
    else:
        root = schema.query_type
        per_field = 0
    if root is None:
        return None
    total = 0
    for node in walker.fields(root, operation.selection_set, 0):
        total += per_field + walker.field_cost(root, node, 0)
    return total


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, int],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def fields(
        self,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        selection_set: SelectionSetNode | None,
        nesting: int,
    ) -> list[FieldNode]:
        """The field nodes of a selection set, fragments flattened."""
        found: list[FieldNode] = []
        if selection_set is None or nesting > _MAX_NESTING:
            return found
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                found.extend(self.fields(parent, selection.selection_set, nesting + 1))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    found.extend(self.fields(parent, fragment.selection_set, nesting + 1))
        return found

    def field_cost(
        self, parent: GraphQLObjectType | GraphQLInterfaceType, node: FieldNode, nesting: int
    ) -> int:
        name = node.name.value
        if name.startswith("__"):
            return INTROSPECTION_COST if name in ("__schema", "__type") else 0
        field = parent.fields.get(name)
        if field is None or nesting > _MAX_NESTING:
            return 0
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return 0
        children = 0
        # Fields of an interface or union answer are judged on the fields they name; a field
        # only a member type has is looked up on each object type that has it.
        for child in self.fields(named, node.selection_set, nesting + 1):
            owner = self._owner(named, child.name.value)
            if owner is not None:
                children += self.field_cost(owner, child, nesting + 1)
        page = self._page_size(field, node)
        if page is not None:
            # A plain list's items are objects costing 1 each; a connection's items are
            # its ``node``s, which count themselves.
            per_item = 1 + children if _is_list(field.type) else children
            return CONNECTION_COST + page * per_item
        if _is_list(field.type) and name != "edges":
            return LIST_ESTIMATE * (1 + children)
        if name in ("edges", "pageInfo"):
            return children
        return 1 + children

    def _owner(
        self, named: Any, field_name: str
    ) -> GraphQLObjectType | GraphQLInterfaceType | None:
        if isinstance(named, GraphQLObjectType):
            return named if field_name in named.fields else None
        if isinstance(named, GraphQLInterfaceType) and field_name in named.fields:
            return named
        for possible in self.schema.get_possible_types(named):
            if field_name in possible.fields:
                return possible
        return None

    def _page_size(self, field: GraphQLField, node: FieldNode) -> int | None:
        if "first" not in field.args:
            return None
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return _page(int(value.value))
            if isinstance(value, VariableNode) and value.name.value in self.variables:
                return _page(self.variables[value.name.value])
        default = field.args["first"].default_value
        return default if isinstance(default, int) and default > 0 else DEFAULT_PAGE_SIZE


def _page(first: int) -> int:
    # A page no field accepts is refused by the field itself (INVALID_PAGE_SIZE) before it
    # reads anything: it costs what one item would, not what it asked for.
    return first if 1 <= first <= LARGEST_PAGE else 1


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
