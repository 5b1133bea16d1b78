"""The typed GraphQL context built once per request by the view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    # Settings.compiled_reads: may the compiled reads (schema/compiled) answer their fields?
    compiled_reads: bool = True
    # The root fields the compiled read answered (schema.compiled.extension.CompiledRoot),
    # when the view is recording a document for the compiled-document cache; else None.
    compiled_roots: list[Any] | None = None
