"""The resolver ``info`` type every schema module uses."""

from typing import TypeAlias

from strawberry.types import Info as StrawberryInfo

from gateway.context import Context

Info: TypeAlias = StrawberryInfo[Context, None]
