"""``prakerja-gateway documents``: register a client's trusted documents, list them, and set
the client "registered documents only".

``register --client ID FILE...`` reads each ``.graphql`` file as one document, byte for byte
(its id is ``sha256:`` + ``sha256sum FILE``); a ``.json`` file is a manifest of documents by
id, as graphql-codegen's client preset writes it (``persistedDocuments: true``): each id
must be the hash of its text. Every document is validated and costed first; nothing is
registered unless all of them pass. Audited, with the operator as the OS user.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import GatewayError
from gateway.identity_cli import operator_origin, run_admin
from resolvers import documents as document_resolvers
from resolvers.documents import DocumentRecord, NewDocument, Registration
from schema.trusted import DOCUMENT_ID_PREFIX, analyze, document_sha256


class DocumentFileError(Exception):
    pass


def read_documents(paths: list[str]) -> list[tuple[str, str]]:
    """(where it came from, text) for every document in the files."""
    found: list[tuple[str, str]] = []
    for name in paths:
        path = Path(name)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DocumentFileError(f"{name}: cannot read it as UTF-8 text ({exc})") from None
        if path.suffix != ".json":
            found.append((name, text))
            continue
        try:
            manifest = json.loads(text)
        except ValueError:
            raise DocumentFileError(f"{name}: not a JSON manifest of documents") from None
        if not isinstance(manifest, dict):
            raise DocumentFileError(f"{name}: a manifest maps document ids to documents")
        for key, body in manifest.items():
            if not isinstance(body, str):
                raise DocumentFileError(f"{name}: {key} is not a document's text")
            if key.removeprefix(DOCUMENT_ID_PREFIX).lower() != document_sha256(body):
                raise DocumentFileError(f"{name}: {key} is not the SHA-256 of its document")
            found.append((f"{name}#{key}", body))
    return found


def cmd_documents_register(settings: object, url: str, args: argparse.Namespace) -> int:
    try:
        documents = read_documents(args.files)
    except DocumentFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from schema.root import schema  # the whole schema: loaded only by the commands that need it

    analysed: list[tuple[str, NewDocument]] = []
    for where, text in documents:
        try:
            analysed.append((where, analyze(schema._schema, text)))
        except GatewayError as refused:
            print(f"error: {where}: {refused.code}: {refused.message}", file=sys.stderr)
            return 2
    origin = operator_origin()

    async def work(session: AsyncSession) -> list[Registration]:
        return [
            await document_resolvers.register_document(
                session,
                document,
                client_id=args.client,
                operator=origin.operator,
                request_id=origin.request_id,
            )
            for _, document in analysed
        ]

    try:
        registrations = run_admin(url, work)
    except GatewayError as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 2
    for (where, _), registration in zip(analysed, registrations, strict=True):
        state = "registered" if registration.created else "already registered"
        print(f"{_line(registration.document)}  {state}  {where}")
    return 0


def cmd_documents_list(settings: object, url: str, args: argparse.Namespace) -> int:
    async def work(session: AsyncSession) -> list[DocumentRecord]:
        records: list[DocumentRecord] = []
        after: int | None = None
        while True:
            page = await document_resolvers.list_documents(
                session, args.client, after_id=after, limit=500
            )
            records.extend(page)
            if len(page) < 500:
                return records
            after = page[-1].id

    try:
        records = run_admin(url, work)
    except GatewayError as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 2
    for record in records:
        print(_line(record))
    print(f"{len(records)} document(s) registered for {args.client}")
    return 0


def cmd_documents_require(settings: object, url: str, args: argparse.Namespace) -> int:
    origin = operator_origin()
    registered_only = not args.off

    async def work(session: AsyncSession) -> bool:
        return await document_resolvers.set_registered_only(
            session,
            args.client,
            registered_only,
            operator=origin.operator,
            request_id=origin.request_id,
        )

    try:
        run_admin(url, work)
    except GatewayError as refused:
        print(f"error: {refused.message}", file=sys.stderr)
        return 2
    if registered_only:
        print(f"client {args.client} runs its registered documents only")
    else:
        print(f"client {args.client} may run any document")
    return 0


def add_documents_commands(commands: Any, with_url: Callable[[Any], Any]) -> None:
    """Registers ``documents register|list|require``; ``with_url`` wraps each handler."""
    documents = commands.add_parser("documents", help="a client's trusted (registered) documents")
    verbs = documents.add_subparsers(dest="documents_command", required=True)
    register = verbs.add_parser(
        "register", help="register .graphql files (one document each) or a JSON manifest"
    )
    register.add_argument("--client", required=True, help="the OAuth client id")
    register.add_argument("files", nargs="+", metavar="FILE")
    register.set_defaults(handler=with_url(cmd_documents_register))
    listing = verbs.add_parser("list", help="the documents registered for a client")
    listing.add_argument("--client", required=True)
    listing.set_defaults(handler=with_url(cmd_documents_list))
    require = verbs.add_parser(
        "require", help="let a client run its registered documents only (--off: any document)"
    )
    require.add_argument("--client", required=True)
    require.add_argument("--off", action="store_true", help="allow any document again")
    require.set_defaults(handler=with_url(cmd_documents_require))


def _line(record: DocumentRecord) -> str:
    operations = ",".join(record.operation_names) or "(anonymous)"
    return f"{DOCUMENT_ID_PREFIX}{record.sha256}  cost {record.cost:>5}  {operations}"
