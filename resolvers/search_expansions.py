"""What a search text expands to in the vocabulary, kept per process and given back.

A search first expands its words: each one is compared by trigrams with the vocabulary,
and the closest words, each with the share of the query it holds, are the hits (migration
0030's ``prakerja_search_hits``). The hits depend on the text and the vocabulary only, the
same texts are searched again and again, and working them out is about a quarter of the
search's database time. So the page statement is given the hits of its text when this
process has them, with the version of the vocabulary they were worked out under; the
search uses them only if that version is still the current one, else expands the text
itself. A stale entry costs time, never a wrong answer: the rule stays the database's.

An entry is kept for ``EXPANSION_TTL_SECONDS`` (a word added to the vocabulary makes the
entries before it stale: they are fetched again that much later at most) and at most
``EXPANSIONS_KEPT`` texts are kept, the least recently searched going first. A text not
kept costs one more statement, which reads the hits and the version in one snapshot.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Float, Select, Text, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.session import execute_core
from core.models import SearchVocabularyVersion

EXPANSIONS_KEPT: Final = 1024
EXPANSION_TTL_SECONDS: Final = 10.0

# The page statement's parameters that carry an expansion, all NULL when none is given.
VERSION: Final = "q_version"
ASKED: Final = "q_asked"
WORDS: Final = "q_words"
SHARES: Final = "q_shares"
TEXT_ARRAY: Final = ARRAY(Text)
SHARE_ARRAY: Final = ARRAY(Float(precision=53))


@dataclass(frozen=True, slots=True)
class Expansion:
    """A text's hits, as three parallel lists, under a version of the vocabulary."""

    version: uuid.UUID
    asked: list[str]
    words: list[str]
    shares: list[float]
    fetched_at: float

    def parameters(self) -> dict[str, Any]:
        return {VERSION: self.version, ASKED: self.asked, WORDS: self.words, SHARES: self.shares}


def _expansion_statement() -> Select[*tuple[Any, ...]]:
    hits = (
        func.prakerja_search_hits(bindparam("q", type_=Text))
        .table_valued(column("asked_word", Text), column("word", Text), column("share", Float))
        .alias("hits")
    )
    version = (
        select(SearchVocabularyVersion.version)
        .where(SearchVocabularyVersion.id == 1)
        .scalar_subquery()
    )
    return select(
        version.label("version"),
        func.array_agg(hits.c.asked_word).label("asked"),
        func.array_agg(hits.c.word).label("words"),
        func.array_agg(hits.c.share).label("shares"),
    ).select_from(hits)


class SearchExpansions:
    """The expansions of the texts this process searched last."""

    def __init__(self, kept: int = EXPANSIONS_KEPT, ttl: float = EXPANSION_TTL_SECONDS) -> None:
        self.kept = kept
        self.ttl = ttl
        self._entries: OrderedDict[str, Expansion] = OrderedDict()
        self._statement = _expansion_statement()  # built once: its text is a parameter

    async def parameters(self, session: AsyncSession, text: str) -> dict[str, Any]:
        """The page statement's expansion parameters for ``text``, fetched when not kept."""
        entry = self._entries.get(text)
        now = time.monotonic()
        if entry is None or now - entry.fetched_at > self.ttl:
            entry = await self._fetch(session, text, now)
        else:
            self._entries.move_to_end(text)
        return entry.parameters()

    async def _fetch(self, session: AsyncSession, text: str, now: float) -> Expansion:
        result: Any = await execute_core(session, self._statement, {"q": text})
        version, asked, words, shares = result.one()
        entry = Expansion(version, asked or [], words or [], shares or [], now)
        self._entries[text] = entry
        self._entries.move_to_end(text)
        while len(self._entries) > self.kept:
            self._entries.popitem(last=False)
        return entry


# One per process: the entries hold no one's data (the vocabulary is the public catalog's).
SEARCH_EXPANSIONS: Final = SearchExpansions()
