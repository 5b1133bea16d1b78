"""Random documents from the introspected schema, sent as each partner type; what broke.

Each document calls one root field (query or mutation) with random arguments: valid,
edge and hostile values for every scalar (custom ``Rupiah``, ``Date`` and ``DateTime``
included), sometimes as variables and sometimes inline, with a random selection below it.
A run counts what must never happen: a 5xx, an answer that is not JSON, an
``INTERNAL_ERROR`` in an answer, and an error logged by the gateway.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from graphql import GraphQLSchema

from tests.fuzz.schema_model import _literal, call, root_fields


@dataclass
class Counts:
    documents: int = 0
    server_errors: int = 0
    not_json: int = 0
    internal_errors: int = 0
    logged_errors: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


class _ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def document(schema: GraphQLSchema, rng: random.Random) -> dict[str, Any]:
    root, name, graphql_field = rng.choice(root_fields(schema))
    probe = call(root, name, graphql_field, rng)
    if rng.random() < 0.3 and probe.variables:
        # The same call with its arguments inline instead of as variables.
        operation = "mutation" if root == "Mutation" else "query"
        args = ", ".join(f"{k}: {_literal(v)}" for k, v in probe.variables.items())
        selection = probe.document.split(f"{name}(", 1)[-1].split(")", 1)[-1]
        return {"query": f"{operation} {{ {name}({args}) {selection}"}
    return {"query": probe.document, "variables": probe.variables}


async def run(
    http: httpx.AsyncClient,
    schema: GraphQLSchema,
    headers: dict[str, str],
    *,
    count: int,
    seed: int,
    counts: Counts | None = None,
) -> Counts:
    counts = counts or Counts()
    rng = random.Random(seed)
    handler = _ErrorCounter()
    logging.getLogger().addHandler(handler)
    try:
        for _ in range(count):
            payload = document(schema, rng)
            body = json.dumps(payload).encode()
            response = await http.post(
                "/graphql",
                content=body,
                headers={**headers, "content-type": "application/json"},
            )
            counts.documents += 1
            counts.statuses[response.status_code] += 1
            if response.status_code >= 500:
                counts.server_errors += 1
            try:
                answer = response.json()
            except ValueError:
                counts.not_json += 1
                continue
            for error in answer.get("errors") or ():
                code = (error.get("extensions") or {}).get("code", "?")
                counts.codes[code] += 1
                if code == "INTERNAL_ERROR":
                    counts.internal_errors += 1
                    if len(counts.examples) < 10:
                        counts.examples.append(json.dumps(payload)[:2000])
    finally:
        logging.getLogger().removeHandler(handler)
    counts.logged_errors += handler.count
    return counts
