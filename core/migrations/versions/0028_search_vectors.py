"""catalog search: words kept as tsvectors, no word too long to index, a leaner search

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01 01:30:00.000000

Three changes to what migration 0027 built, none to what a search finds or how it ranks:

- ``prakerja_words`` leaves out words longer than 64 characters. A description may hold
  10,000 characters, and one run of letters and digits longer than about 2,700 bytes made
  the course's write fail on the words' GIN index ("index row size exceeds maximum"). No
  word a partner searches for is that long, and a query word that long matched nothing.
- A course's and a partner's words are a ``tsvector`` (``prakerja_search_words``) instead
  of a ``text[]``: the same distinct folded words, sorted, where ``@@`` finds one by binary
  search. The search tests every hit against every candidate's words; scanning the arrays
  for them was a tenth of a search page's database time.
- The search joins only the partners whose names hold a hit, instead of every candidate's
  provider, and scores the others' courses without a provider name to scan.
"""

from collections.abc import Callable, Sequence

from alembic import op

from core.db.migrate import revision_module

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# No word longer than this is kept or searched for: far above any real word (Indonesian
# compounds stay under 30 letters), far below what the indexes can hold (64 characters
# are at most 256 bytes).
LONGEST_WORD = 64

_WORDS = f"""
CREATE OR REPLACE FUNCTION prakerja_words(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
BEGIN
    RETURN array(SELECT DISTINCT word
                   FROM regexp_split_to_table(value, '[^[:alnum:]]+') AS word
                  WHERE word <> '' AND length(word) <= {LONGEST_WORD}
                  ORDER BY word);
END
$$
"""  # noqa: S608 - only the module's constant is joined in

# What a search matches in a text: its folded words as lexemes, taken as they are (no
# parser, no dictionary). The stored columns and nothing else use it.
_SEARCH_WORDS = """
CREATE FUNCTION prakerja_search_words(value text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT array_to_tsvector(prakerja_words(prakerja_fold(value))) $$
"""

_LEARN = """
CREATE OR REPLACE FUNCTION prakerja_learn_search_words() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
BEGIN
    INSERT INTO search_vocabulary (word)
    SELECT DISTINCT word FROM written, unnest(tsvector_to_array(written.search_words)) AS word
     ORDER BY word
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$
"""

