"""Every mutation field runs in a savepoint of its own.

The request's transaction is committed in one place (the HTTP view). Inside it, each root
mutation field is wrapped in a savepoint: a field that is refused (any exception) rolls back
its own writes only, so in a document with two mutations neither leaks into the other, and a
refused mutation never leaves a partial write.

The one deliberate exception is ``KeptRefusal`` (``core.errors``): a resolver raises it when
what it wrote before refusing must stay — a wrong one-time password counts as a try. Its
savepoint is released, not rolled back, and the refusal still reaches the caller as an error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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
