"""Trusted documents: a client's registered GraphQL documents, and its registered-only flag.

Documents belong to one OAuth client (one deployed application of a partner), not to the
partner: the "registered documents only" flag is a client's, and the list it enforces is
exactly what was registered for that client, so a partner's other clients (a staging app, a
reporting script) never widen a production client's list. Another client's document is not
there for a caller: calling its id answers as for an unknown id (no way to learn whether
someone else registered a text).

What the GraphQL side works out once per document (operations, static cost, the schema it
was validated against) is stored with it; PostgreSQL is the one source of truth, every
gateway process holds what it read only while ``NOTIFY prakerja_documents`` tells it of
changes (migration 0016, ``gateway/trusted_documents.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.errors import NotFound
from core.models import OAuthClient, TrustedDocument


@dataclass(frozen=True, kw_only=True)
class NewDocument:
    """A document as the schema layer checked it: valid, its operations and cost known."""

    sha256: str
    body: str
    operation_names: tuple[str, ...]
    cost: int
    page_variables: tuple[str, ...]
    schema_sha256: str


@dataclass(frozen=True, kw_only=True)
class DocumentRecord:
    id: int
    client_id: str
    sha256: str
    body: str
    operation_names: tuple[str, ...]
    cost: int
    page_variables: tuple[str, ...]
    schema_sha256: str
    registered_by: str
    registered_at: datetime

    @classmethod
    def of(cls, row: Any, client_id: str) -> DocumentRecord:
        return cls(
            id=row.id,
            client_id=client_id,
            sha256=row.sha256,
            body=row.body,
            operation_names=tuple(row.operation_names),
            cost=row.cost,
            page_variables=tuple(row.page_variables),
            schema_sha256=row.schema_sha256,
            registered_by=row.registered_by,
            registered_at=row.registered_at,
        )


@dataclass(frozen=True, kw_only=True)
class Registration:
    document: DocumentRecord
    created: bool  # False: the client had it already (registering again changes nothing)


_COLUMNS = (
    TrustedDocument.id,
    TrustedDocument.sha256,
    TrustedDocument.body,
    TrustedDocument.operation_names,
    TrustedDocument.cost,
    TrustedDocument.page_variables,
    TrustedDocument.schema_sha256,
    TrustedDocument.registered_by,
    TrustedDocument.registered_at,
)


async def _client_pk(session: AsyncSession, client_id: str) -> int:
    pk = await session.scalar(select(OAuthClient.id).where(OAuthClient.client_id == client_id))
    if pk is None:
        raise NotFound("client", client_id)
    return int(pk)


async def register_document(
    session: AsyncSession,
    document: NewDocument,
    *,
    client_id: str,
    actor: Actor | None = None,
    operator: str | None = None,
    request_id: str | None = None,
) -> Registration:
    """Registers a document for a client; the same text again is the same row, unchanged."""
    client_pk = await _client_pk(session, client_id)
    registered_by = actor.client_id if actor is not None else f"cli:{operator or 'unknown'}"
    inserted = (
        await session.execute(
            insert(TrustedDocument)
            .values(
                client_pk=client_pk,
                sha256=document.sha256,
                body=document.body,
                operation_names=list(document.operation_names),
                cost=document.cost,
                page_variables=list(document.page_variables),
                schema_sha256=document.schema_sha256,
                registered_by=registered_by[:64],
            )
            .on_conflict_do_nothing(index_elements=["client_pk", "sha256"])
            .returning(*_COLUMNS)
        )
    ).one_or_none()
    if inserted is None:
        existing = await find_document(session, client_id, document.sha256)
        assert existing is not None  # the conflict was this very row
        return Registration(document=existing, created=False)
    await record_audit(
        session,
        action="document.registered",
        actor=actor,
        request_id=request_id,
        entity_type="trusted_document",
        entity_id=inserted.id,
        after={
            "client_id": client_id,
            "sha256": document.sha256,
            "operations": list(document.operation_names),
            "cost": document.cost,
        },
        detail=None if operator is None else {"operator": operator},
    )
    return Registration(document=DocumentRecord.of(inserted, client_id), created=True)


async def find_document(
    session: AsyncSession, client_id: str, sha256: str
) -> DocumentRecord | None:
    """The client's own document with this hash; another client's is not found."""
    row = (
        await session.execute(
            select(*_COLUMNS)
            .join(OAuthClient, OAuthClient.id == TrustedDocument.client_pk)
            .where(OAuthClient.client_id == client_id, TrustedDocument.sha256 == sha256)
        )
    ).one_or_none()
    return None if row is None else DocumentRecord.of(row, client_id)


async def list_documents(
    session: AsyncSession, client_id: str, *, after_id: int | None, limit: int
) -> list[DocumentRecord]:
    """A page of the client's documents in registration order (keyset on the id)."""
    client_pk = await _client_pk(session, client_id)
    statement = select(*_COLUMNS).where(TrustedDocument.client_pk == client_pk)
    if after_id is not None:
        statement = statement.where(TrustedDocument.id > after_id)
    rows = await session.execute(statement.order_by(TrustedDocument.id).limit(limit))
    return [DocumentRecord.of(row, client_id) for row in rows]


async def set_registered_only(
    session: AsyncSession,
    client_id: str,
    registered_only: bool,
    *,
    actor: Actor | None = None,
    operator: str | None = None,
    request_id: str | None = None,
) -> bool:
    """Sets a client's "registered documents only" flag (audited when it changes)."""
    before = await session.scalar(
        select(OAuthClient.registered_documents_only)
        .where(OAuthClient.client_id == client_id)
        .with_for_update()
    )
    if before is None:
        raise NotFound("client", client_id)
    if before != registered_only:
        # The identity trigger (0004, widened in 0016) tells every process at commit: the
        # principals they hold carry the old flag.
        await session.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == client_id)
            .values(registered_documents_only=registered_only)
        )
        await record_audit(
            session,
            action="client.registered_documents_only",
            actor=actor,
            request_id=request_id,
            entity_type="oauth_client",
            entity_id=client_id,
            before={"registered_documents_only": before},
            after={"registered_documents_only": registered_only},
            detail=None if operator is None else {"operator": operator},
        )
    return registered_only