# The rule is 0027's (its comment says it whole); what differs is how it is carried out:
# - a hit is also a one-word tsquery (``found``), and the words a search requires one
#   tsquery of alternatives, so that the indexes and each candidate's words are searched
#   with ``@@``;
# - ``named`` holds the partners whose names hold a hit, once; a course's provider adds to
#   its score only if it is one of them, so the other candidates carry no name to test.
_SEARCH = """
CREATE OR REPLACE FUNCTION prakerja_search_courses(query text)
RETURNS TABLE (matched_course bigint, relevance integer)
LANGUAGE plpgsql STABLE ROWS 20
SET pg_trgm.word_similarity_threshold = 0.3
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    threshold CONSTANT double precision := 0.4;  -- the share of the query a match holds
    -- relevance: the hits weighed by where they are, and the share of the title they cover
    title_weight CONSTANT double precision := 1.0;
    description_weight CONSTANT double precision := 0.9;
    provider_name_weight CONSTANT double precision := 0.8;
    hits_part CONSTANT double precision := 0.8;
    title_cover_part CONSTANT double precision := 0.2;
BEGIN
    RETURN QUERY
    WITH asked AS (
        SELECT a.word, cardinality(show_trgm(a.word))::float8 AS trigrams
          FROM unnest(prakerja_words(prakerja_fold(query))) AS a(word)
         ORDER BY trigrams DESC, a.word
         LIMIT 8
    ), hits AS MATERIALIZED (
        SELECT asked.word AS asked_word, near.word, quote_literal(near.word)::tsquery AS found,
               near.similarity * asked.trigrams / (SELECT sum(trigrams) FROM asked) AS share
          FROM asked CROSS JOIN LATERAL (
                SELECT v.word, word_similarity(asked.word, v.word) AS similarity
                  FROM search_vocabulary AS v
                 WHERE asked.word <% v.word
                 ORDER BY similarity DESC, v.word
                 LIMIT 8) AS near
    ), best AS (
        SELECT h.asked_word, max(h.share) AS share FROM hits AS h GROUP BY h.asked_word
    ), required AS (
        SELECT string_agg(quote_literal(h.word), ' | ')::tsquery AS words
          FROM hits AS h JOIN best AS b ON b.asked_word = h.asked_word
         WHERE h.share - b.share + (SELECT sum(share) FROM best) >= threshold
    ), named AS (
        SELECT n.id, n.search_words
          FROM partners AS n
         WHERE n.search_words @@ (SELECT string_agg(quote_literal(h.word), ' | ')::tsquery
                                    FROM hits AS h)
    ), candidates AS (
        -- each course once: by its own words, else by its provider's name
        SELECT m.id, m.title_words, m.search_words, p.search_words AS provider_words
          FROM courses AS m LEFT JOIN named AS p ON p.id = m.provider_id
         WHERE m.search_words @@ (SELECT words FROM required)
        UNION ALL
        SELECT m.id, m.title_words, m.search_words, n.search_words
          FROM courses AS m JOIN named AS n ON n.id = m.provider_id
         WHERE m.provider_id = ANY (ARRAY(SELECT r.id FROM named AS r
                                           WHERE r.search_words @@ (SELECT words FROM required)))
           AND NOT m.search_words @@ (SELECT words FROM required)
    )
    SELECT k.id, round(1000 * (hits_part * s.ranked
                 + title_cover_part * least(1.0, s.in_title / greatest(length(k.title_words), 1))))::integer
      FROM candidates AS k
     CROSS JOIN LATERAL (
        SELECT sum(w.matched) AS matched, sum(w.ranked) AS ranked, sum(w.in_title) AS in_title
          FROM (SELECT max(h.share) AS matched,
                       max(h.share * CASE WHEN k.title_words @@ h.found THEN title_weight
                                          WHEN k.search_words @@ h.found THEN description_weight
                                          ELSE provider_name_weight END) AS ranked,
                       count(*) FILTER (WHERE k.title_words @@ h.found)::float8 AS in_title
                  FROM hits AS h
                 WHERE k.search_words @@ h.found OR k.provider_words @@ h.found
                 GROUP BY h.asked_word) AS w
     ) AS s
     WHERE s.matched >= threshold;
END
$$
"""

_COURSE_TEXT = "(title::text || ' '::text) || description"


def _word_columns(kind: str, words_of: Callable[[str], str]) -> None:
    """Drops the words columns (their indexes go with them) and adds them again as
    ``kind``, each computed by ``words_of`` from its text."""
    op.execute("ALTER TABLE courses DROP COLUMN search_words, DROP COLUMN title_words")
    op.execute("ALTER TABLE partners DROP COLUMN search_words")
    op.execute(
        f"ALTER TABLE courses ADD COLUMN search_words {kind}"
        f" GENERATED ALWAYS AS ({words_of(_COURSE_TEXT)}) STORED NOT NULL,"
        f" ADD COLUMN title_words {kind}"
        f" GENERATED ALWAYS AS ({words_of('title::text')}) STORED NOT NULL"
    )
    op.execute(
        f"ALTER TABLE partners ADD COLUMN search_words {kind}"
        f" GENERATED ALWAYS AS ({words_of('name::text')}) STORED NOT NULL"
    )
    # Without the fast-update list, as in 0027: searches are many, catalog writes few.
    for table in ("courses", "partners"):
        op.execute(
            f"CREATE INDEX ix_{table}_search_words ON {table} USING gin (search_words)"
            " WITH (fastupdate = off)"
        )


def upgrade() -> None:
    op.execute(_WORDS)
    op.execute(_SEARCH_WORDS)
    _word_columns("tsvector", lambda text: f"prakerja_search_words({text})")
    op.execute(f"DELETE FROM search_vocabulary WHERE length(word) > {LONGEST_WORD}")  # noqa: S608
    op.execute(_LEARN)
    op.execute(_SEARCH)


def downgrade() -> None:
    previous = revision_module("0027_search_by_words.py")
    for definition in (previous._WORDS, previous._LEARN, previous._SEARCH):
        op.execute(definition.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    _word_columns("text[]", lambda text: f"prakerja_words(prakerja_fold({text}))")
    op.execute("DROP FUNCTION prakerja_search_words(text)")
