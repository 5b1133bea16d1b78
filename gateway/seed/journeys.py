"""What happened to each recipient after being selected into a wave.

A recipient buys a training on a platform (sometimes voiding a first purchase), redeems it at
the provider, attends, passes the post-test, gets a certificate, and is owed the incentive,
paid into a verified bank or e-wallet account. Each recipient stops somewhere on that way.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from core.enums import (
    CertificateStatus,
    IncentiveKind,
    InstallmentStatus,
    PaymentAccountKind,
    PurchaseStatus,
)
from core.incentives import installment_plan
from core.models.certificates import STATUS_LIST_SIZE
from gateway.seed import codes, tables, timeline
from gateway.seed.catalog import Catalog, Offer, Slot, SlotWindow
from gateway.seed.loader import RowBuffer
from gateway.seed.partners import Partners, PaymentPartner, Platform
from gateway.seed.people import Person
from gateway.seed.programme import Wave

POST_TEST: Final = 999
# A training starts within two weeks of its purchase.
_START_WITHIN: Final = timedelta(days=14)


class Outcome(Enum):
    """How far a recipient got by the demo's "today" (``timeline.AS_OF``)."""

    NO_PURCHASE = "no purchase"
    PURCHASED = "bought, not yet redeemed"
    STARTED = "redeemed, not (yet) completed"
    COMPLETED = "completed and certified"


@dataclass(frozen=True, slots=True)
class PaidInstallment:
    """An installment paid through a disbursement batch; batches are made at the end."""

    installment_id: int
    payment_account_id: int
    payment_partner_id: int
    amount: int
    due_at: datetime


class ExactQuota:
    """Picks exactly ``wanted`` of ``population`` items met one by one, each equally likely.

    Selection sampling (Knuth's Algorithm S): the programme's proportions hold exactly at any
    size while rows are still generated as a stream.
    """

    def __init__(self, wanted: int, population: int) -> None:
        self.wanted = wanted
        self._left_to_pick = wanted
        self._left_to_see = population

    def take(self, rng: random.Random) -> bool:
        picked = self._left_to_see > 0 and rng.random() * self._left_to_see < self._left_to_pick
        self._left_to_see -= 1
        if picked:
            self._left_to_pick -= 1
        return picked


