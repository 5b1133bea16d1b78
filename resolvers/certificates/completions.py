"""``submitCompletions``: a provider's completions become certificates, up to 500 a call.

Speed without giving up the per-item rule. Every item is checked against one read of all
the call's redeem codes (purchase, course, provider, redemption, post-test, earlier
completion, scheme); the valid ones are signed with the one active key, loaded once (each
course's credential is serialized once, as a template the items fill), and written by one
statement (completions, certificates and their audit records together) inside one
savepoint, whose returned ids complete the records the call answers with. That statement
cannot refuse an item: an earlier or racing completion of a purchase is skipped by
``ON CONFLICT`` and answered ``ALREADY_COMPLETED``.
Should it fail anyway (two requests drew the same status-list entry), its savepoint rolls
back and the items are written again one by one, each in a savepoint of its own with a
fresh entry, so one item's failure never undoes another's success.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    SmallInteger,
    String,
    Text,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import AUDIT_PARAMETERS, Actor, audit_values
from core.db.session import execute_core
from core.enums import CertificateStatus, EventType, LearningMethod, PurchaseStatus
from core.errors import ErrorCode, GatewayError
from core.models import Certificate
from resolvers.certificates import status_list
from resolvers.certificates.credentials import (
    CourseFacts,
    CredentialTemplate,
    Issuer,
    build_credential,
    identity_hash,
    new_certificate_number,
    sign,
    sign_payload,
)
from resolvers.certificates.installments import (
    FirstCompletion,
    SchemeRow,
    create_first_installments,
)
from resolvers.certificates.keys import SigningKey, signing_key
from resolvers.certificates.queries import records_by_number
from resolvers.certificates.records import (
    CertificateRecord,
    CompletionItem,
    ItemError,
    ItemResult,
)
from resolvers.enrollment import POST_TEST_SEQUENCE, REDEMPTION_SEQUENCE
from resolvers.events import record_certificate_events
from resolvers.tenancy import may_complete

MAX_ITEMS: Final = 500
MAX_EVIDENCE_URL: Final = 500
# A provider's clock may run a little ahead of ours; further ahead is a wrong date.
CLOCK_SKEW: Final = timedelta(minutes=5)


@dataclass
class Timings:
    """Where a call's time went (the benchmark reports signing separately)."""

    signing_seconds: float = 0.0
    signed: int = 0


_READ = text(
    """
    SELECT i.ord, i.code, p.id AS purchase_id, p.status AS purchase_status,
           p.participant_id, p.course_id, p.redeemed_at,
           c.provider_id, c.code AS course_code, c.title AS course_title,
           c.description AS course_description, c.hours, c.learning_method,
           pr.code AS provider_code, pr.name AS provider_name, s.starts_at,
           redemption.attended_at AS redeemed_attended_at,
           post.attended_at AS post_test_at, post.score,
           part.card_number, p.invoice_code, platform.code AS platform_code,
           sch.incentive_amount, sch.incentive_count, sch.survey_incentive_amount,
           sch.survey_count,
           cert.number AS existing_number,
           -- Row-level security hides another provider's purchase: whether the code is
           -- someone's is a fact of its own (migration 0017), so the refusal says so.
           p.id IS NULL AND prakerja_redeem_code_taken(i.code) AS taken_elsewhere
      FROM unnest(:codes) WITH ORDINALITY AS i(code, ord)
      LEFT JOIN purchases p ON p.redeem_code = i.code
      LEFT JOIN courses c ON c.id = p.course_id
      LEFT JOIN partners pr ON pr.id = c.provider_id
      LEFT JOIN partners platform ON platform.id = p.platform_id
      LEFT JOIN schedules s ON s.id = p.schedule_id
      LEFT JOIN attendances redemption
             ON redemption.purchase_id = p.id AND redemption.sequence = :redemption
      LEFT JOIN attendances post ON post.purchase_id = p.id AND post.sequence = :post_test
      LEFT JOIN participants part ON part.id = p.participant_id
      LEFT JOIN waves w ON w.id = part.wave_id
      LEFT JOIN schemes sch ON sch.id = w.scheme_id
      LEFT JOIN completions done ON done.purchase_id = p.id
      LEFT JOIN certificates cert ON cert.completion_id = done.id
     ORDER BY i.ord
    """
).bindparams(bindparam("codes", type_=ARRAY(Text)))

