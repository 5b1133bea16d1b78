"""Tenancy, in one place: which rows a calling partner may see.

Every resolver that reads partner-owned rows adds the clause from here to its query; none
decides by hand. Programme management sees everything; any other partner type sees only
its own rows, and a caller without a principal sees nothing.

Row-level security is the second line, and states the same rules in SQL: migrations 0017 and
0018 (``POLICIES``) have one policy per partner-owned table, each naming the function here
whose rule it repeats (``purchases_visible_to``, ``certificates_visible_to``,
``batches_visible_to``, ``payment_accounts_visible_to``, ``participants_visible_to`` for
regional offices, ``endpoints_owned_by``; attendances, completions, disbursement items,
deliveries and attempts follow their parent row). The policies key on who the transaction
acts for (``core/db/actor.py``: the caller's partner type, partner and regency, set at every
transaction's start), so they hold when a clause here is forgotten or wrong; the clauses
stay, because they also decide what a query plans and returns (and the owner, who runs
migrations and the seed, is not subject to the policies). A change to a rule here changes
its policy in a new migration. A rule that must see across partners (the first-purchase
deadline, a family card's registrants, another payment partner's primary account, the
status-list slots every provider's certificates share) asks for that fact explicitly
(``core.db.actor.acting_as_system``, or a SECURITY DEFINER function of 0017 or 0018).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    SQLColumnExpression,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute, aliased
from sqlalchemy.sql import Subquery

from core.enums import CourseStatus, DisbursementItemStatus, PartnerStatus, PartnerType
from core.models import (
    Certificate,
    Completion,
    Course,
    DisbursementBatch,
    DisbursementItem,
    Event,
    Participant,
    Partner,
    PaymentAccount,
    ProgrammeFigure,
    Purchase,
    Regency,
    WebhookEndpoint,
)
from core.principal import Principal


def purchases_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """A platform sees its own sales; a provider the purchases of its own courses."""
    if principal is None:
        return false()
    match principal.partner_type:
        case PartnerType.PROGRAM_MANAGEMENT:
            return true()
        case PartnerType.PLATFORM:
            return Purchase.platform_id == principal.partner_id
        case PartnerType.TRAINING_PROVIDER:
            own_courses = select(Course.id).where(Course.provider_id == principal.partner_id)
            return Purchase.course_id.in_(own_courses)
        case _:
            return false()


def certificates_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """The provider that trained (its course), the platform that sold the training (its
    purchase), programme management; nobody else."""
    if principal is None:
        return false()
    match principal.partner_type:
        case PartnerType.PROGRAM_MANAGEMENT:
            return true()
        case PartnerType.TRAINING_PROVIDER:
            own_courses = select(Course.id).where(Course.provider_id == principal.partner_id)
            return Certificate.course_id.in_(own_courses)
        case PartnerType.PLATFORM:
            # Aliases of their own: a query that joins these tables already must not
            # correlate the EXISTS away.
            completion = aliased(Completion, name="seen_completion")
            sale = aliased(Purchase, name="seen_sale")
            return (
                exists()
                .where(completion.id == Certificate.completion_id)
                .where(sale.id == completion.purchase_id)
                .where(sale.platform_id == principal.partner_id)
            )
        case _:
            return false()


def may_complete(principal: Principal | None, course_provider_id: int) -> bool:
    """Only the provider of the course reports its completions."""
    return (
        principal is not None
        and principal.partner_type is PartnerType.TRAINING_PROVIDER
        and principal.partner_id == course_provider_id
    )


def batches_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """A payment partner sees only the disbursement batches addressed to it."""
    if principal is None:
        return false()
    if principal.partner_type is PartnerType.PROGRAM_MANAGEMENT:
        return true()
    if principal.partner_type is PartnerType.PAYMENT_PARTNER:
        return DisbursementBatch.payment_partner_id == principal.partner_id
    return false()


def batches_owned_by(principal: Principal | None) -> ColumnElement[bool]:
    """Only the payment partner a batch is addressed to acknowledges it and reports on it
    (programme management reads every batch but acts on none)."""
    if principal is None or principal.partner_type is not PartnerType.PAYMENT_PARTNER:
        return false()
    return DisbursementBatch.payment_partner_id == principal.partner_id


# An item the payment partner still has to pay (or to settle, when unknown).
PAYABLE_ITEM_STATUSES = (
    DisbursementItemStatus.PENDING,
    DisbursementItemStatus.SENT,
    DisbursementItemStatus.UNKNOWN,
)


def account_number_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """The beneficiary's account number is shown only in an item its payment partner must
    pay: the partner's own batch, the item not yet settled. Everywhere else it is masked.

    A clause over ``DisbursementBatch`` and ``DisbursementItem`` of the row being shown."""
    if principal is None or principal.partner_type is not PartnerType.PAYMENT_PARTNER:
        return false()
    return and_(
        DisbursementBatch.payment_partner_id == principal.partner_id,
        DisbursementItem.status.in_(PAYABLE_ITEM_STATUSES),
    )


def participants_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """A regional office sees only the participants of its own regency."""
    if principal is None:
        return false()
    if principal.partner_type is PartnerType.PROGRAM_MANAGEMENT:
        return true()
    if principal.partner_type is PartnerType.REGIONAL_OFFICE and principal.regency_id is not None:
        return Participant.regency_id == principal.regency_id
    return false()


def figures_visible_to(
    principal: Principal | None,
    regency_id: SQLColumnExpression[int] = ProgrammeFigure.regency_id,
) -> ColumnElement[bool]:
    """Programme management reads every figure; a regional office its own regency's.
    ``regency_id``: the figures' regency column (of ``programme_figures`` or of its totals)."""
    if principal is None:
        return false()
    if principal.partner_type is PartnerType.PROGRAM_MANAGEMENT:
        return true()
    if principal.partner_type is PartnerType.REGIONAL_OFFICE and principal.regency_id is not None:
        return regency_id == principal.regency_id
    return false()


