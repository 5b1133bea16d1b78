"""Who is calling: the verified identity a request carries into GraphQL."""

from __future__ import annotations

from dataclasses import dataclass

from core.enums import PartnerType


@dataclass(frozen=True, slots=True)
class Principal:
    """A partner's client, as proven by a verified access token."""

    client_id: str
    partner_id: int
    partner_type: PartnerType
    scopes: frozenset[str]
    token_id: str
    # Set for regional offices only: the one regency they act for.
    regency_id: int | None = None
    # The partner's programme code (the token's ``sub``), e.g. DP-001.
    partner_code: str = ""
    # The client runs its registered (trusted) documents only (gateway/trusted_documents.py).
    registered_documents_only: bool = False

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def is_a(self, partner_type: PartnerType) -> bool:
        return self.partner_type is partner_type