class _StatusEntries:
    """Random, distinct status-list entries, half a list's size to a list (as the live path
    fills them). A random generator of its own: the rest of the seed draws as before."""

    def __init__(self) -> None:
        self._rng = random.Random(0x5747)
        self._list = 0
        self._free: list[int] = []

    def __call__(self) -> tuple[int, int]:
        if not self._free:
            self._list += 1
            self._free = self._rng.sample(range(STATUS_LIST_SIZE), STATUS_LIST_SIZE // 2)
        return self._list, self._free.pop()


class _Ids:
    def __init__(self) -> None:
        self._next = itertools.count(1)

    def __call__(self) -> int:
        return next(self._next)


class JourneyMaker:
    def __init__(self, rng: random.Random, catalog: Catalog, partners: Partners) -> None:
        self._rng = rng
        self._catalog = catalog
        self._platforms = partners.platforms
        self._platform_weights = list(
            itertools.accumulate(p.source.market_share for p in partners.platforms)
        )
        self._payment_partners = partners.payment_partners
        self._payment_weights = list(
            itertools.accumulate(p.source.share for p in partners.payment_partners)
        )
        self._banks = [
            p for p in partners.payment_partners if p.source.kind is PaymentAccountKind.BANK
        ]
        self._purchase_id = _Ids()
        self._attendance_id = _Ids()
        self._completion_id = _Ids()
        self._payment_account_id = _Ids()
        self._installment_id = _Ids()
        self._status_entry = _StatusEntries()
        self._invoice_serials = {platform.id: _Ids() for platform in partners.platforms}
        self.paid: list[PaidInstallment] = []
        # Purchases that took a schedule outside the preferred window, and recipients who
        # found no seat at all: both only happen when the catalogue runs short of seats.
        self.fallbacks = 0
        self.unserved = 0

    def follow(
        self,
        buffer: RowBuffer,
        participant_id: int,
        person: Person,
        wave: Wave,
        outcome: Outcome,
        *,
        voided_first: bool,
        paid_quota: ExactQuota,
    ) -> int:
        """Writes the recipient's rows; returns what was spent of the training balance."""
        rng = self._rng
        earliest = wave.opens_at + timedelta(hours=6)
        deadline = wave.purchase_deadline - timedelta(hours=1)
        accounts: set[int] = set()  # platforms where this participant has an account
        if voided_first:
            earliest = self._voided_purchase(
                buffer, participant_id, person, accounts, earliest, deadline
            )
        if outcome is Outcome.NO_PURCHASE:
            return 0

        at = timeline.moment_between(rng, earliest, deadline)
        found = self._find_for(outcome, person, at)
        if found is None:
            self.unserved += 1
            return 0
        platform, offer, slot = found
        slot.remaining -= 1
        if outcome is Outcome.PURCHASED:
            self._purchase(buffer, participant_id, accounts, platform, offer, slot, at)
            return offer.price

        redeemed_at = self._redeemed_at(at, slot)
        purchase_id = self._purchase(
            buffer, participant_id, accounts, platform, offer, slot, at, redeemed_at=redeemed_at
        )
        self._attend(buffer, purchase_id, 1, redeemed_at)
        if outcome is Outcome.STARTED:
            second = redeemed_at + timedelta(hours=rng.randint(20, 120))
            if rng.random() < 0.5 and second < timeline.AS_OF:
                self._attend(buffer, purchase_id, 2, second)
            return offer.price

        completed_at = self._complete(buffer, participant_id, purchase_id, offer, redeemed_at, slot)
        account_id, payment_partner = self._payment_account(
            buffer, participant_id, person, at, completed_at
        )
        self._installments(
            buffer, participant_id, wave, completed_at, account_id, payment_partner, paid_quota
        )
        return offer.price

    def _voided_purchase(
        self,
        buffer: RowBuffer,
        participant_id: int,
        person: Person,
        accounts: set[int],
        earliest: datetime,
        deadline: datetime,
    ) -> datetime:
        """A purchase the platform voided before redemption (seat and balance came back).

        Returns the earliest moment of the next purchase.
        """
        rng = self._rng
        at = timeline.moment_between(rng, earliest, deadline - timedelta(days=3))
        found = self._find(person, at, SlotWindow(ends_after=at))
        if found is None:
            return earliest
        platform, offer, slot = found
        voided_at = at + timedelta(minutes=rng.randint(10, 24 * 60))
        self._purchase(
            buffer, participant_id, accounts, platform, offer, slot, at, voided_at=voided_at
        )
        return voided_at + timedelta(hours=1)

    def _find_for(
        self, outcome: Outcome, person: Person, at: datetime
    ) -> tuple[Platform, Offer, Slot] | None:
        """A schedule that fits the outcome: not started yet for a purchase still unredeemed,
        starting soon for one redeemed; any reasonable one when no such seat is left."""
        if outcome is Outcome.PURCHASED:
            window = SlotWindow(starts_after=timeline.AS_OF)
            fallback = SlotWindow(ends_after=at)
        else:
            window = SlotWindow(
                starts_before=at + _START_WITHIN, ends_after=at + timedelta(hours=6)
            )
            fallback = SlotWindow(starts_before=timeline.AS_OF - _START_WITHIN, ends_after=at)
        found = self._find(person, at, window)
        if found is None:
            self.fallbacks += 1
            found = self._find(person, at, fallback)
        return found

    def _find(
        self, person: Person, at: datetime, window: SlotWindow
    ) -> tuple[Platform, Offer, Slot] | None:
        """On the participant's favourite platform first, then on any other."""
        rng = self._rng
        favourite = rng.choices(self._platforms, cum_weights=self._platform_weights)[0]
        others = [platform for platform in self._platforms if platform is not favourite]
        for platform in (favourite, *others):
            found = self._catalog.find(
                rng, platform.id, person.birth_date, person.education.rank, at, window
            )
            if found is not None:
                return platform, *found
        return None

    def _purchase(
        self,
        buffer: RowBuffer,
        participant_id: int,
        accounts: set[int],
        platform: Platform,
        offer: Offer,
        slot: Slot,
        authorized_at: datetime,
        *,
        redeemed_at: datetime | None = None,
        voided_at: datetime | None = None,
    ) -> int:
        rng = self._rng
        user_id = codes.platform_user_id(platform.source.user_prefix, participant_id, platform.id)
        started_at = authorized_at - timedelta(seconds=rng.randint(40, 480))  # OTP sent
        if platform.id not in accounts:
            accounts.add(platform.id)
            linked_at = started_at - timedelta(minutes=rng.randint(1, 3 * 24 * 60))
            buffer.add(tables.PLATFORM_ACCOUNTS, (platform.id, user_id, participant_id, linked_at))
        purchase_id = self._purchase_id()
        invoice = codes.invoice_code(authorized_at, self._invoice_serials[platform.id]())
        status = PurchaseStatus.VOIDED if voided_at is not None else PurchaseStatus.SUCCESS
        buffer.add(
            tables.PURCHASES,
            (
                purchase_id,
                platform.id,
                participant_id,
                offer.id,
                slot.id,
                user_id,
                invoice,
                None,  # invoice_url: platforms of the demo do not publish invoices
                offer.price,
                status.value,
                codes.transaction_code(authorized_at, purchase_id),
                codes.redeem_code(purchase_id),
                None,  # payment token and OTP hashes are not kept once a purchase is decided
                None,
                1,  # the OTP was right the first time
                None,
                started_at,
                authorized_at,
                voided_at,
                redeemed_at,
            ),
        )
        return purchase_id

    def _redeemed_at(self, authorized_at: datetime, slot: Slot) -> datetime:
        begins = max(authorized_at, slot.starts_at)
        latest = min(begins + timedelta(days=2), begins + (slot.ends_at - begins) / 3)
        return timeline.moment_between(self._rng, begins + timedelta(minutes=5), latest)

    def _attend(
        self,
        buffer: RowBuffer,
        purchase_id: int,
        sequence: int,
        at: datetime,
        score: int | None = None,
    ) -> None:
        row = (self._attendance_id(), purchase_id, sequence, score, at, None, at)
        buffer.add(tables.ATTENDANCES, row)

    def _complete(
        self,
        buffer: RowBuffer,
        participant_id: int,
        purchase_id: int,
        offer: Offer,
        redeemed_at: datetime,
        slot: Slot,
    ) -> datetime:
        """Sessions 2 and 3, the post-test, the completion and its certificate.

        The sessions spread over the schedule (at most ten days); returns completed_at.
        """
        rng = self._rng
        span = min(slot.ends_at, redeemed_at + timedelta(days=10)) - redeemed_at
        span = max(span, timedelta(hours=3))
        second = redeemed_at + span * rng.uniform(0.25, 0.4)
        third = redeemed_at + span * rng.uniform(0.5, 0.7)
        post_test = redeemed_at + span * rng.uniform(0.8, 0.95)
        score = rng.randint(60, 100)
        self._attend(buffer, purchase_id, 2, _whole_second(second))
        self._attend(buffer, purchase_id, 3, _whole_second(third))
        self._attend(buffer, purchase_id, POST_TEST, _whole_second(post_test), score)
        completed_at = _whole_second(post_test + timedelta(minutes=rng.randint(5, 24 * 60)))

        completion_id = self._completion_id()
        buffer.add(
            tables.COMPLETIONS,
            (completion_id, purchase_id, participant_id, score, completed_at, None, completed_at),
        )
        buffer.add(
            tables.CERTIFICATES,
            (
                completion_id,  # one certificate per completion, numbered alike
                codes.certificate_number(completion_id),
                completion_id,
                participant_id,
                offer.id,
                CertificateStatus.VALID.value,
                completed_at + timedelta(minutes=rng.randint(1, 30)),
                None,
                None,
                *self._status_entry(),
            ),
        )
        return completed_at

    def _payment_account(
        self,
        buffer: RowBuffer,
        participant_id: int,
        person: Person,
        authorized_at: datetime,
        completed_at: datetime,
    ) -> tuple[int, PaymentPartner]:
        rng = self._rng
        if person.phone_masked is None:  # an e-wallet is a phone number: a bank it is
            partner = rng.choice(self._banks)
        else:
            partner = rng.choices(self._payment_partners, cum_weights=self._payment_weights)[0]
        account_id = self._payment_account_id()
        if partner.source.kind is PaymentAccountKind.EWALLET and person.phone_masked is not None:
            masked = person.phone_masked
        else:
            masked = f"******{rng.randrange(10_000):04d}"
        verified_at = timeline.moment_between(rng, authorized_at, completed_at)
        buffer.add(
            tables.PAYMENT_ACCOUNTS,
            (
                account_id,
                participant_id,
                partner.id,
                partner.source.kind.value,
                codes.account_reference(account_id),
                codes.account_number(account_id, masked),
                masked,
                person.full_name.upper(),  # as the bank's records hold it
                True,  # the account inquiry's name matched the participant's record
                True,
                verified_at,
                verified_at - timedelta(minutes=rng.randint(1, 120)),
            ),
        )
        return account_id, partner

    def _installments(
        self,
        buffer: RowBuffer,
        participant_id: int,
        wave: Wave,
        completed_at: datetime,
        account_id: int,
        partner: PaymentPartner,
        paid_quota: ExactQuota,
    ) -> None:
        """The training incentive falls due on completion, then monthly; surveys wait."""
        scheme = wave.scheme
        paid = paid_quota.take(self._rng)
        for planned in installment_plan(scheme, completed_at):
            installment_id = self._installment_id()
            if planned.due_at is None:
                status = InstallmentStatus.SCHEDULED
            elif planned.kind is IncentiveKind.TRAINING and planned.sequence == 1 and paid:
                status = InstallmentStatus.PAID
                self.paid.append(
                    PaidInstallment(
                        installment_id, account_id, partner.id, planned.amount, planned.due_at
                    )
                )
            elif planned.due_at <= timeline.AS_OF:
                status = InstallmentStatus.DUE
            else:
                status = InstallmentStatus.SCHEDULED
            buffer.add(
                tables.INCENTIVE_INSTALLMENTS,
                (
                    installment_id,
                    participant_id,
                    planned.kind.value,
                    planned.sequence,
                    planned.amount,
                    planned.due_at,
                    status.value,
                    completed_at,
                ),
            )


def _whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