def may_read_regency_figures(principal: Principal | None, regency_id: int) -> bool:
    """A regency's figures: programme management any, a regional office only its own."""
    if principal is None:
        return False
    if principal.partner_type is PartnerType.PROGRAM_MANAGEMENT:
        return True
    return (
        principal.partner_type is PartnerType.REGIONAL_OFFICE and principal.regency_id == regency_id
    )


def may_register_in(principal: Principal | None, regency_id: int) -> bool:
    """Only a regional office registers people, and only residents of its own regency."""
    return (
        principal is not None
        and principal.partner_type is PartnerType.REGIONAL_OFFICE
        and principal.regency_id is not None
        and principal.regency_id == regency_id
    )


def _active(provider: Any) -> ColumnElement[bool]:
    return provider.status == PartnerStatus.ACTIVE  # type: ignore[no-any-return]


def _public_courses(active_provider: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(Course.status == CourseStatus.APPROVED, active_provider)


# Built once: the clause has no parameter of the caller's, SQL expressions are immutable,
# and building the alias and the EXISTS anew on every request is work for nothing.
_VISIBLE_PROVIDER = aliased(Partner, name="visible_provider")
_PUBLIC_COURSES = _public_courses(
    exists().where(_VISIBLE_PROVIDER.id == Course.provider_id).where(_active(_VISIBLE_PROVIDER))
)
# The same rule where the statement already joins each course's provider as ``Partner``:
# its status is read off the joined row. PostgreSQL cannot fold the EXISTS into that join
# (it looks the provider up twice per course, a fifth of the catalog page's database time).
_PUBLIC_COURSES_OF_JOINED = _public_courses(_active(Partner))


def public_courses(*, provider_joined: bool = False) -> ColumnElement[bool]:
    """The public catalog: approved courses of active providers. ``provider_joined``: the
    statement joins each course's provider as ``Partner`` (``Partner.id ==
    Course.provider_id``, an inner join), so the rule reads that row."""
    return _PUBLIC_COURSES_OF_JOINED if provider_joined else _PUBLIC_COURSES


# --- Catalog visibility: who sees which catalog, and whose courses a caller manages. ----
# One decision (``catalog_view``) that every catalog clause and the response cache's key use.


class CatalogAudience(StrEnum):
    PUBLIC = "public"  # approved courses of active providers
    PROVIDER = "provider"  # the public catalog and the provider's own courses, any status
    ADMIN = "admin"  # every course: programme management reviews them


@dataclass(frozen=True, slots=True)
class CatalogView:
    """Which catalog a caller sees. Callers with equal views see the same rows, so they may
    share built statements and cached answers (``str(view)`` names it)."""

    audience: CatalogAudience
    provider_id: int | None = None

    def __str__(self) -> str:
        if self.provider_id is None:
            return self.audience.value
        return f"{self.audience.value}:{self.provider_id}"


_PUBLIC_VIEW = CatalogView(CatalogAudience.PUBLIC)
_ADMIN_VIEW = CatalogView(CatalogAudience.ADMIN)


def catalog_view(principal: Principal | None) -> CatalogView | None:
    """Platforms and every other reader see the public catalog; a training provider also its
    own courses in any status; programme management every course. None: no catalog."""
    if principal is None:
        return None
    match principal.partner_type:
        case PartnerType.PROGRAM_MANAGEMENT:
            return _ADMIN_VIEW
        case PartnerType.TRAINING_PROVIDER:
            return CatalogView(CatalogAudience.PROVIDER, principal.partner_id)
        case _:
            return _PUBLIC_VIEW


def courses_visible_to(
    principal: Principal | None, *, provider_joined: bool = False
) -> ColumnElement[bool]:
    """The courses of ``catalog_view(principal)``; ``provider_joined`` as in
    ``public_courses``."""
    view = catalog_view(principal)
    if view is None:
        return false()
    match view.audience:
        case CatalogAudience.ADMIN:
            return true()
        case CatalogAudience.PROVIDER:
            public = public_courses(provider_joined=provider_joined)
            return or_(public, Course.provider_id == view.provider_id)
        case _:
            return public_courses(provider_joined=provider_joined)


def providers_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """Training providers a caller may look up: the active ones; a provider also finds
    itself (whatever its status), programme management finds any."""
    view = catalog_view(principal)
    provider = and_(Partner.type == PartnerType.TRAINING_PROVIDER, _active(Partner))
    if view is None:
        return false()
    match view.audience:
        case CatalogAudience.ADMIN:
            return Partner.type == PartnerType.TRAINING_PROVIDER
        case CatalogAudience.PROVIDER:
            own = and_(
                Partner.type == PartnerType.TRAINING_PROVIDER, Partner.id == view.provider_id
            )
            return or_(provider, own)
        case _:
            return provider


def manages_courses(principal: Principal) -> bool:
    """Only a training provider creates and changes courses and schedules (its own)."""
    return principal.partner_type is PartnerType.TRAINING_PROVIDER


def own_courses(principal: Principal) -> ColumnElement[bool]:
    """The courses a caller manages: a training provider's own, nobody else's."""
    if not manages_courses(principal):
        return false()
    return Course.provider_id == principal.partner_id


def payment_accounts_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """A payment partner sees only the accounts registered at itself (a clause over
    ``PaymentAccount``); programme management sees every one."""
    if principal is None:
        return false()
    if principal.partner_type is PartnerType.PROGRAM_MANAGEMENT:
        return true()
    if principal.partner_type is PartnerType.PAYMENT_PARTNER:
        return PaymentAccount.payment_partner_id == principal.partner_id
    return false()


def payment_partner_registering(principal: Principal | None) -> int | None:
    """The partner an account is registered at: only a payment partner registers accounts,
    and only at itself."""
    if principal is None or principal.partner_type is not PartnerType.PAYMENT_PARTNER:
        return None
    return principal.partner_id


# --- Events: which partners hear of a change (the event's stored audience). --------------
# Programme management hears of every event without being listed; everyone else only of
# what they could read through the API. Payloads hold only what the whole audience may see.


def purchase_event_audience_sql(purchase: str, course: str) -> str:
    """SQL for the audience of a purchase (or of its certificate): the platform that sold it
    and the provider that trains it, over rows aliased ``purchase`` and ``course``."""
    return f"ARRAY[{purchase}.platform_id, {course}.provider_id]::bigint[]"


def course_event_audience(provider_id: int) -> list[int]:
    """A course's review outcome concerns its provider only."""
    return [provider_id]


def batch_event_audience(payment_partner_id: int) -> list[int]:
    """A disbursement batch concerns the payment partner it is addressed to."""
    return [payment_partner_id]


def installment_event_audience_sql(installment: str) -> str:
    """SQL for the audience of an installment falling due, over a row aliased
    ``installment``: the payment partner that will pay it, the one holding the participant's
    verified primary account (as ``batches.create_batches`` picks it). None yet: programme
    management alone hears of it. Platforms, providers and offices never do."""
    # Only the caller's alias is formatted in, never a value.
    return (
        "ARRAY(SELECT payee.payment_partner_id FROM payment_accounts AS payee"  # noqa: S608
        f" WHERE payee.participant_id = {installment}.participant_id"
        " AND payee.is_primary AND payee.verified_at IS NOT NULL)::bigint[]"
    )


def registrant_event_audience(
    regency_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ColumnElement[list[int]]:
    """The regional offices of the registrant's regency (those that see the registrant)."""
    offices = (
        select(func.coalesce(func.array_agg(Partner.id), literal([], ARRAY(BigInteger))))
        .where(Partner.type == PartnerType.REGIONAL_OFFICE, Partner.regency_id == regency_id)
        .scalar_subquery()
    )
    return offices


def registrant_event_audiences() -> Subquery:
    """``registrant_event_audience`` of every regency at once, as rows (regency_id, audience):
    a statement about many registrants joins it instead of asking once per person."""
    return select(
        Regency.id.label("regency_id"), registrant_event_audience(Regency.id).label("audience")
    ).subquery("registrant_audiences")


def endpoint_event_audience(partner_id: int) -> list[int]:
    """News of a partner's own webhook endpoint (disabled, a test) reaches that partner."""
    return [partner_id]


def events_visible_to(principal: Principal | None) -> ColumnElement[bool]:
    """The feed: programme management reads every event, any other partner the events whose
    audience lists it."""
    if principal is None:
        return false()
    if principal.partner_type is PartnerType.PROGRAM_MANAGEMENT:
        return true()
    return Event.audience.any_() == principal.partner_id


def endpoints_owned_by(principal: Principal) -> ColumnElement[bool]:
    """A partner manages its own webhook endpoints only (programme management included:
    it subscribes to everything through its own endpoints, it manages nobody else's)."""
    return WebhookEndpoint.partner_id == principal.partner_id