_WRITE = text(
    """
    WITH input AS (
        SELECT * FROM unnest(:purchase_ids, :participant_ids, :course_ids, :scores,
                             :completed_ats, :evidence_urls, :numbers, :status_lists,
                             :status_indexes, :jwts)
            AS t(purchase_id, participant_id, course_id, score, completed_at, evidence_url,
                 number, status_list, status_index, credential_jwt)
    ), done AS (
        INSERT INTO completions (purchase_id, participant_id, score, completed_at,
                                 submitted_by_client_id, evidence_url)
        SELECT purchase_id, participant_id, score, completed_at, :client_id, evidence_url
          FROM input
        ON CONFLICT (purchase_id) DO NOTHING
        RETURNING id, purchase_id
    ), changed AS (
        INSERT INTO certificates (number, completion_id, participant_id, course_id, status,
                                  issued_at, status_list, status_index, credential_jwt)
        SELECT input.number, done.id, input.participant_id, input.course_id, :status,
               :issued_at, input.status_list, input.status_index, input.credential_jwt
          FROM input JOIN done ON done.purchase_id = input.purchase_id
        RETURNING id, number
    ), audit AS (
        INSERT INTO audit_log (action, actor_client_id, actor_partner_id, request_id,
                               source_ip, entity_type, entity_id, before, after, detail)
        SELECT :action, :actor_client_id, :actor_partner_id, :request_id,
               CAST(:source_ip AS inet), :entity_type, CAST(changed.id AS text),
               CAST(:before AS jsonb), CAST(:after AS jsonb),
               CAST(:detail AS jsonb) || jsonb_build_object('number', changed.number)
          FROM changed
    )
    SELECT id, number FROM changed
    """
).bindparams(
    bindparam("purchase_ids", type_=ARRAY(BigInteger)),
    bindparam("participant_ids", type_=ARRAY(BigInteger)),
    bindparam("course_ids", type_=ARRAY(BigInteger)),
    bindparam("scores", type_=ARRAY(SmallInteger)),
    bindparam("completed_ats", type_=ARRAY(DateTime(timezone=True))),
    bindparam("evidence_urls", type_=ARRAY(String)),
    bindparam("numbers", type_=ARRAY(String)),
    bindparam("status_lists", type_=ARRAY(Integer)),
    bindparam("status_indexes", type_=ARRAY(Integer)),
    bindparam("jwts", type_=ARRAY(Text)),
    bindparam("status", type_=Certificate.__table__.c.status.type),
    bindparam("issued_at", type_=DateTime(timezone=True)),
    *AUDIT_PARAMETERS,
)

_EXISTING = text(
    """
    SELECT done.purchase_id, cert.number
      FROM completions done JOIN certificates cert ON cert.completion_id = done.id
     WHERE done.purchase_id = ANY(:purchase_ids)
    """
).bindparams(bindparam("purchase_ids", type_=ARRAY(BigInteger)))


@dataclass
class _Valid:
    position: int
    item: CompletionItem
    row: Any
    number: str = ""
    entry: status_list.StatusEntry | None = None
    jwt: str = ""


