"""Calls by document id, and clients that may run registered documents only.

A request names a registered document in one of two forms:

* ``"documentId": "sha256:<hex>"`` (GraphQL over HTTP, persisted documents; POST body or GET
  parameter). An id not registered for the caller is 404 ``PERSISTED_QUERY_NOT_FOUND``.
* ``"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`` (Apollo's
  automatic persisted queries). Without a query, an unknown hash answers HTTP 200 with
  ``PERSISTED_QUERY_NOT_FOUND`` (message ``PersistedQueryNotFound``), on which Apollo
  clients send the query with the hash. With a query, the hash must be the query's
  (else 400 ``DOCUMENT_HASH_MISMATCH``, nothing runs); a registered one runs as registered.
  An unregistered one runs as an ad-hoc document and is remembered **in this process only**
  (bounded, ``APQ_ENTRIES``), so the client's next hash-only call here needs no query:
  automatic registration never writes the trusted list, which only programme management
  does, and a process that does not know the hash simply asks for the query again.

A client set "registered documents only" runs its registered documents and nothing else:
any other document, sent whole or through Apollo's registration, is 403
``DOCUMENT_NOT_REGISTERED`` (the exact text of a registered document sent as ``query`` is
that document, and runs). The flag rides on the caller's principal, which every process
drops when the flag changes (the identity notification).

Registered documents are read from PostgreSQL and held per process while the listener hears
``NOTIFY prakerja_documents`` (migration 0016): a registration or removal anywhere empties
every process's copy. A client's documents are its own: another client's id answers as an
unknown one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace

from starlette.requests import Request

from core.db.notified_cache import NotifiedCache
from core.errors import ErrorCode
from core.principal import Principal
from gateway.request_body import GraphQLRequest
from resolvers.documents import DocumentRecord, find_document
from schema.documents import try_parse
from schema.trusted import document_sha256, parse_document_id

DOCUMENTS_CHANNEL = "prakerja_documents"
DOCUMENT_ENTRIES = 4096
APQ_ENTRIES = 1024


class DocumentRefused(Exception):
    def __init__(self, code: ErrorCode, message: str, *, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class RegisteredDocuments(NotifiedCache):
    """The registered documents this process has read, by (client id, hash)."""

    def __init__(self, *, max_entries: int = DOCUMENT_ENTRIES) -> None:
        super().__init__()
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], DocumentRecord] = OrderedDict()
        # Read from the database (not from here): what a test reads to see who answered.
        self.reads = 0

    def changed(self, payload: str) -> None:
        self.invalidate()

    def _clear(self) -> None:
        self._entries.clear()

    def get(self, key: tuple[str, str]) -> DocumentRecord | None:
        if not self._live:
            return None
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], record: DocumentRecord, *, generation: int) -> None:
        if not self._live or generation != self._generation:
            return
        self._entries[key] = record
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class AutomaticPersistedQueries:
    """Apollo's automatic registrations of ad-hoc documents: this process's memory only."""

    def __init__(self, *, max_entries: int = APQ_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str], str] = OrderedDict()

    def get(self, key: tuple[str, str]) -> str | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: tuple[str, str], query: str) -> None:
        self._entries[key] = query
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


async def _registered(request: Request, client_id: str, sha256: str) -> DocumentRecord | None:
    store: RegisteredDocuments = request.app.state.registered_documents
    key = (client_id, sha256)
    found = store.get(key)
    if found is not None:
        return found
    generation = store.generation
    store.reads += 1
    async with request.app.state.database.sessionmaker() as session:
        found = await find_document(session, client_id, sha256)
    if found is not None:
        store.put(key, found, generation=generation)
    return found


def _runs(read: GraphQLRequest, record: DocumentRecord) -> GraphQLRequest:
    return replace(read, query=record.body, document=try_parse(record.body), trusted=record)


async def resolve(request: Request, read: GraphQLRequest, principal: Principal) -> GraphQLRequest:
    """The request with the document it runs; ``DocumentRefused`` when it may run none."""
    client_id = principal.client_id
    only = principal.registered_documents_only
    if read.document_id is not None:
        sha256 = parse_document_id(read.document_id)
        if sha256 is None:
            raise DocumentRefused(
                ErrorCode.BAD_REQUEST,
                "documentId must be sha256: followed by 64 hexadecimal digits",
                status=400,
            )
        record = await _registered(request, client_id, sha256)
        if record is None:
            raise DocumentRefused(
                ErrorCode.PERSISTED_QUERY_NOT_FOUND,
                f"no document {read.document_id} is registered for this client",
                status=404,
            )
        return _runs(read, record)
    apq: AutomaticPersistedQueries = request.app.state.automatic_persisted_queries
    if read.persisted_hash is not None:
        key = (client_id, read.persisted_hash)
        if not read.query:
            record = await _registered(request, client_id, read.persisted_hash)
            if record is not None:
                return _runs(read, record)
            remembered = None if only else apq.get(key)
            if remembered is not None:
                return replace(read, query=remembered, document=try_parse(remembered))
            # Apollo clients look for this message or code, then send the query as well.
            raise DocumentRefused(
                ErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound", status=200
            )
        if document_sha256(read.query) != read.persisted_hash:
            raise DocumentRefused(
                ErrorCode.DOCUMENT_HASH_MISMATCH,
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent",
                status=400,
            )
        record = await _registered(request, client_id, read.persisted_hash)
        if record is not None:
            return _runs(read, record)
        if only:
            raise _not_registered()
        apq.put(key, read.query)
        return read
    if only:
        record = await _registered(request, client_id, document_sha256(read.query))
        if record is None:
            raise _not_registered()
        return _runs(read, record)
    return read


def _not_registered() -> DocumentRefused:
    return DocumentRefused(
        ErrorCode.DOCUMENT_NOT_REGISTERED,
        "this client runs registered documents only: register this document "
        "(registerDocument, or prakerja-gateway documents register) and call it by its id",
        status=403,
    )
