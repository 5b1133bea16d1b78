"""The error vocabulary as a GraphQL enum, and the user error of bulk mutations' items."""

from __future__ import annotations

import strawberry

from core.errors import ErrorCode

ErrorCodeEnum = strawberry.enum(
    ErrorCode,
    name="ErrorCode",
    description="Every stable error code of the gateway (also found in extensions.code).",
)


@strawberry.type(description="Why one item of a bulk mutation was refused; the others stand.")
class UserError:
    code: ErrorCodeEnum  # type: ignore[valid-type]
    message: str
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
