"""Every time a compiled read gives way to the normal path, counted by field and reason.

A fallback is never an error: the normal path answers the same. But a field that falls
back on every request has lost its speed, so each one is counted here (for a metrics
exporter to publish) and logged: the first time a (field, reason, detail) is seen at INFO,
later ones at DEBUG, so a partner repeating one document cannot flood the log.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from enum import StrEnum
from typing import Final

logger = logging.getLogger("schema.compiled")

_DETAILS_REMEMBERED: Final = 4096  # distinct (field, reason, detail) logged at INFO


class FallbackReason(StrEnum):
    """Why a selection took the normal path. The values are the counter's labels; the
    resolvers' refusals (``resolvers.compiled_reads.CompiledReadRefused``) use the same
    words for ``ARGUMENT`` and ``RELATION``."""

    DISABLED = "disabled"  # PRAKERJA_COMPILED_READS=false (it switches every compiled read)
    PERMISSION = "permission"  # a selected field has a permission class
    EXTENSION = "extension"  # a selected field has a field extension
    DIRECTIVE = "directive"  # an executable directive, or a schema directive on a field
    RESOLVER = "resolver"  # a field with a resolver the compiler was not told about
    UNDECLARED = "undeclared"  # a field of a record type without a column declaration
    UNKNOWN_FIELD = "unknown_field"  # a field the type does not have
    UNSUPPORTED_TYPE = "unsupported_type"  # an interface, union or unknown scalar
    ARGUMENT = "argument"  # arguments the plan cannot take (differing, null, out of range)
    RELATION = "relation"  # a related list the read does not join
    # A document with a compiled root field that is not kept as a compiled document
    # (schema.compiled.documents): other root fields beside it, errors, other extensions.
    DOCUMENT = "document"
    # A compiled document's replay that refused (a GatewayError such as an unknown code
    # in a filter): the normal path answers it, with its own error.
    REPLAY = "replay"


class FallbackCounter:
    """Counts per (field coordinate such as ``Query.courses``, reason)."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._logged: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def record(self, field: str, reason: str, detail: str = "") -> None:
        with self._lock:
            self._counts[(field, reason)] += 1
            first = (field, reason, detail) not in self._logged
            if first and len(self._logged) < _DETAILS_REMEMBERED:
                self._logged.add((field, reason, detail))
        logger.log(
            logging.INFO if first else logging.DEBUG,
            "compiled read of %s falls back to the normal path: %s%s",
            field,
            reason,
            f" ({detail})" if detail else "",
            extra={"field": field, "fallback_reason": reason, "fallback_detail": detail},
        )

    def count(self, field: str, reason: str) -> int:
        with self._lock:
            return self._counts[(field, reason)]

    def snapshot(self) -> dict[tuple[str, str], int]:
        """Every count so far, for an exporter."""
        with self._lock:
            return dict(self._counts)


FALLBACKS: Final = FallbackCounter()