def _pre_check(item: CompletionItem, now: datetime) -> ItemError | None:
    url = item.evidence_url
    if url is not None and (
        not url.startswith("https://") or len(url) > MAX_EVIDENCE_URL or " " in url
    ):
        return ItemError(
            ErrorCode.EVIDENCE_URL_INVALID,
            f"evidenceUrl must be an https:// URL of at most {MAX_EVIDENCE_URL} characters",
            field="evidenceUrl",
        )
    if item.completed_at.tzinfo is None:
        return ItemError(
            ErrorCode.BAD_USER_INPUT, "completedAt needs a time zone", field="completedAt"
        )
    if item.completed_at > now + CLOCK_SKEW:
        return ItemError(
            ErrorCode.COMPLETED_IN_FUTURE,
            "completedAt lies in the future: send the moment the training was completed",
            field="completedAt",
        )
    return None


def _check(item: CompletionItem, row: Any, principal: Any) -> ItemError | None:
    if row.taken_elsewhere:
        return ItemError(
            ErrorCode.NOT_YOUR_COURSE,
            "this redeem code is for another provider's course",
            "redeemCode",
        )
    if row.purchase_id is None or row.purchase_status not in (
        PurchaseStatus.SUCCESS.value,
        PurchaseStatus.VOIDED.value,
    ):
        return ItemError(
            ErrorCode.REDEEM_CODE_NOT_FOUND, "no purchase has this redeem code", "redeemCode"
        )
    if not may_complete(principal, row.provider_id):
        return ItemError(
            ErrorCode.NOT_YOUR_COURSE,
            "this redeem code is for another provider's course",
            "redeemCode",
        )
    if row.purchase_status == PurchaseStatus.VOIDED.value:
        return ItemError(
            ErrorCode.PURCHASE_VOIDED, "the platform voided this purchase", "redeemCode"
        )
    if row.existing_number is not None:
        return None  # answered with its certificate by the caller
    if row.redeemed_attended_at is None:
        return ItemError(
            ErrorCode.NOT_REDEEMED,
            "the code was never redeemed: record attendance sequence 1 first",
            "redeemCode",
        )
    if row.post_test_at is None:
        return ItemError(
            ErrorCode.POSTTEST_MISSING,
            "record the post-test (sequence 999, with its score) first",
            "redeemCode",
        )
    earliest = max(row.starts_at, row.redeemed_attended_at, row.post_test_at)
    if item.completed_at < earliest:
        return ItemError(
            ErrorCode.COMPLETED_BEFORE_START,
            "completedAt is before the schedule's start, the redemption or the post-test "
            f"({earliest.isoformat()})",
            "completedAt",
        )
    return None


