"""catalog search: a search's expansion in the vocabulary can be given back, checked by version

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-01 05:00:00.000000

A search starts by expanding its words: each query word is compared by trigrams with the
vocabulary, and the closest words, with the share of the query each one holds, are its
hits. That stage depends on the query text and the vocabulary only, and it is a quarter of
the search function's database time (bench/README.md). The same texts are searched again
and again, so the gateway keeps the hits of a text (``resolvers.search_expansions``) and
gives them back to the search, which uses them only if the vocabulary is still the one
they were worked out from; otherwise it works them out again itself. A stale expansion
costs time, never a wrong answer.

- ``search_vocabulary_version``: one row whose ``version`` changes in the transaction that
  adds a word to the vocabulary: a hash of the last version and the words added, so that a
  version names one vocabulary, in any database, clone or restored copy.
- ``prakerja_search_hits(query)``: the expansion stage, as migration 0028 wrote it, on its
  own; the gateway reads it with the version in one statement (one snapshot).
- ``prakerja_search_courses(query, given_version, given_asked, given_words, given_shares)``:
  the hits given when ``given_version`` is the current version, else the expansion of
  ``query``; what follows the hits is migration 0028's, unchanged. Called with the text
  alone, it is the search it was.
"""

from collections.abc import Sequence

from alembic import op

from core.db.migrate import revision_module

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_previous = revision_module("0028_search_vectors.py")
# 0028's search, cut where the hits end: its settings and constants come before the cut,
# its ranking after it. The cut is asserted so that a different text fails here, not later.
_HEAD, _REST = _previous._SEARCH.split("    RETURN QUERY\n", 1)
_EXPANSION, _RANKING = _REST.split("    ), best AS (\n", 1)
assert _EXPANSION.lstrip().startswith("WITH asked AS (") and "near.similarity" in _EXPANSION

# 0028's settings (the trigram threshold, the plan choices), which the expansion needs too.
_SETTINGS = "".join(f"{line}\n" for line in _HEAD.splitlines() if line.startswith("SET "))
assert _SETTINGS.count("SET ") == 3

# 0028's expansion as a query of its own: the same CTEs, without the tsquery of each hit
# (the search makes it from the word, given or not).
_EXPANSION_ONLY = _EXPANSION.replace("hits AS MATERIALIZED (", "hits AS (", 1).replace(
    " quote_literal(near.word)::tsquery AS found,", "", 1
)
assert "found" not in _EXPANSION_ONLY

# Only the module's and 0028's constants are joined in.
_HITS = (
    "CREATE FUNCTION prakerja_search_hits(query text)\n"  # noqa: S608
    "RETURNS TABLE (asked_word text, word text, share double precision)\n"
    "LANGUAGE plpgsql STABLE ROWS 16\n"
    + _SETTINGS
    + "AS $$\nBEGIN\n    RETURN QUERY\n"
    + _EXPANSION_ONLY
    + "    )\n    SELECT h.asked_word, h.word, h.share FROM hits AS h;\nEND\n$$\n"
)


_GIVEN_HEAD = """
CREATE FUNCTION prakerja_search_courses(
    query text,
    given_version uuid DEFAULT NULL,
    given_asked text[] DEFAULT NULL,
    given_words text[] DEFAULT NULL,
    given_shares double precision[] DEFAULT NULL)
"""

# The given hits, or the expansion: one branch runs, chosen once per call by the version.
_GIVEN_HITS = """    WITH current_version AS (
        SELECT v.version FROM search_vocabulary_version AS v WHERE v.id = 1
    ), hits AS MATERIALIZED (
        SELECT x.asked_word, x.word, quote_literal(x.word)::tsquery AS found, x.share
          FROM (SELECT g.asked_word, g.word, g.share
                  FROM unnest(given_asked, given_words, given_shares) AS g(asked_word, word, share)
                 WHERE given_version = (SELECT version FROM current_version)
                UNION ALL
                SELECT h.asked_word, h.word, h.share
                  FROM prakerja_search_hits(query) AS h
                 WHERE given_version IS DISTINCT FROM (SELECT version FROM current_version)
               ) AS x
"""

_SEARCH = (
    _GIVEN_HEAD
    + "RETURNS TABLE"
    + _HEAD.split("RETURNS TABLE", 1)[1]
    + "    RETURN QUERY\n"
    + _GIVEN_HITS
    + "    ), best AS (\n"
    + _RANKING
)

# A word added makes a new version: the last one and the words added, hashed. The same
# vocabulary history gives the same version (a database seeded twice is the same twice),
# and two histories never share one: a version names one vocabulary. The vocabulary only
# grows (its words are never deleted but by a migration).
_LEARN = """
CREATE OR REPLACE FUNCTION prakerja_learn_search_words() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
BEGIN
    WITH added AS (
        INSERT INTO search_vocabulary (word)
        SELECT DISTINCT word FROM written, unnest(tsvector_to_array(written.search_words)) AS word
         ORDER BY word
        ON CONFLICT (word) DO NOTHING
        RETURNING word
    )
    UPDATE search_vocabulary_version AS v
       SET version = md5(v.version::text || (SELECT string_agg(a.word, ' ' ORDER BY a.word)
                                                FROM added AS a))::uuid
     WHERE v.id = 1 AND EXISTS (SELECT FROM added);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(
        "CREATE TABLE search_vocabulary_version ("
        " id smallint CONSTRAINT pk_search_vocabulary_version PRIMARY KEY"
        " CONSTRAINT ck_search_vocabulary_version_one_row CHECK (id = 1),"
        " version uuid NOT NULL)"
    )
    op.execute(
        "INSERT INTO search_vocabulary_version (id, version)"
        " SELECT 1, md5(coalesce(string_agg(word, ' ' ORDER BY word), ''))::uuid"
        " FROM search_vocabulary"
    )
    op.execute("GRANT SELECT ON search_vocabulary_version TO prakerja_app")
    op.execute(_LEARN)
    op.execute(_HITS)
    op.execute("DROP FUNCTION prakerja_search_courses(text)")
    op.execute(_SEARCH)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION prakerja_search_courses(text, uuid, text[], text[], double precision[])"
    )
    op.execute(_previous._SEARCH)
    op.execute("DROP FUNCTION prakerja_search_hits(text)")
    op.execute(_previous._LEARN)
    op.execute("DROP TABLE search_vocabulary_version")
