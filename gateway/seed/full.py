"""The programme's registrants and all that hangs off them, generated inside PostgreSQL: at
every size (``seed --participants N`` and ``seed --scale full``, one mechanism).

15.9 million registrants cannot be made in Python within minutes: every row here is made by
``INSERT ... SELECT FROM generate_series`` as a deterministic function of its row number
(``hashint8extended`` with a fixed seed per attribute), so two runs give the same rows and
nothing but a few small arrays ever leaves the server. Partners, the catalog, geography,
schemes and waves are the demo's own (made in Python, small). Indexes, unique and foreign-key
constraints of the large tables are dropped first and rebuilt after loading, from the
definitions the migrations installed (read back from the catalog, so nothing is restated);
the figures triggers are off during the load and ``prakerja_figures_rebuild()`` runs once.

Exact counts come from one permutation: registrant ``n`` gets the rank
``p = (A * (n - 1) + B) mod N`` (A coprime with N: a bijection), and is a recipient when
``p < R``, a completer when ``p < C``, paid when ``p < P``. Invariants kept as the live
system keeps them: a card number by the migrations' own function; the NIK structure (regency,
birth date, day + 40 for women), unique by construction (the rank gives both the birth date
and the serial), hashed with the exact HMAC-SHA256 of ``core.identity.hash_nik`` (RFC 2104
spelled out over PostgreSQL's ``sha256``: see ``hmac_pads``); every completer bought a
course of an active provider, listed by the platform, without age or education rule, priced
within the balance, and the balance is debited by it; seats taken equal successful purchases
per schedule; installments per scheme from ``core.incentives.installment_plan``; one PAID item
per paid person into the verified account at its payment partner (0008's payable check runs).

Besides the completers, recipients of the next ranks bought a training starting after AS_OF
(not redeemed), and the next redeemed one and attended its first session. Simplified against
a live programme: no voided, failed or expired purchases; codes of generated rows (platform
user ids, invoices, transaction and redeem codes, account references) carry a ``G`` mark,
unique by construction; ages are spread evenly over 18-64.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from core.enums import (
    BatchStatus,
    CertificateStatus,
    DisbursementItemStatus,
    DisbursementResult,
    Education,
    IncentiveKind,
    InstallmentStatus,
    ParticipantStatus,
    PaymentAccountKind,
    PurchaseStatus,
    RegistrationChannel,
    Sex,
)
from core.incentives import installment_plan
from core.models.certificates import STATUS_LIST_SIZE
from gateway.seed import names, rebuild, timeline
from gateway.seed.partners import Partners
from gateway.seed.programme import (
    COMPLETERS,
    OFFLINE_SHARE,
    PAID,
    RECIPIENTS,
    REGISTRANTS,
    SCHEME_2020,
    WAVE_WEIGHTS,
    PlacedRegency,
    Wave,
)

CHUNK: Final = 1_000_000  # registrants per statement: a progress step
# Progress units of ``load_full``'s steps (their sum): about their share of the time.
_SET_ASIDE, _REGISTRANTS, _JOURNEYS, _INCENTIVES, _REBUILD, _PAID, _SEATS = 1, 40, 6, 2, 11, 1, 3
_ANALYZE: Final = 1
LOAD_WEIGHT: Final = (
    _SET_ASIDE + _REGISTRANTS + _JOURNEYS + _INCENTIVES + _REBUILD + _ANALYZE + _PAID + _SEATS
)
# Tables generated here: their indexes and constraints are rebuilt after the load.
LARGE_TABLES: Final = (
    "participants",
    "platform_accounts",
    "purchases",
    "attendances",
    "completions",
    "certificates",
    "payment_accounts",
    "incentive_installments",
    "disbursement_items",
    "disbursement_reports",
)
# Loaded after the other tables' indexes are back, before their own (``put_back``).
_PAID_TABLES: Final = ("disbursement_items", "disbursement_reports")
FIGURES_TRIGGERS: Final = ("participants", "completions", "disbursement_items")
# Tables of the seed's own while it runs (none is in the model): what ``undo_interrupted``
# needs to put a database back after a failed seed, and the offers buyers are drawn from.
SEED_STATE_TABLES: Final = (
    "seed_rebuild",
    "seed_offers",
    "seed_offer_counts",
    "seed_buyers",
    "seed_completers",
)
Step = Callable[[str, float], None]
Counts = dict[str, int]  # table name -> rows the seed wrote into it
_REGENCY_BUCKETS: Final = 1 << 16
_AGE_DAYS: Final = 46 * 365  # birth dates spread over ages 18 to 64
_DISABLED_SHARE_OFFLINE: Final = 0.08
_DISABLED_SHARE_ONLINE: Final = 0.01
_EDUCATION_WEIGHTS: Final = (90, 150, 480, 80, 180, 17, 3)  # SD .. S3, per mille (the demo's)
_BATCH_PERIOD_DAYS: Final = 14
_MASK63: Final = (1 << 63) - 1
# Of all recipients, the share stopped short of completion by ``AS_OF`` after buying: not yet
# redeemed (the training starts later), or redeemed and attended, not completed.
_UNREDEEMED_SHARE: Final = 0.08
_STARTED_SHARE: Final = 0.05
# seed_offers.kind: a schedule that had started by AS_OF (bought, redeemed), or had not.
_OFFER_STARTED, _OFFER_LATER = 0, 1
# A recipient buys between 6 hours and 20 days after the wave opens (before its deadline);
# sessions, the post-test and the completion take 3 days and 2 hours from redemption.
_BUY_FROM: Final = "interval '6 hours'"
_BUY_WITHIN_SECONDS: Final = 20 * 86400
_BUY_WITHIN: Final = f"interval '{_BUY_WITHIN_SECONDS} seconds'"
_SESSIONS_SPAN: Final = "interval '4 days'"
assert SCHEME_2020.purchase_deadline_days * 86400 > _BUY_WITHIN_SECONDS + 6 * 3600


@dataclass(frozen=True)
class FullScale:
    """The programme's figures at a fraction of its size (1.0: the seed's own)."""

    registrants: int
    recipients: int
    completers: int
    paid: int

    @classmethod
    def at(cls, fraction: float) -> FullScale:
        if not 0 < fraction <= 1:
            raise ValueError("the fraction is in (0, 1]")
        return cls(
            registrants=round(REGISTRANTS * fraction),
            recipients=round(RECIPIENTS * fraction),
            completers=round(COMPLETERS * fraction),
            paid=round(PAID * fraction),
        )

    @property
    def unredeemed(self) -> int:
        """Recipients who bought a training that had not started by ``AS_OF``."""
        return min(round(self.recipients * _UNREDEEMED_SHARE), self.recipients - self.completers)

    @property
    def started(self) -> int:
        """Recipients who redeemed a training and attended, not (yet) completed."""
        left = self.recipients - self.completers - self.unredeemed
        return min(round(self.recipients * _STARTED_SHARE), left)

    @property
    def buyers(self) -> int:
        """Ranks below this bought: completers, then the unredeemed, then the started."""
        return self.completers + self.unredeemed + self.started

    @classmethod
    def of(cls, registrants: int) -> FullScale:
        """``registrants`` in the programme's proportions: each figure of the one before it,
        so the demo's small sizes keep recipients, completers and paid people in order."""
        recipients = round(registrants * RECIPIENTS / REGISTRANTS)
        completers = round(recipients * COMPLETERS / RECIPIENTS)
        return cls(
            registrants=registrants,
            recipients=recipients,
            completers=completers,
            paid=round(completers * PAID / COMPLETERS),
        )


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104): then
    ``HMAC(key, m) = SHA256(outer || SHA256(inner || m))``, which SQL computes with
    ``sha256()``. A key longer than the 64-byte block is hashed first, as ``hmac`` does."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def nik_hash_sql(message: str) -> str:
    """The SQL of ``core.identity.hash_nik`` of a text expression; binds $1 inner, $2 outer."""
    return f"sha256($2::bytea || sha256($1::bytea || convert_to({message}, 'UTF8')))"