async def submit_completions(
    session: AsyncSession,
    actor: Actor,
    issuer: Issuer,
    items: list[CompletionItem],
    *,
    now: datetime,
    timings: Timings | None = None,
) -> list[ItemResult]:
    if not 1 <= len(items) <= MAX_ITEMS:
        raise GatewayError(
            ErrorCode.TOO_MANY_ITEMS,
            f"send 1 to {MAX_ITEMS} items a call",
            maximum=MAX_ITEMS,
        )
    timings = timings or Timings()
    errors: dict[int, ItemError] = {}
    existing: dict[int, str] = {}  # position -> number of the earlier certificate
    seen: set[str] = set()
    pending: list[int] = []
    for position, item in enumerate(items):
        problem = _pre_check(item, now)
        if problem is None and item.redeem_code in seen:
            problem = ItemError(
                ErrorCode.DUPLICATE_IN_REQUEST,
                "this redeem code is already an earlier item of this call",
                "redeemCode",
            )
        seen.add(item.redeem_code)
        if problem is not None:
            errors[position] = problem
        else:
            pending.append(position)

    valid: list[_Valid] = []
    if pending:
        codes = [items[position].redeem_code for position in pending]
        rows = (
            await execute_core(
                session,
                _READ,
                {
                    "codes": codes,
                    "redemption": REDEMPTION_SEQUENCE,
                    "post_test": POST_TEST_SEQUENCE,
                },
            )
        ).all()
        for position, row in zip(pending, rows, strict=True):
            problem = _check(items[position], row, actor.principal)
            if problem is not None:
                errors[position] = problem
            elif row.existing_number is not None:
                existing[position] = row.existing_number
            else:
                valid.append(_Valid(position, items[position], row))

    issued: dict[int, CertificateRecord] = {}
    firsts: list[FirstCompletion] = []
    if valid:
        signer = _Signer(issuer, await signing_key(session, issuer.keys), now, valid)
        entries = await status_list.allocate(session, len(valid))
        started = time.perf_counter()
        for candidate, entry in zip(valid, entries, strict=True):
            signer.sign(candidate, entry)
        timings.signing_seconds += time.perf_counter() - started
        timings.signed += len(valid)
        written = await _write_all(session, actor, signer, valid)
        await record_certificate_events(session, EventType.CERTIFICATE_ISSUED, sorted(written))
        for candidate in valid:
            if candidate.number in written:
                issued[candidate.position] = _issued_record(
                    candidate, written[candidate.number], now
                )
                row = candidate.row
                if row.incentive_amount is not None:
                    firsts.append(
                        FirstCompletion(
                            participant_id=row.participant_id,
                            scheme=SchemeRow(
                                incentive_amount=row.incentive_amount,
                                incentive_count=row.incentive_count,
                                survey_incentive_amount=row.survey_incentive_amount,
                                survey_count=row.survey_count,
                            ),
                            completed_at=candidate.item.completed_at,
                        )
                    )
        lost = [candidate for candidate in valid if candidate.number not in written]
        if lost:
            # Completed meanwhile by a racing request: its certificate is the answer.
            winners = await execute_core(
                session, _EXISTING, {"purchase_ids": [c.row.purchase_id for c in lost]}
            )
            by_purchase = {row.purchase_id: row.number for row in winners}
            for candidate in lost:
                existing[candidate.position] = by_purchase[candidate.row.purchase_id]
        if firsts:
            await create_first_installments(
                session, actor, firsts, [record.number for record in issued.values()], now=now
            )

    earlier = await records_by_number(session, list(existing.values()))
    results: list[ItemResult] = []
    for position, item in enumerate(items):
        if position in issued:
            results.append(ItemResult(item.redeem_code, issued[position], ()))
        elif position in existing:
            certificate = earlier[existing[position]]
            error = ItemError(
                ErrorCode.ALREADY_COMPLETED,
                f"this training was completed before: certificate {certificate.number}",
                "redeemCode",
                certificate,
            )
            results.append(ItemResult(item.redeem_code, None, (error,)))
        else:
            results.append(ItemResult(item.redeem_code, None, (errors[position],)))
    return results


class _Signer:
    """Numbers, status entries and signed credentials for one call's valid items.

    The credentials of one course in one call differ only in number, subject hash and
    status entry, so each course's document is built and serialized once, as a template
    (for a course with one item in the call, making the template would cost more).
    """

    def __init__(self, issuer: Issuer, key: SigningKey, now: datetime, valid: list[_Valid]) -> None:
        self.issuer, self.key, self.now = issuer, key, now
        self._templates: dict[tuple[int, int], CredentialTemplate | None] = {}
        self._items_per_course = Counter(candidate.row.course_id for candidate in valid)

    def sign(self, candidate: _Valid, entry: status_list.StatusEntry) -> None:
        row = candidate.row
        candidate.entry = entry
        candidate.number = new_certificate_number(self.now.year)
        template_key = (row.course_id, entry.status_list)
        if self._items_per_course[row.course_id] < 2:
            self._templates[template_key] = None
        elif template_key not in self._templates:
            self._templates[template_key] = CredentialTemplate.of(
                self.issuer, _course_facts(row), self.now, entry.status_list
            )
        template = self._templates[template_key]
        if template is None:  # one item, or a course text the template cannot hold
            document = build_credential(
                self.issuer,
                number=candidate.number,
                card_number=row.card_number,
                course=_course_facts(row),
                issued_at=self.now,
                status_list=entry.status_list,
                status_index=entry.status_index,
            )
            candidate.jwt = sign(self.key, document)
            return
        digest, salt = identity_hash(row.card_number)
        payload = template.render(
            number=candidate.number, digest=digest, salt=salt, index=str(entry.status_index)
        )
        candidate.jwt = sign_payload(self.key, payload)


