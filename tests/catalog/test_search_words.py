"""The catalog search finds courses by their words: new words as soon as a course is seen,
typos of them, the provider's name, and it ranks where a word stands."""

from __future__ import annotations

from sqlalchemy import update

from core.db.database import Database
from core.limits import SEARCH_WORD_MAX_LENGTH
from core.models import Partner
from tests.support.catalog import (
    OTHER_PROVIDER,
    PLATFORM,
    PROVIDER,
    SUBMIT,
    all_pages,
    approved_course,
    codes,
    create_course,
    data,
    page,
)
from tests.support.gateway import Tokens

# Words no seeded course holds: the vocabulary learns them from the courses written here.
NEW_WORD = "zorblaxon"
TYPO = "zorblakson"  # one letter changed, one added: 60% of its trigrams are NEW_WORD's
_PAGE_CODES = """
query($filter: CourseFilter) { courses(first: 5, filter: $filter) { edges { node { code } } } }
"""


async def _found(tokens: Tokens, text: str, order: str = "CATALOG") -> list[str]:
    variables = {"filter": {"search": text}, "orderBy": order}
    return [node["code"] for node in await all_pages(tokens, PLATFORM, variables)]


async def _rename_other_provider(database: Database) -> None:
    """OTHER_PROVIDER's name takes NEW_WORD: the word enters the vocabulary."""
    async with database.sessionmaker() as session:
        await session.execute(
            update(Partner)
            .where(Partner.code == OTHER_PROVIDER)
            .values(name=f"Lembaga {NEW_WORD.capitalize()} Nusantara")
        )
        await session.commit()


async def test_a_new_word_is_found_with_a_typo_once_its_course_is_approved(
    tokens: Tokens,
) -> None:
    title = f"Dasar {NEW_WORD.capitalize()} untuk Pemula"
    code = await create_course(tokens, title=title)
    data(await tokens.graphql(PROVIDER, SUBMIT, {"code": code}))
    # The words are known from the first write; the course is not public before approval.
    assert await _found(tokens, NEW_WORD) == []

    approved = await approved_course(tokens, title=title)
    assert await _found(tokens, NEW_WORD) == [approved]
    assert await _found(tokens, TYPO) == [approved]
    assert (await _found(tokens, f"{TYPO.upper()} pemula", "RELEVANCE"))[0] == approved


async def test_a_word_in_the_title_ranks_above_the_same_word_in_the_description(
    tokens: Tokens,
) -> None:
    in_description = await approved_course(
        tokens,
        title="Kelas Perawatan Mesin",
        description=f"Peserta belajar merawat mesin {NEW_WORD} di bengkel.",
    )
    in_title = await approved_course(tokens, title=f"Kelas Perawatan Mesin {NEW_WORD}")
    ranked = await _found(tokens, NEW_WORD, "RELEVANCE")
    assert ranked == [in_title, in_description]
    # Both hold the word: the order by code is the catalog's.
    assert sorted(await _found(tokens, NEW_WORD)) == sorted(ranked)


async def test_a_renamed_provider_is_found_by_its_new_name(
    tokens: Tokens, database: Database
) -> None:
    assert await _found(tokens, NEW_WORD) == []
    await _rename_other_provider(database)
    found = await all_pages(tokens, PLATFORM, {"filter": {"search": TYPO}})
    assert found, "the provider's approved courses"
    assert {node["provider"]["code"] for node in found} == {OTHER_PROVIDER}


async def test_a_description_with_a_word_too_long_to_index_is_written_and_found(
    tokens: Tokens,
) -> None:
    # Letters and digits without a break, as a pasted key or blob: 3,000 characters were
    # more than the words' index holds in one entry, and the write failed.
    blob = "".join(f"{n:04d}{NEW_WORD}" for n in range(230))[:3000]
    longest = (NEW_WORD * 8)[:SEARCH_WORD_MAX_LENGTH]  # the longest word a search keeps
    description = f"Kursus merawat mesin {longest} dan {longest}x {blob}."
    code = await approved_course(tokens, title="Kelas Mesin Bubut", description=description)
    assert code in await _found(tokens, "mesin bubut")
    assert await _found(tokens, longest) == [code]
    # One character longer: a query word that long is left out, so the text has no word.
    assert await _found(tokens, longest + "x") == []


async def test_a_text_without_a_word_matches_nothing(tokens: Tokens) -> None:
    for text in ("!!", "-- ;", "…—…"):
        body = await tokens.graphql(PLATFORM, _PAGE_CODES, {"filter": {"search": text}})
        assert codes(body) == [], body
        assert data(body)["courses"]["edges"] == []
    # A long text of many words is still one search, not an error.
    many = " ".join(["pelatihan", "pemrograman", "python", "dasar"] * 6)[:100]
    assert (await page(tokens, PLATFORM, {"first": 5, "filter": {"search": many}}))["edges"]
    # Thirty-three two-letter words, each close to many words of the catalog: only the
    # longest eight count, each with its eight closest words, so this is a search like
    # another (it made every course a candidate for hundreds of words before the bounds).
    short = " ".join(f"{a}{b}" for a in "pbmskdtl" for b in "aeiu")[:98]
    body = await tokens.graphql(PLATFORM, _PAGE_CODES, {"filter": {"search": short}})
    assert codes(body) == [], body


# The gateway keeps what a text expands to in the vocabulary and gives it back to the search,
# which uses it only under the vocabulary it was worked out from (resolvers.search_expansions).


async def test_a_text_searched_before_its_word_was_known_finds_the_new_course_at_once(
    tokens: Tokens,
) -> None:
    # A typo no other test searches: no expansion of it is kept from another database.
    typo = "zorblaxom"
    # The text's expansion is kept from a vocabulary without the word...
    assert await _found(tokens, typo) == []
    approved = await approved_course(tokens, title=f"Kelas {NEW_WORD.capitalize()} Lanjutan")
    # ...and the word's course is found by the same text straight after, not once it expires.
    assert await _found(tokens, typo) == [approved]
    assert await _found(tokens, typo, "RELEVANCE") == [approved]


async def test_a_kept_expansion_and_the_search_s_own_rank_the_same(
    tokens: Tokens, database: Database
) -> None:
    text = "pelatihn pemrograman dasr"  # typos: the expansion picks near words
    given = await _found(tokens, text, "RELEVANCE")  # expanded once, then given back
    assert given
    # A word unrelated to the text enters the vocabulary: the kept expansion is stale, and
    # the search expands the text itself. Same hits, so the same courses in the same order.
    await _rename_other_provider(database)
    assert await _found(tokens, text, "RELEVANCE") == given
    assert await _found(tokens, text, "RELEVANCE") == given