def card_number_sql(participant_id: str) -> str:
    """The SQL of migration 0007's ``prakerja_card_number`` unrolled into integer arithmetic:
    the same digits ("5", the affine bijection of the id modulo 10^14, the Luhn digit) at a
    fraction of the cost of its generate_series per row. Tests compare the two."""
    return card_number_of_body_sql(card_body_sql(participant_id))


def card_body_sql(participant_id: str) -> str:
    """The card number's first 15 digits, as a bigint."""
    modulus = 10**14
    return f"(5 * {modulus} + ({participant_id} * 7919393123 + 31415926535897) % {modulus})"


def _luhn_digit_sum(digits: int, doubled_from: int) -> int:
    """The Luhn sum of a number's decimal digits, doubling every other one starting with
    the ``doubled_from``-th from the right (0 or 1); a doubled digit above 4 loses 9."""
    total = 0
    for place in range(3):
        digit = digits // 10**place % 10
        total += digit * 2 - 9 * (digit // 5) if place % 2 == doubled_from else digit
    return total


# The Luhn sums of every group of three digits, with its first or its middle digit doubled,
# as SQL array literals: the body's sum is five lookups instead of arithmetic on each digit.
_LUHN_GROUPS: Final = tuple(
    "'{" + ",".join(str(_luhn_digit_sum(g, doubled_from)) for g in range(1000)) + "}'::int[]"
    for doubled_from in (0, 1)
)


def card_number_of_body_sql(body: str) -> str:
    """The body and its Luhn digit; ``body`` best a column, computed once per row."""
    terms = []
    for group in range(5):
        # Luhn doubles every other digit from the right of the body (the check digit will
        # stand to its right): the digits at even places, the first of a group at 3 * group.
        digits = f"({body} / {10 ** (3 * group)} % 1000)"
        terms.append(f"({_LUHN_GROUPS[group % 2]})[1 + {digits}]")
    check = f"((10 - ({' + '.join(terms)}) % 10) % 10)"
    return f"({body}::text || {check}::text)"


def _coprime_multiplier(modulus: int) -> int:
    multiplier = 2_654_435_761 % modulus or 1
    while math.gcd(multiplier, modulus) != 1:
        multiplier += 1
    return multiplier


def _buckets(weights: Sequence[float], size: int, values: Sequence[int]) -> list[int]:
    """``size`` slots, each holding a value, the values in proportion to their weights."""
    total = sum(weights)
    slots: list[int] = []
    cumulative = 0.0
    for value, weight in zip(values, weights, strict=True):
        cumulative += weight
        while len(slots) < round(size * cumulative / total):
            slots.append(value)
    return slots


def _rand(n: str, salt: int, modulus: int) -> str:
    """A deterministic draw in [0, modulus) for row ``n``, independent per salt."""
    return f"((hashint8extended({n}, {salt}) & {_MASK63}) % {modulus})"


@dataclass(frozen=True)
class FullInputs:
    regencies: list[PlacedRegency]
    waves: list[Wave]
    partners: Partners
    master_key: bytes


async def set_figures_triggers(
    connection: Any, *, enabled: bool, rebuild_figures: bool = True
) -> None:
    """Off for a bulk load (inside its transaction); back on, the figures are rebuilt once
    from the loaded rows (unless the caller did). Only the figures' triggers: 0008's payable
    check still judges every item loaded."""
    action = "ENABLE" if enabled else "DISABLE"
    for table in FIGURES_TRIGGERS:
        for trigger in ("figures_insert", "figures_update", "figures_delete"):
            await connection.execute(f"ALTER TABLE {table} {action} TRIGGER {trigger}")
    if enabled and rebuild_figures:
        await connection.execute("SELECT prakerja_figures_rebuild()")


async def set_aside(connection: Any, inputs: FullInputs, step: Step) -> None:
    """The first of the load's parts, in the caller's transaction (committed before the
    registrants are loaded): the large tables' indexes and constraints dropped (what puts
    them back kept in ``seed_rebuild``), the figures' triggers off, and the offers a
    recipient of each wave could buy (``seed_offers``), which the registrants' workers read
    to debit each buyer's balance as its row is made."""
    await rebuild.set_aside(connection, LARGE_TABLES)
    await set_figures_triggers(connection, enabled=False)
    await _offers(connection, inputs)
    step("indexes and constraints set aside", _SET_ASIDE)


async def load_registrants(
    dsn: str, scale: FullScale, inputs: FullInputs, step: Step, *, jobs: int
) -> None:
    """The registrants, in chunks of at most ``CHUNK``, over ``jobs`` connections at once
    (each chunk its own transaction): the one step that scales with the programme, and one
    backend's CPU cannot make 15.9 million rows in minutes. At least four chunks per
    connection, so none is left making the last large chunk alone."""
    statement, parameters = _participants_statement(scale, inputs)
    count = scale.registrants
    if count == 0:
        step("no registrants", _REGISTRANTS)
        return
    size = math.ceil(count / max(math.ceil(count / CHUNK), 4 * jobs))
    chunks = [(first, min(count, first + size - 1)) for first in range(1, count + 1, size)]
    done = 0

    def load(first: int, last: int) -> rebuild.Task:
        async def task(connection: Any) -> None:
            nonlocal done
            await connection.execute(statement, *parameters, first, last, _RANK_OFFSET % count)
            done += last - first + 1
            step(f"registrants {done:,} of {count:,}", _REGISTRANTS / len(chunks))

        return task

    await rebuild.in_parallel(dsn, [load(first, last) for first, last in chunks], jobs)


async def add_journeys(
    dsn: str,
    connection: Any,
    scale: FullScale,
    inputs: FullInputs,
    step: Step,
    counts: Counts,
    *,
    jobs: int,
) -> None:
    """The second part (committed before the indexes are put back, so that other connections
    build them): the buyers drawn (in the caller's transaction), then their purchases,
    attendances, completions, certificates, accounts and installments, each table's rows
    by one statement on one of ``jobs`` connections (the largest first).

    Beside them the registrants are vacuumed: every page then marked all-visible, the
    foreign keys into the registrants are checked from their primary key's index alone
    (without it, each of 11 million probes at full scale reads a heap page through the
    small shared buffers), and the first index build does not set every row's hint bits."""
    tasks = [_unit("VACUUM participants", None, "journeys: registrants vacuumed", 1)]
    if scale.completers > 0:
        async with connection.transaction():
            await _bulk_settings(connection)
            await _buyers(connection, scale)
        step("journeys: buyers drawn", 1)
        statements = [*_incentives(scale, inputs), *_journeys(scale)]
        weight = (_JOURNEYS + _INCENTIVES - 2) / len(statements)
        tasks += [
            _unit(sql, _table_of(sql), f"journeys: {_table_of(sql)}", weight, *arguments)
            for sql, arguments in statements
        ]
    else:
        step("journeys: none", _JOURNEYS + _INCENTIVES - 1)

    def run(unit: _Unit) -> rebuild.Task:
        sql, table, label, weight, arguments = unit

        async def task(worker: Any) -> None:
            status = await worker.execute(sql, *arguments)
            if table is not None:
                counts[table] = counts.get(table, 0) + _inserted(status)
            step(label, weight)

        return task

    await rebuild.in_parallel(dsn, [run(unit) for unit in tasks], jobs)


def _execute(sql: str) -> rebuild.Task:
    async def task(worker: Any) -> None:
        await worker.execute(sql)

    return task


def _table_of(insert: str) -> str:
    return insert.split("INSERT INTO ", 1)[1].split(" ", 1)[0]


# A statement run on a worker: its SQL, the table it inserts into (None: it inserts
# nothing), its progress label and weight, its arguments.
_Unit = tuple[str, str | None, str, float, tuple[Any, ...]]


def _unit(sql: str, table: str | None, label: str, weight: float, *arguments: Any) -> _Unit:
    return sql, table, label, weight, arguments


def _inserted(status: str) -> int:
    """The rows an INSERT's command status ("INSERT 0 <rows>") says it wrote."""
    return int(status.rsplit(" ", 1)[1])


async def put_back(
    dsn: str, connection: Any, scale: FullScale, step: Step, counts: Counts, *, jobs: int
) -> list[rebuild.Task]:
    """The third part: the indexes and constraints back over ``jobs`` connections
    (``gateway/seed/rebuild.py``), and the disbursements. Those are loaded (and committed)
    once the other tables' keys are back, for 0008's payable check to look each item's
    installment and account up, but before their own indexes and the foreign keys: built
    and checked in bulk afterwards instead of row by row. Returns the foreign keys'
    validations, which ``complete`` runs beside the figures' rebuild."""
    await rebuild.put_back_indexes(
        dsn, connection, step, _REBUILD, jobs=jobs, wanted=lambda t: t not in _PAID_TABLES
    )
    if scale.completers > 0:
        async with connection.transaction():
            await _bulk_settings(connection)
            await _disbursements(connection, counts)
    step("disbursements", _PAID)
    await rebuild.put_back_indexes(
        dsn, connection, step, _REBUILD, jobs=jobs, wanted=lambda t: t in _PAID_TABLES
    )
    # Statistics of the large tables before the figures are rebuilt from them: without,
    # the rebuild's plan may hash the registrants instead of the completions and payments.
    analyze = [f"ANALYZE {table}" for table in LARGE_TABLES]
    await rebuild.in_parallel(dsn, [_execute(sql) for sql in analyze], jobs)
    step("large tables analyzed", _ANALYZE)
    return await rebuild.add_foreign_keys(connection, step, _REBUILD)


async def complete(
    dsn: str, connection: Any, step: Step, validations: Sequence[rebuild.Task], *, jobs: int
) -> None:
    """The last part, in the caller's transaction: seats and the figures (one backend's
    work, which the foreign keys' validations on ``jobs`` other connections run beside),
    the figures' triggers back on and the seed's own tables dropped once every key is
    validated: a failure of either rolls this back, and the seed is undone."""
    validating = asyncio.ensure_future(rebuild.in_parallel(dsn, validations, jobs))
    try:
        await _bulk_settings(connection)
        await _seats(connection)
        # Only reads the tables the validations lock (nor do they lock what it writes).
        await connection.execute("SELECT prakerja_figures_rebuild()")
        step("seats and figures", _SEATS)
        await validating
    finally:
        validating.cancel()
        await asyncio.gather(validating, return_exceptions=True)
    # After the validations: enabling a trigger locks its table against them.
    await set_figures_triggers(connection, enabled=True, rebuild_figures=False)
    await connection.execute(f"DROP TABLE IF EXISTS {', '.join(SEED_STATE_TABLES)}")


async def _bulk_settings(connection: Any) -> None:
    # The figures' rebuild and the paid items' numbering hash or sort every registrant:
    # with the default 4 MB each spills to disk in many batches.
    await connection.execute("SET LOCAL work_mem = '256MB'")
    # Serial plans: each worker of a parallel plan of the figures' rebuild computes the
    # completions' and the payments' aggregates again (43 s of CPU instead of 33 s at full
    # scale, for 9 s less wall time on a loaded machine).
    await connection.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    await connection.execute("SET LOCAL synchronous_commit = off")


async def undo_interrupted(connection: Any, model_tables: Sequence[str]) -> bool:
    """After a seed failed (or was killed) between ``set_aside`` and ``complete``: empties
    the model's tables and puts the indexes, constraints and triggers back (those not yet
    back: ``rebuild.put_back_remaining``). False when no seed was interrupted."""
    if not await connection.fetchval("SELECT to_regclass('seed_rebuild') IS NOT NULL"):
        return False
    async with connection.transaction():
        names = ", ".join(f'"{name}"' for name in model_tables)
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        await rebuild.put_back_remaining(connection)
        await set_figures_triggers(connection, enabled=True)
        await connection.execute(f"DROP TABLE IF EXISTS {', '.join(SEED_STATE_TABLES)}")
    return True


def _given_and_family() -> tuple[list[str], list[str], list[str]]:
    styles = (names.JAWA, names.SUNDA, names.MELAYU, names.BUGIS, names.MINANG, names.BATAK)
    male = sorted({name for style in styles for name in style.male})
    female = sorted({name for style in styles for name in style.female})
    family = sorted({name for style in styles for name in style.family_male})
    return male, female, family


def _participants_statement(scale: FullScale, inputs: FullInputs) -> tuple[str, tuple[Any, ...]]:
    """The INSERT of registrants ``$27`` to ``$28`` and its other parameters. A completer's
    balance is debited here by the price of the offer ``_journeys`` will draw for it (the
    same draw): one pass over the table instead of an UPDATE of each buyer's row."""
    regencies = inputs.regencies
    assert [regency.id for regency in regencies] == list(range(1, len(regencies) + 1))
    regency_slots = _buckets(
        [r.weight for r in regencies], _REGENCY_BUCKETS, [r.id for r in regencies]
    )
    wave_slots = _buckets(WAVE_WEIGHTS, 100, [wave.id for wave in inputs.waves])
    education_slots = _buckets(_EDUCATION_WEIGHTS, 1000, range(len(Education)))
    male, female, family = _given_and_family()
    inner, outer = hmac_pads(inputs.master_key)
    count = scale.registrants
    launch = timeline.PROGRAMME_LAUNCH
    span = timeline.REGISTRATION_ENDS - launch
    youngest = timeline.AGE_REFERENCE.replace(year=timeline.AGE_REFERENCE.year - 18)
    # Each wave's opening and closing, indexed by wave id (ids 1..6).
    closes = [wave.closes_at for wave in sorted(inputs.waves, key=lambda w: w.id)]
    deadlines = [wave.purchase_deadline for wave in sorted(inputs.waves, key=lambda w: w.id)]
    # Lists of words indexed per row (regency codes, names, prefixes) are bound as name[]:
    # its elements have a fixed size (64 bytes), so one is found by its offset, where a
    # text[] element is found by walking those before it (0.7 us a row for 514 regencies).
    assert all(len(word.encode()) < 64 for word in (*male, *female, *family))
    parameters = (
        inner,
        outer,
        regency_slots,
        [r.code for r in regencies],
        [inputs.partners.office_by_regency[r.id] for r in regencies],
        wave_slots,
        closes,
        deadlines,
        [education.value for education in Education],
        education_slots,
        male,
        female,
        family,
        list(names.MOBILE_PREFIXES),
    )
    statement = f"""
    INSERT INTO participants (id, card_number, nik_hash, nik_masked, full_name, birth_date,
        education, regency_id, wave_id, training_balance, status, first_purchase_deadline,
        registration_channel, registered_by_partner_id, phone_masked, created_at, sex,
        disabilities)
    SELECT n, {card_number_of_body_sql("card_body")}, {nik_hash_sql("nik")},
           left(nik, 6) || '********' || right(nik, 2),
           (CASE WHEN female THEN $12::name[] ELSE $11::name[] END)[1 + {_rand("n", 7, 997)}
               % cardinality(CASE WHEN female THEN $12::name[] ELSE $11::name[] END)]::text
               || ' ' || ($13::name[])[1 + {_rand("n", 8, 991)} % cardinality($13::name[])]::text,
           birth, ($9::name[])[1 + ($10::int[])[1 + {_rand("n", 9, 1000)}]]::text, regency, wave,
           CASE WHEN wave IS NULL THEN 0
                ELSE {SCHEME_2020.training_balance} - coalesce(bought.price, 0) END,
           CASE WHEN wave IS NULL THEN $15 ELSE $16 END,
           ($8::timestamptz[])[wave],
           CASE WHEN offline THEN $17 ELSE $18 END,
           CASE WHEN offline THEN ($5::bigint[])[regency] END,
           CASE WHEN offline AND {_rand("n", 10, 1000)} < 300 THEN NULL
                ELSE '0' || ($14::name[])[1 + {_rand("n", 11, 35)} % cardinality($14::name[])]::text
                     || '****' || lpad({_rand("n", 12, 10000)}::text, 4, '0') END,
           CASE WHEN wave IS NULL
                THEN $22::timestamptz + $23::interval * power(({_rand("n", 13, 1000000)}
                     / 1e6)::float8, 2.5)
                ELSE $22::timestamptz + (($7::timestamptz[])[wave] - $22::timestamptz)
                     * ({_rand("n", 13, 1000000)} / 1e6)::float8 END,
           CASE WHEN female THEN $19 ELSE $20 END,
           CASE WHEN {_rand("n", 14, 1000)} < CASE WHEN offline THEN {
        round(_DISABLED_SHARE_OFFLINE * 1000)
    } ELSE {round(_DISABLED_SHARE_ONLINE * 1000)} END
                THEN ARRAY[($21::text[])[1 + {_rand("n", 15, 4)}]] ELSE '{{}}'::text[] END
      FROM (
        SELECT n, rank, regency, offline, female, birth, wave, {card_body_sql("n")} AS card_body,
               ($4::name[])[regency]::text || lpad((1 + {_rand("n", 16, 20)})::text, 2, '0')
               || lpad((extract(day FROM birth)::int + CASE WHEN female THEN 40 ELSE 0 END)
                       ::text, 2, '0')
               || to_char(birth, 'MMYY') || lpad((rank / {_AGE_DAYS} + 1)::text, 4, '0') AS nik
          FROM (
            SELECT n, rank,
                   CASE WHEN n <= cardinality($4::name[]) THEN n::int
                        ELSE ($3::int[])[1 + {_rand("n", 1, _REGENCY_BUCKETS)}] END AS regency,
                   n <= cardinality($4::name[]) OR {_rand("n", 2, 1000)}
                       < {round(OFFLINE_SHARE * 1000)} AS offline,
                   {_rand("n", 3, 2)} = 1 AS female,
                   ($24::date - (rank % {_AGE_DAYS})::int) AS birth,
                   CASE WHEN rank < {scale.recipients}
                        THEN ($6::int[])[1 + {_rand("n", 4, 100)}] END AS wave
              FROM (SELECT n, (n - 1) * $25::bigint % $26::bigint AS rank0
                      FROM generate_series($27::bigint, $28::bigint) AS n) g0,
                   LATERAL (SELECT (rank0 + $29::bigint) % $26::bigint AS rank) r
            -- OFFSET 0 keeps each level a subquery: flattened, every use of a column
            -- (female, wave, card_body, nik...) would recompute its expression.
            OFFSET 0
          ) g1
        OFFSET 0
      ) g2
      LEFT JOIN seed_offer_counts oc ON oc.wave_id = g2.wave AND g2.rank < {scale.buyers}
           AND oc.kind = {_offer_kind_sql("g2.rank", scale)}
      LEFT JOIN seed_offers bought ON bought.wave_id = g2.wave AND bought.kind = oc.kind
           AND bought.k = 1 + {_offer_draw("g2.n")} % oc.offers
    """  # noqa: S608 - only integers of ours are joined in; values are bound
    multiplier = _coprime_multiplier(max(count, 1))
    disabilities = ["PHYSICAL", "INTELLECTUAL", "MENTAL", "SENSORY"]
    fixed = (
        ParticipantStatus.REGISTERED.value,
        ParticipantStatus.RECIPIENT.value,
        RegistrationChannel.OFFLINE.value,
        RegistrationChannel.ONLINE.value,
        Sex.FEMALE.value,
        Sex.MALE.value,
        disabilities,
        launch,
        span,
        youngest,
        multiplier,
        count,
    )
    return statement, (*parameters, *fixed)


# The rank's additive constant: with the multiplier, the permutation of registrant numbers.
_RANK_OFFSET: Final = 31_415_926_535


def _rank_sql(scale: FullScale) -> str:
    """The permutation rank of ``p.id`` (as in ``_participants``)."""
    multiplier = _coprime_multiplier(scale.registrants)
    offset = _RANK_OFFSET % scale.registrants
    return f"(((p.id - 1) * {multiplier} % {scale.registrants} + {offset}) % {scale.registrants})"


def _offer_kind_sql(rank: str, scale: FullScale) -> str:
    """The kind of offer a buyer of this rank takes: one not started by AS_OF for the
    unredeemed (ranks just above the completers'), one started for everyone else."""
    upper = scale.completers + scale.unredeemed
    return (
        f"CASE WHEN {rank} >= {scale.completers} AND {rank} < {upper} "
        f"THEN {_OFFER_LATER} ELSE {_OFFER_STARTED} END"
    )


def _offer_draw(participant_id: str) -> str:
    """Which of its wave's offers a buyer takes (``seed_offers.k`` = 1 + draw % their count)."""
    return _rand(participant_id, 21, 1 << 30)


async def _offers(connection: Any, inputs: FullInputs) -> None:
    # Per wave, the offers a recipient of it could buy within the purchase window
    # (``_BUY_WITHIN`` of the wave's opening, before its deadline) and finish by ``AS_OF``:
    # an approved course of an active provider, listed by the platform, priced within the
    # balance, without age or education rule (admitted whoever buys: core.eligibility), on a
    # schedule still running ``_SESSIONS_SPAN`` after the last possible purchase.
    # The unredeemed buy a schedule starting after AS_OF instead.
    await connection.execute(
        f"""
        CREATE UNLOGGED TABLE seed_offers AS
        SELECT w.id AS wave_id, kind.kind,
               row_number() OVER (PARTITION BY w.id, kind.kind ORDER BY s.id, l.platform_id)
                   AS k,
               s.id AS schedule_id, c.id AS course_id, c.price, l.platform_id, s.starts_at,
               s.ends_at, w.opens_at
          FROM waves w
          CROSS JOIN (VALUES ({_OFFER_STARTED}), ({_OFFER_LATER})) AS kind(kind)
          JOIN schedules s ON CASE kind.kind WHEN {_OFFER_STARTED} THEN s.starts_at < $4
                                             ELSE s.starts_at > $5 END
               AND s.ends_at > greatest(s.starts_at, w.opens_at + {_BUY_FROM} + {_BUY_WITHIN})
                               + {_SESSIONS_SPAN}
          JOIN courses c ON c.id = s.course_id
          JOIN partners pr ON pr.id = c.provider_id AND pr.status = $1
          JOIN course_listings l ON l.course_id = c.id
         WHERE c.status = $2 AND c.min_age IS NULL AND c.max_age IS NULL
           AND c.min_education IS NULL AND c.price <= $3
        """,  # noqa: S608 - only our interval literals are joined in
        "ACTIVE",
        "APPROVED",
        SCHEME_2020.training_balance,
        timeline.AS_OF - timedelta(days=30),
        timeline.AS_OF,
    )
    await connection.execute(
        "CREATE UNLOGGED TABLE seed_offer_counts AS "
        "SELECT wave_id, kind, count(*) AS offers FROM seed_offers GROUP BY wave_id, kind"
    )
    await connection.execute("ANALYZE seed_offers, seed_offer_counts")  # for the joins' plans
    offered = int(await connection.fetchval("SELECT count(*) FROM seed_offer_counts"))
    assert offered == 2 * len(inputs.waves), "a wave has no course its recipients could buy"


async def _buyers(connection: Any, scale: FullScale) -> None:
    """The buyers (``seed_buyers``, the completers among them ``seed_completers``), from
    which ``_journeys`` and ``_incentives`` make their rows. Each buyer (rank < B) bought one
    training (purchase id = rank + 1). A completer (rank < C) redeemed it, attended sessions
    1-3 and the post-test, completed it and holds its certificate; an unredeemed buyer's
    training starts after AS_OF; a started one attended its first session."""
    rank = _rank_sql(scale)
    # Bought (authorized) within the window, redeemed an hour later or when the schedule
    # starts, whichever is later (not at all when that is after AS_OF).
    await connection.execute(
        f"""
        CREATE UNLOGGED TABLE seed_buyers AS
        SELECT p.participant_id, p.purchase_id, p.wave_id, p.full_name, p.phone_masked,
               o.schedule_id, o.course_id, o.price, o.platform_id, o.starts_at, o.ends_at,
               p.bought_at,
               CASE WHEN o.kind = {_OFFER_STARTED}
                    THEN greatest(p.bought_at + interval '1 hour', o.starts_at) END
                   AS redeemed_at
          FROM (SELECT p0.*, 1 + p0.draw % oc.offers AS k
          FROM (SELECT p.id AS participant_id, {rank} + 1 AS purchase_id, p.wave_id,
                       p.full_name, p.phone_masked,
                       w.opens_at + {_BUY_FROM}
                       + interval '1 second' * {_rand("p.id", 20, _BUY_WITHIN_SECONDS)}
                           AS bought_at,
                       {_offer_draw("p.id")} AS draw,
                       {_offer_kind_sql(rank, scale)} AS kind
                  FROM participants p JOIN waves w ON w.id = p.wave_id
                 WHERE {rank} < {scale.buyers}) p0
          JOIN seed_offer_counts oc ON oc.wave_id = p0.wave_id AND oc.kind = p0.kind
          -- OFFSET 0: the offer's number is computed before seed_offers is joined, so
          -- the join hashes on it (joined the other way, every buyer would be compared
          -- with every offer of its wave).
          OFFSET 0) p
          JOIN seed_offers o ON o.wave_id = p.wave_id AND o.kind = p.kind AND o.k = p.k
        """  # noqa: S608 - only integers of ours are joined in
    )
    await connection.execute(
        "CREATE UNLOGGED TABLE seed_completers AS "
        "SELECT * FROM seed_buyers WHERE purchase_id <= $1",
        scale.completers,
    )
    await connection.execute("ANALYZE seed_buyers, seed_completers")  # for the joins' plans


Statement = tuple[str, tuple[Any, ...]]


def _sql(statement: str, *arguments: Any) -> Statement:
    return statement, arguments


def _journeys(scale: FullScale) -> list[Statement]:
    """The buyers' purchases, platform accounts, attendances, completions and certificates
    (from ``_buyers``' tables)."""
    statements: list[Statement] = []
    statements.append(
        _sql(
            """
            INSERT INTO platform_accounts (platform_id, platform_user_id, participant_id,
                created_at)
            SELECT platform_id, 'g' || participant_id, participant_id,
                   bought_at - interval '3 days' FROM seed_buyers
            """
        )
    )
    statements.append(
        _sql(
            """
            INSERT INTO purchases (id, platform_id, participant_id, course_id, schedule_id,
                platform_user_id, invoice_code, amount, status, transaction_code, redeem_code,
                otp_attempts, created_at, authorized_at, redeemed_at)
            SELECT purchase_id, platform_id, participant_id, course_id, schedule_id,
                   'g' || participant_id,
                   'INV/' || to_char(bought_at, 'YYYYMMDD') || '/G'
                       || lpad(purchase_id::text, 8, '0'),
                   price, $1,
                   'TRX-' || to_char(bought_at, 'YYMMDD') || '-G'
                       || lpad(purchase_id::text, 8, '0'),
                   'G' || left(lpad(purchase_id::text, 9, '0'), 4) || '-'
                       || right(lpad(purchase_id::text, 9, '0'), 5),
                   1, bought_at - interval '5 minutes', bought_at, redeemed_at
              FROM seed_buyers
            """,
            PurchaseStatus.SUCCESS.value,
        )
    )
    statements.append(
        _sql(
            """
            INSERT INTO attendances (id, purchase_id, sequence, score, attended_at, created_at)
            SELECT (purchase_id - 1) * 4 + step, purchase_id, seq,
                   CASE WHEN seq = 999 THEN 60 + purchase_id % 41 END,
                   redeemed_at + interval '1 day' * (step - 1),
                   redeemed_at + interval '1 day' * (step - 1)
              FROM seed_completers, (VALUES (1, 1), (2, 2), (3, 3), (4, 999)) AS s(step, seq)
            """
        )
    )
    statements.append(
        _sql(
            f"""
            INSERT INTO attendances (id, purchase_id, sequence, score, attended_at, created_at)
            SELECT (purchase_id - 1) * 4 + 1, purchase_id, 1, NULL, redeemed_at, redeemed_at
              FROM seed_buyers WHERE purchase_id > {scale.completers} AND redeemed_at IS NOT NULL
            """  # noqa: S608 - only integers of ours are joined in
        )
    )
    statements.append(
        _sql(
            """
            INSERT INTO completions (id, purchase_id, participant_id, score, completed_at,
                created_at)
            SELECT purchase_id, purchase_id, participant_id, 60 + purchase_id % 41,
                   redeemed_at + interval '3 days 2 hours', redeemed_at + interval '3 days 2 hours'
              FROM seed_completers
            """
        )
    )
    # Half a status list's entries to a list, spread over it by an odd multiplier
    # (a bijection modulo its power-of-two size), as the live path leaves them.
    half = STATUS_LIST_SIZE // 2
    statements.append(
        _sql(
            f"""
            INSERT INTO certificates (id, number, completion_id, participant_id, course_id, status,
                issued_at, status_list, status_index)
            SELECT purchase_id, 'CERT-2020-G' || lpad(purchase_id::text, 7, '0'), purchase_id,
                   participant_id, course_id, $1,
                   redeemed_at + interval '3 days 2 hours 10 minutes',
                   1 + (purchase_id - 1) / {half},
                   ((purchase_id - 1) % {half}) * 40503 % {STATUS_LIST_SIZE}
              FROM seed_completers
            """,  # noqa: S608 - only integers of ours are joined in
            CertificateStatus.VALID.value,
        )
    )
    return statements


def _incentives(scale: FullScale, inputs: FullInputs) -> list[Statement]:
    """The completers' payment accounts and installments."""
    statements: list[Statement] = []
    payment = inputs.partners.payment_partners
    banks = [p for p in payment if p.source.kind is PaymentAccountKind.BANK]
    shares = _buckets([p.source.share for p in payment], 100, range(len(payment)))
    statements.append(
        _sql(
            f"""
            INSERT INTO payment_accounts (id, participant_id, payment_partner_id, kind,
                account_reference, account_number, account_masked, holder_name, name_matched,
                is_primary, verified_at, created_at)
            SELECT purchase_id, participant_id, partner, kind,
                   'acct_g' || lpad(purchase_id::text, 12, '0'),
                   CASE WHEN kind = $5 THEN replace(phone_masked, '****',
                            lpad((purchase_id % 10000)::text, 4, '0'))
                        ELSE '9' || lpad(purchase_id::text, 12, '0') END,
                   CASE WHEN kind = $5 THEN phone_masked
                        ELSE '********' || right(lpad(purchase_id::text, 12, '0'), 4) END,
                   upper(full_name), true, true, redeemed_at + interval '1 day',
                   redeemed_at + interval '23 hours'
              FROM (SELECT c.*,
                           CASE WHEN c.phone_masked IS NULL
                                THEN ($3::bigint[])[1 + {_rand("c.participant_id", 30, len(banks))}]
                                ELSE ($1::bigint[])[1 + ($4::int[])[1 + {
                _rand("c.participant_id", 31, 100)
            }]] END AS partner
                      FROM seed_completers c) c
              JOIN (SELECT unnest($1::bigint[]) AS id, unnest($2::text[]) AS kind) k
                ON k.id = c.partner
            """,  # noqa: S608 - only integers of ours are joined in
            [p.id for p in payment],
            [p.source.kind.value for p in payment],
            [p.id for p in banks],
            shares,
            PaymentAccountKind.EWALLET.value,
        )
    )
    # The scheme's plan, as offsets from the completion (core.incentives).
    reference = timeline.AS_OF
    plan = installment_plan(SCHEME_2020, reference)
    statements.append(
        _sql(
            f"""
            INSERT INTO incentive_installments (id, participant_id, kind, sequence, amount, due_at,
                status, created_at)
            SELECT (c.purchase_id - 1) * {len(plan)} + s.position, c.participant_id, s.kind,
                   s.sequence, s.amount, c.completed_at + s.due_after,
                   CASE WHEN s.due_after IS NULL THEN $6
                        WHEN s.kind = $7 AND s.sequence = 1
                             AND c.purchase_id <= {scale.paid} THEN $8
                        WHEN c.completed_at + s.due_after <= $9 THEN $10 ELSE $6 END,
                   c.completed_at
              FROM (SELECT purchase_id, participant_id,
                           redeemed_at + interval '3 days 2 hours' AS completed_at
                      FROM seed_completers) c,
                   unnest($1::int[], $2::text[], $3::int[], $4::bigint[], $5::interval[])
                       AS s(position, kind, sequence, amount, due_after)
            """,  # noqa: S608 - only integers of ours are joined in
            list(range(1, len(plan) + 1)),
            [planned.kind.value for planned in plan],
            [planned.sequence for planned in plan],
            [planned.amount for planned in plan],
            [None if planned.due_at is None else planned.due_at - reference for planned in plan],
            InstallmentStatus.SCHEDULED.value,
            IncentiveKind.TRAINING.value,
            InstallmentStatus.PAID.value,
            timeline.AS_OF,
            InstallmentStatus.DUE.value,
        )
    )
    return statements


async def _disbursements(connection: Any, counts: Counts) -> None:
    """Paid people: purchase ids 1..P (ranks below P). Batches per payment partner and
    fortnight of the installment's due date, as the demo's (``put_back`` says when)."""
    await connection.execute(
        f"""
        CREATE TEMP TABLE full_paid ON COMMIT DROP AS
        SELECT row_number() OVER (ORDER BY batch_key, s.id) AS item_id,
               dense_rank() OVER (ORDER BY batch_key) AS batch_id,
               s.id AS installment_id, a.id AS account_id, a.payment_partner_id, s.amount,
               s.due_at, batch_key
          FROM incentive_installments s
          JOIN payment_accounts a ON a.participant_id = s.participant_id
          CROSS JOIN LATERAL (SELECT (a.payment_partner_id,
                   floor(extract(epoch FROM s.due_at - $2::timestamptz)
                         / {_BATCH_PERIOD_DAYS * 86400})::int)::text AS batch_key) b
         WHERE s.status = $1
        """,  # noqa: S608 - only integers of ours are joined in
        InstallmentStatus.PAID.value,
        timeline.PROGRAMME_LAUNCH,
    )
    counts["disbursement_batches"] = _inserted(
        await connection.execute(
            """
        INSERT INTO disbursement_batches (id, code, payment_partner_id, item_count, control_sum,
            status, created_at, acknowledged_at, completed_at)
        SELECT batch_id, 'BATCH-' || pr.code || '-G' || lpad(batch_id::text, 4, '0'),
               f.payment_partner_id, count(*), sum(f.amount), $1,
               max(f.due_at) + interval '2 hours', max(f.due_at) + interval '3 hours',
               max(f.due_at) + interval '1 day'
          FROM full_paid f JOIN partners pr ON pr.id = f.payment_partner_id
         GROUP BY batch_id, pr.code, f.payment_partner_id
        """,
            BatchStatus.COMPLETED.value,
        )
    )
    counts["disbursement_items"] = _inserted(
        await connection.execute(
            """
        INSERT INTO disbursement_items (id, batch_id, installment_id, payment_account_id,
            end_to_end_id, amount, status, partner_reference, reported_at, created_at)
        SELECT item_id, batch_id, installment_id, account_id,
               'PRK2020G' || lpad(item_id::text, 12, '0'), amount, $1,
               'REF-G' || item_id, due_at + interval '12 hours', due_at + interval '2 hours'
          FROM full_paid
        """,
            DisbursementItemStatus.PAID.value,
        )
    )
    counts["disbursement_reports"] = _inserted(
        await connection.execute(
            """
        INSERT INTO disbursement_reports (id, item_id, status, partner_reference, reported_at,
            received_at, applied)
        SELECT item_id, item_id, $1, 'REF-G' || item_id, due_at + interval '12 hours',
               due_at + interval '12 hours 30 seconds', true
          FROM full_paid
        """,
            DisbursementResult.PAID.value,
        )
    )


async def _seats(connection: Any) -> None:
    """Seats taken equal successful purchases per schedule; a schedule sold beyond its seats
    (the generated purchases pick schedules evenly) has its quota raised to what it sold."""
    await connection.execute(
        """
        UPDATE schedules s
           SET quota = greatest(s.quota, coalesce(t.taken, 0)),
               remaining = greatest(s.quota, coalesce(t.taken, 0)) - coalesce(t.taken, 0)
          FROM schedules x
          LEFT JOIN (SELECT schedule_id, count(*) AS taken FROM purchases
                      WHERE status = $1 GROUP BY schedule_id) t ON t.schedule_id = x.id
         WHERE s.id = x.id
        """,
        PurchaseStatus.SUCCESS.value,
    )