def _course_facts(row: Any) -> CourseFacts:
    return CourseFacts(
        code=row.course_code,
        title=row.course_title,
        description=row.course_description,
        hours=row.hours,
        learning_method=LearningMethod(row.learning_method),
        provider_code=row.provider_code,
        provider_name=row.provider_name,
    )


def _issued_record(candidate: _Valid, certificate_id: int, now: datetime) -> CertificateRecord:
    """The record of a certificate this call wrote, from what the call read and wrote: the
    same values ``queries.records_by_number`` would read back (times in UTC, as the
    database answers them), without a statement for them."""
    row, entry = candidate.row, candidate.entry
    assert entry is not None
    return CertificateRecord(
        id=certificate_id,
        number=candidate.number,
        status=CertificateStatus.VALID,
        status_reason=None,
        issued_at=now.astimezone(UTC),
        revoked_at=None,
        suspended_at=None,
        completed_at=candidate.item.completed_at.astimezone(UTC),
        score=row.score,
        evidence_url=candidate.item.evidence_url,
        course_code=row.course_code,
        course_title=row.course_title,
        course_description=row.course_description,
        course_hours=row.hours,
        learning_method=LearningMethod(row.learning_method),
        provider_code=row.provider_code,
        provider_name=row.provider_name,
        platform_code=row.platform_code,
        redeem_code=row.code,
        invoice_code=row.invoice_code,
        status_list=entry.status_list,
        status_index=entry.status_index,
        credential_jwt=candidate.jwt,
    )


def _parameters(actor: Actor, batch: list[_Valid], now: datetime) -> dict[str, Any]:
    return {
        "purchase_ids": [c.row.purchase_id for c in batch],
        "participant_ids": [c.row.participant_id for c in batch],
        "course_ids": [c.row.course_id for c in batch],
        "scores": [c.row.score for c in batch],
        "completed_ats": [c.item.completed_at for c in batch],
        "evidence_urls": [c.item.evidence_url for c in batch],
        "numbers": [c.number for c in batch],
        "status_lists": [c.entry.status_list for c in batch if c.entry],
        "status_indexes": [c.entry.status_index for c in batch if c.entry],
        "jwts": [c.jwt for c in batch],
        "client_id": actor.client_id,
        "status": CertificateStatus.VALID,
        "issued_at": now,
        **audit_values(
            actor=actor,
            action="certificate.issued",
            entity_type="certificate",
            after={"status": CertificateStatus.VALID.value},
            detail={},
        ),
    }


async def _write_all(
    session: AsyncSession, actor: Actor, signer: _Signer, valid: list[_Valid]
) -> dict[str, int]:
    """Writes every valid item; returns the ids of the certificates written by number."""
    now = signer.now
    try:
        async with session.begin_nested():
            rows = await execute_core(session, _WRITE, _parameters(actor, valid, now))
            return {row.number: row.id for row in rows}
    except IntegrityError:
        pass
    written: dict[str, int] = {}
    for candidate in valid:
        for _attempt in range(3):
            try:
                async with session.begin_nested():
                    rows = await execute_core(session, _WRITE, _parameters(actor, [candidate], now))
                    written |= {row.number: row.id for row in rows}
                break
            except IntegrityError as exc:
                if "uq_certificates_status_entry" not in str(exc.orig) and (
                    "uq_certificates_number" not in str(exc.orig)
                ):
                    raise
                (entry,) = await status_list.allocate(session, 1)
                signer.sign(candidate, entry)
    return written
