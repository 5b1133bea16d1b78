"""The calling partner as the gateway sees it: who the token speaks for, with which scopes."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry

from auth.permissions import IsAuthenticated
from core.errors import ErrorCode, GatewayError
from resolvers.partners import PartnerRecord, partner_by_id
from schema.catalog import PartnerTypeEnum
from schema.info import Info


@strawberry.type(description="The partner and client an access token was issued to.")
class Viewer:
    code: str = strawberry.field(description="The partner's programme code, e.g. DP-001.")
    name: str
    type: PartnerTypeEnum  # type: ignore[valid-type]
    client_id: str = strawberry.field(description="The OAuth client that obtained the token.")
    scopes: list[str] = strawberry.field(description="Scopes the token holds, sorted.")

    @classmethod
    def from_record(cls, record: PartnerRecord, *, client_id: str, scopes: Iterable[str]) -> Viewer:
        return cls(
            code=record.code,
            name=record.name,
            type=record.type,
            client_id=client_id,
            scopes=sorted(scopes),
        )


@strawberry.type
class PartnerQuery:
    @strawberry.field(
        description="Who is calling: any valid token may ask.",
        permission_classes=[IsAuthenticated],
    )
    async def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        assert principal is not None  # IsAuthenticated ran first
        partner = await partner_by_id(info.context.session, principal.partner_id)
        if partner is None:  # deleted while the token lived
            raise GatewayError(ErrorCode.UNAUTHENTICATED, "the token's partner is gone")
        return Viewer.from_record(partner, client_id=principal.client_id, scopes=principal.scopes)
