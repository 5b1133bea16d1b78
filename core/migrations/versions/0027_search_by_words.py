"""catalog search by words: a vocabulary, each course's and provider's words, one function

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01 00:10:00.000000

Until now a search matched the whole query against each course's folded text with the
trigram operator ``<%``. Its GIN index only counts shared trigrams, so a two-word query
gave about 400 candidates among 2,140 courses for 34 matches, and rechecking each
(``word_similarity`` over 200 characters, about 25 µs) made a search cost 15-30 ms of
database CPU, against 0.2 ms for a catalog page without one.

Now the typo tolerance works on words. ``search_vocabulary`` holds every distinct folded
word of the courses' titles and descriptions and of the partners' names (a few hundred in
the demo catalog, tens of thousands at most in any language): a query word finds the words
it resembles there, through a trigram index over short strings. A course matches by the
words it holds (``courses.search_words``, a GIN index of arrays), so the only trigram
comparisons are against the vocabulary, and a course is scored only when one of its words
alone can carry the match. ``prakerja_search_courses`` holds the whole rule, so no caller
writes a threshold or a weight of its own.

The vocabulary only grows: a word that no course holds any more finds no course, and costs
one row. Triggers add the words of every written course and partner, in the writer's
transaction, so a course is found by its words as soon as it can be seen.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The distinct words of a folded text, sorted: pg_trgm also splits words at every character
# that is not a letter or a digit. PL/pgSQL keeps the plan of its statement; a SQL function
# with a subquery cannot be inlined and is planned again at every call (50 µs of a search).
_WORDS = """
CREATE FUNCTION prakerja_words(value text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
BEGIN
    RETURN array(SELECT DISTINCT word
                   FROM regexp_split_to_table(value, '[^[:alnum:]]+') AS word
                  WHERE word <> ''
                  ORDER BY word);
END
$$
"""

# Statement triggers with the written rows as a transition table: one INSERT per statement
# however many rows it wrote (the seed's COPY too), in a fixed order so that two writers
# adding the same new words wait for each other instead of deadlocking. It runs as the
# owner: the application role reads the vocabulary and never writes it directly.
_LEARN = """
CREATE FUNCTION prakerja_learn_search_words() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
BEGIN
    INSERT INTO search_vocabulary (word)
    SELECT DISTINCT word FROM written, unnest(written.search_words) AS word
     ORDER BY word
    ON CONFLICT (word) DO NOTHING;
    RETURN NULL;
END
$$
"""

# The search. The query's 8 longest words count (most trigrams, then alphabetical) and each
# of them finds at most 8 words: what a search costs is bounded by the catalog's size, not
# by the text (32 two-letter words found 8 hits each, every course a candidate: 1.4 s
# without the bounds, 60 ms with them). For each of those words (folded as the stored
# words are):
# - its hits: the vocabulary's words that hold at least 30% of its trigrams (the GIN index
#   applies the floor, which the SET clause gives this function alone), each worth its
#   similarity times the word's share of the query's trigrams; the shares of the query's
#   words add up to 1, so a score is the fraction of the query's trigrams a course holds,
#   word by word, as pg_trgm's word_similarity measures it over a whole phrase;
# - a course (or its provider's name) matches when its best hits add up to 0.4 or more,
#   the threshold at which "pemograman piton" still finds "Pemrograman Python ...";
# - candidates are the courses that hold a hit that could reach 0.4 with every other
#   query word at its best: rarer words than any single close one, found by the arrays'
#   GIN indexes, so that only they are scored;
# - relevance in thousandths: 80% the score with each hit weighed by where it is (title
#   1.0, description 0.9, provider's name 0.8), 20% the share of the title's words that are
#   hits (a title that is mostly the query first).
# enable_seqscan is off for this function: with a small vocabulary or few courses the
# planner would compare the query with every row, which the indexes avoid at any size. Its
# statement keeps one generic plan: the plan does not depend on the text, and PL/pgSQL
# would otherwise plan it anew on many calls (0.5 ms each, as long as the search itself).
# ROWS 20, a search's usual number of matches, so that the page looks each one up by its
# key: at 100 the planner read the whole catalog to hash-join them (0.7 ms of the 2,140
# demo courses, more with every course added).
_SEARCH = """
CREATE FUNCTION prakerja_search_courses(query text)
RETURNS TABLE (matched_course bigint, relevance integer)
LANGUAGE plpgsql STABLE ROWS 20
SET pg_trgm.word_similarity_threshold = 0.3
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    threshold CONSTANT double precision := 0.4;  -- the share of the query a match holds
BEGIN
    RETURN QUERY
    WITH asked AS (
        SELECT a.word, cardinality(show_trgm(a.word))::float8 AS trigrams
          FROM unnest(prakerja_words(prakerja_fold(query))) AS a(word)
         ORDER BY trigrams DESC, a.word
         LIMIT 8
    ), hits AS MATERIALIZED (
        SELECT asked.word AS asked_word, near.word,
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
        SELECT array_agg(h.word) AS words
          FROM hits AS h JOIN best AS b ON b.asked_word = h.asked_word
         WHERE h.share - b.share + (SELECT sum(share) FROM best) >= threshold
    ), candidates AS (
        -- each course once: by its own words, else by its provider's name
        SELECT m.id, m.title_words, m.search_words, p.search_words AS provider_words
          FROM courses AS m JOIN partners AS p ON p.id = m.provider_id
         WHERE m.search_words && (SELECT words FROM required)
        UNION ALL
        SELECT m.id, m.title_words, m.search_words, n.search_words
          FROM partners AS n JOIN courses AS m ON m.provider_id = n.id
         WHERE n.search_words && (SELECT words FROM required)
           AND NOT m.search_words && (SELECT words FROM required)
    )
    SELECT k.id, round(1000 * (0.8 * s.ranked
                 + 0.2 * least(1.0, s.in_title / greatest(cardinality(k.title_words), 1))))::integer
      FROM candidates AS k
     CROSS JOIN LATERAL (
        SELECT sum(w.matched) AS matched, sum(w.ranked) AS ranked, sum(w.in_title) AS in_title
          FROM (SELECT max(h.share) AS matched,
                       max(h.share * CASE WHEN h.word = ANY (k.title_words) THEN 1.0
                                          WHEN h.word = ANY (k.search_words) THEN 0.9
                                          ELSE 0.8 END) AS ranked,
                       count(*) FILTER (WHERE h.word = ANY (k.title_words)) AS in_title
                  FROM hits AS h
                 WHERE h.word = ANY (k.search_words) OR h.word = ANY (k.provider_words)
                 GROUP BY h.asked_word) AS w
     ) AS s
     WHERE s.matched >= threshold;
END
$$
"""

_COURSE_TEXT = "prakerja_fold((title::text || ' '::text) || description)"


def upgrade() -> None:
    op.execute(_WORDS)
    op.execute(
        "ALTER TABLE courses"
        f" ADD COLUMN search_words text[] GENERATED ALWAYS AS (prakerja_words({_COURSE_TEXT}))"
        " STORED NOT NULL,"
        " ADD COLUMN title_words text[]"
        " GENERATED ALWAYS AS (prakerja_words(prakerja_fold(title::text))) STORED NOT NULL"
    )
    op.execute(
        "ALTER TABLE partners ADD COLUMN search_words text[]"
        " GENERATED ALWAYS AS (prakerja_words(prakerja_fold(name::text))) STORED NOT NULL"
    )
    op.execute("DROP INDEX ix_courses_search_trgm")
    op.execute("ALTER TABLE courses DROP COLUMN search_document")
    op.execute("DROP INDEX ix_partners_name_trgm")
    op.execute("ALTER TABLE partners DROP COLUMN search_name")
    # Without the fast-update list: a write puts its words straight into the index instead
    # of a pending list that every search then reads through until a vacuum merges it (a
    # freshly seeded catalog searched at 4 ms a page instead of 0.6 ms). Catalog writes are
    # rare; searches are not.
    op.execute(
        "CREATE INDEX ix_courses_search_words ON courses USING gin (search_words)"
        " WITH (fastupdate = off)"
    )
    op.execute(
        "CREATE INDEX ix_partners_search_words ON partners USING gin (search_words)"
        " WITH (fastupdate = off)"
    )

    op.execute(
        "CREATE TABLE search_vocabulary (word text CONSTRAINT pk_search_vocabulary PRIMARY KEY)"
    )
    op.execute(
        "CREATE INDEX ix_search_vocabulary_trgm ON search_vocabulary USING gin (word gin_trgm_ops)"
        " WITH (fastupdate = off)"
    )
    op.execute(
        "INSERT INTO search_vocabulary (word)"
        " SELECT unnest(search_words) FROM courses"
        " UNION SELECT unnest(search_words) FROM partners"
    )
    op.execute("GRANT SELECT ON search_vocabulary TO prakerja_app")
    op.execute(_LEARN)
    for table in ("courses", "partners"):
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {table}_search_words_{event.lower()} AFTER {event} ON {table}"
                " REFERENCING NEW TABLE AS written FOR EACH STATEMENT"
                " EXECUTE FUNCTION prakerja_learn_search_words()"
            )
    op.execute(_SEARCH)


def downgrade() -> None:
    op.execute("DROP FUNCTION prakerja_search_courses(text)")
    for table in ("courses", "partners"):
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER {table}_search_words_{event} ON {table}")
    op.execute("DROP FUNCTION prakerja_learn_search_words()")
    op.execute("DROP TABLE search_vocabulary")
    op.execute("DROP INDEX ix_courses_search_words")
    op.execute("DROP INDEX ix_partners_search_words")
    op.execute("ALTER TABLE courses DROP COLUMN search_words, DROP COLUMN title_words")
    op.execute("ALTER TABLE partners DROP COLUMN search_words")
    op.execute("DROP FUNCTION prakerja_words(text)")
    op.execute(
        f"ALTER TABLE courses ADD COLUMN search_document text GENERATED ALWAYS AS ({_COURSE_TEXT})"
        " STORED NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_courses_search_trgm ON courses USING gin (search_document gin_trgm_ops)"
    )
    op.execute(
        "ALTER TABLE partners ADD COLUMN search_name text"
        " GENERATED ALWAYS AS (prakerja_fold(name::text)) STORED NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_partners_name_trgm ON partners USING gin (search_name gin_trgm_ops)"
    )
