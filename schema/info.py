"""The resolver ``info`` type every schema module uses, and who acts in a request."""

from typing import TypeAlias

from strawberry.types import Info as StrawberryInfo

from auth.audit import Origin
from core.audit import Actor
from schema.context import Context

Info: TypeAlias = StrawberryInfo[Context, None]


def actor_of(info: Info) -> Actor:
    """The verified caller of a field with a scope permission, and where it called from."""
    principal = info.context.principal
    assert principal is not None  # every field that acts declares a scope permission
    origin = Origin.of(info.context.request)
    return Actor(principal=principal, request_id=origin.request_id, source_ip=origin.source_ip)
