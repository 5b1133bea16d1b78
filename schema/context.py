"""The typed GraphQL context built once per request by the view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from core.db.session import SerializedAsyncSession
from core.principal import Principal

if TYPE_CHECKING:
    from resolvers.certificates.credentials import Issuer
    from resolvers.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response
    # The request's one session: resolvers run SQL on it; the view commits it.
    session: SerializedAsyncSession
    loaders: Loaders
    # The programme as issuer of certificates (its URLs and keys), one per process.
    certificate_issuer: Issuer = field(kw_only=True)
    principal: Principal | None = None
    request_id: str | None = None
    # Settings.catalog_fast_path: may the compiled read (schema/compiled) answer `courses`?
    catalog_fast_path: bool = True
