"""The one table of which partner type may hold which scope (``auth/scopes.py``)."""

from __future__ import annotations

import pytest

from auth.admin import AdminError, check_scopes
from auth.scopes import READ_SCOPES, SCOPES_BY_PARTNER_TYPE, Scope, allowed_scopes, parse_scopes
from core.enums import PartnerType

WRITE_SCOPES = frozenset(scope for scope in Scope if scope.value.endswith(":write"))


def test_every_partner_type_has_a_row_and_every_scope_a_holder() -> None:
    assert set(SCOPES_BY_PARTNER_TYPE) == set(PartnerType)
    assert set().union(*SCOPES_BY_PARTNER_TYPE.values()) == set(Scope)


def test_programme_management_reads_everything_and_writes_nothing_of_partners() -> None:
    held = allowed_scopes(PartnerType.PROGRAM_MANAGEMENT)
    assert held >= READ_SCOPES
    assert held & WRITE_SCOPES == set()
    assert Scope.PROGRAM_ADMIN in held


@pytest.mark.parametrize(
    ("scope", "writers"),
    [
        (Scope.CATALOG_WRITE, {PartnerType.TRAINING_PROVIDER}),
        (Scope.ENROLLMENT_WRITE, {PartnerType.PLATFORM}),
        (Scope.ATTENDANCE_WRITE, {PartnerType.TRAINING_PROVIDER}),
        (Scope.COMPLETION_WRITE, {PartnerType.TRAINING_PROVIDER}),
        (Scope.DISBURSEMENT_WRITE, {PartnerType.PAYMENT_PARTNER}),
        (Scope.REGISTRATION_WRITE, {PartnerType.REGIONAL_OFFICE}),
    ],
)
def test_each_write_scope_belongs_to_exactly_one_partner_type(
    scope: Scope, writers: set[PartnerType]
) -> None:
    assert {kind for kind, held in SCOPES_BY_PARTNER_TYPE.items() if scope in held} == writers


def test_scope_names_are_resource_colon_action() -> None:
    for scope in Scope:
        resource, _, action = scope.value.partition(":")
        assert resource and action in {"read", "write", "admin"}, scope


def test_parse_scopes_splits_on_single_spaces_and_drops_empties() -> None:
    assert parse_scopes(None) == frozenset()
    assert parse_scopes("") == frozenset()
    assert parse_scopes("catalog:read  enrollment:read catalog:read") == {
        "catalog:read",
        "enrollment:read",
    }


def test_a_client_may_hold_only_known_scopes_of_its_row() -> None:
    assert check_scopes(PartnerType.PLATFORM, ["enrollment:read", "catalog:read"]) == (
        "catalog:read",
        "enrollment:read",
    )
    for partner_type, scopes, says in [
        (PartnerType.PLATFORM, ["catalog:write"], "may not hold"),
        (PartnerType.PAYMENT_PARTNER, ["catalog:read"], "may not hold"),
        (PartnerType.PLATFORM, ["catalog:everything"], "unknown"),
        (PartnerType.PLATFORM, [], "at least one"),
    ]:
        with pytest.raises(AdminError, match=says):
            check_scopes(partner_type, scopes)
