"""The typed GraphQL context built once per request by the view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from core.principal import Principal

if TYPE_CHECKING:
    from resolvers.certificates.credentials import Issuer
    from resolvers.loaders import Loaders


@dataclass
class Context:
    request: Request
    response: Response
    session: AsyncSession
    loaders: Loaders
    # The programme as issuer of certificates (its URLs and keys), one per process.
    certificate_issuer: Issuer = field(kw_only=True)
    principal: Principal | None = None
    request_id: str | None = None
    # Settings.catalog_fast_path: may schema.fast_path answer the courses query?
    catalog_fast_path: bool = True
    # Set by the view when the operation produced errors: the transaction is rolled back...
    failed: bool = field(default=False)
    # ...unless a resolver refused on purpose after recording why (a wrong OTP counts as a
    # try): then what it wrote before raising commits with the refusal.
    refusal_recorded: bool = field(default=False)

    def keep_writes_despite_refusal(self) -> None:
        self.refusal_recorded = True
