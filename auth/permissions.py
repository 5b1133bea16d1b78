"""Strawberry permission classes: every field and mutation declares the scope it needs.

A permission class looks only at the verified principal the request carries; it never
queries business tables. Row-level tenancy (whose rows a partner sees) lives in
``resolvers.tenancy``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from auth.scopes import Scope
from core.errors import ErrorCode, GatewayError


class ScopeRequired(GatewayError):
    def __init__(self, scopes: tuple[Scope, ...]) -> None:
        names = " or ".join(scope.value for scope in scopes)
        super().__init__(
            ErrorCode.FORBIDDEN,
            f"this needs the scope {names}",
            requiredScopes=[scope.value for scope in scopes],
        )


class HasScope(BasePermission):
    """Allows the caller holding any one of ``scopes``; subclass it once per rule."""

    scopes: ClassVar[tuple[Scope, ...]] = ()
    message = "forbidden"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal is not None and any(principal.has_scope(scope) for scope in self.scopes):
            return True
        # Raised rather than returned, so the error carries the stable code and the scope.
        raise ScopeRequired(self.scopes)


def requires(*scopes: Scope) -> type[HasScope]:
    """``permission_classes=[requires(Scope.CATALOG_READ)]``: one class per scope set."""
    name = "Requires_" + "_or_".join(scope.name for scope in scopes)
    return type(name, (HasScope,), {"scopes": scopes})


class IsAuthenticated(BasePermission):
    """Any caller with a valid token, whatever its scopes (``viewer`` and the like).

    The bearer check before strawberry already refuses anonymous calls with 401; this is
    the field's own declaration, so a field never depends on where it is mounted.
    """

    message = "authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.principal is not None:
            return True
        raise GatewayError(ErrorCode.UNAUTHENTICATED, "an access token is required")


def declared_scopes(permission_classes: list[type[BasePermission]]) -> frozenset[str] | None:
    """The scopes a field's permission classes ask for (any one of them suffices);
    an empty set for authentication only, None for a field that declares nothing."""
    scopes: set[str] = set()
    declared = False
    for permission in permission_classes:
        if issubclass(permission, HasScope):
            scopes.update(scope.value for scope in permission.scopes)
            declared = True
        elif issubclass(permission, IsAuthenticated):
            declared = True
    return frozenset(scopes) if declared else None
