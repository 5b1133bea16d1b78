"""The one rule for text a client sends: what PostgreSQL and UTF-8 can hold, or a refusal.

PostgreSQL's text and jsonb cannot store a NUL character, and a lone UTF-16 surrogate has no
UTF-8 form: either would fail deep inside a statement as an unexpected error. They are the
client's mistake, so they are refused where strings enter the gateway, before any SQL.
"""

from __future__ import annotations


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be accepted as text, or None when it can."""
    if "\x00" in value:
        return "text must not contain the NUL character (U+0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text must not contain a lone UTF-16 surrogate (U+D800-U+DFFF)"
    return None
