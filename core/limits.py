"""Sizes the API promises, used by the columns that store them and the checks that guard them.

A code longer than its column could never match a row, so inputs are refused at the same
length the column has; keeping both here means they cannot drift apart.
"""

from __future__ import annotations

from typing import Final

# Partner codes: DP-001, LP-0001, PP-001, DISNAKER-3171, PMO.
PARTNER_CODE_LENGTH: Final = 32
# Course codes (a provider's own, e.g. LP0001-C0001).
COURSE_CODE_LENGTH: Final = 32
# Codes the programme issues: schedule, transaction, redeem, certificate, batch.
PROGRAMME_CODE_LENGTH: Final = 40
# References a partner chooses: invoice codes, its users' ids, client ids.
PARTNER_REFERENCE_LENGTH: Final = 64

# A GraphQL document is refused past this many lexical tokens, wherever it is parsed
# (validation, the response cache's classification, the idempotency check).
DOCUMENT_MAX_TOKENS: Final = 4000

# A GraphQL document is refused past this many bytes before the lexer sees it: comments and
# whitespace are not tokens, so the token limit alone does not bound the parser's work.
DOCUMENT_MAX_BYTES: Final = 64 * 1024
# JSON nesting a request body (variables included) may have; deeper is refused before
# anything walks it recursively.
JSON_MAX_DEPTH: Final = 64

# The longest word a catalog search keeps, in the catalog's text and in a query (the
# migration 0028's prakerja_words writes the same bound; tests/catalog/test_search_words.py
# searches for a word this long and one a letter longer).
SEARCH_WORD_MAX_LENGTH: Final = 64
