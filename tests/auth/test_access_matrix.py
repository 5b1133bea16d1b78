"""The access matrix: every root field, every partner type, with and without its scope.

The table below is the specification: the scope(s) each Query and Mutation field needs
(any one suffices; an empty set means any valid token). The test reads the root fields
from the schema itself, so a field added without an entry here fails it, and so does a
field whose declared permission classes disagree with the table. Each field is then
called over HTTP with a real token of each partner type: allowed exactly where the
partner-type matrix in ``auth.scopes`` grants a needed scope, ``FORBIDDEN`` (naming the
scope) everywhere else. Arguments are filled with placeholder values built from the
schema's types: a refused call must be refused for its scope, whatever it asks.
"""

from __future__ import annotations

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from graphql.pyutils import Undefined

from auth.permissions import declared_scopes
from auth.scopes import Scope, allowed_scopes
from core.enums import PartnerType
from schema.root import schema
from tests.support.gateway import Tokens

ANY_TOKEN: frozenset[str] = frozenset()
CATALOG_READ = frozenset({Scope.CATALOG_READ.value})
CATALOG_WRITE = frozenset({Scope.CATALOG_WRITE.value})
PROGRAM_ADMIN = frozenset({Scope.PROGRAM_ADMIN.value})
ENROLLMENT_READ = frozenset({Scope.ENROLLMENT_READ.value})
ENROLLMENT_WRITE = frozenset({Scope.ENROLLMENT_WRITE.value})
ATTENDANCE_WRITE = frozenset({Scope.ATTENDANCE_WRITE.value})
COMPLETION_WRITE = frozenset({Scope.COMPLETION_WRITE.value})
CERTIFICATE_READ = frozenset({Scope.CERTIFICATE_READ.value})
DISBURSEMENT_READ = frozenset({Scope.DISBURSEMENT_READ.value})
DISBURSEMENT_WRITE = frozenset({Scope.DISBURSEMENT_WRITE.value})
REGISTRATION_READ = frozenset({Scope.REGISTRATION_READ.value})
REGISTRATION_WRITE = frozenset({Scope.REGISTRATION_WRITE.value})

REQUIRED: dict[str, frozenset[str]] = {
    # Query
    "Query.viewer": ANY_TOKEN,
    "Query.courses": CATALOG_READ,
    "Query.course": CATALOG_READ,
    "Query.provider": CATALOG_READ,
    "Query.categories": CATALOG_READ,
    "Query.programStatistics": PROGRAM_ADMIN,
    "Query.programFigures": PROGRAM_ADMIN,
    "Query.regencyFigures": REGISTRATION_READ,
    "Query.purchase": ENROLLMENT_READ,
    "Query.enrollments": ENROLLMENT_READ,
    "Query.certificate": CERTIFICATE_READ,
    "Query.certificates": CERTIFICATE_READ,
    "Query.disbursementBatches": DISBURSEMENT_READ,
    "Query.disbursementBatch": DISBURSEMENT_READ,
    "Query.disbursementReconciliation": DISBURSEMENT_READ,
    "Query.dailyDisbursementReconciliation": DISBURSEMENT_READ,
    "Query.installmentHistory": DISBURSEMENT_READ,
    "Query.registrants": REGISTRATION_READ,
    "Query.registrant": REGISTRATION_READ,
    "Query.selectionExplanation": PROGRAM_ADMIN,
    "Query.paymentAccounts": DISBURSEMENT_READ,
    # Events: every partner manages its own endpoints and reads its own feed; what reaches
    # it is decided per event by tenancy (tests/events).
    "Query.webhookEndpoints": ANY_TOKEN,
    "Query.webhookDeliveries": ANY_TOKEN,
    "Query.events": ANY_TOKEN,
    # Trusted documents: programme management registers them for a client.
    "Query.trustedDocuments": PROGRAM_ADMIN,
    # Mutation
    "Mutation.createCourse": CATALOG_WRITE,
    "Mutation.registerDocument": PROGRAM_ADMIN,
    "Mutation.setClientDocumentPolicy": PROGRAM_ADMIN,
    "Mutation.updateCourse": CATALOG_WRITE,
    "Mutation.submitCourse": CATALOG_WRITE,
    "Mutation.withdrawCourse": CATALOG_WRITE,
    "Mutation.createSchedule": CATALOG_WRITE,
    "Mutation.updateSchedule": CATALOG_WRITE,
    "Mutation.approveCourse": PROGRAM_ADMIN,
    "Mutation.rejectCourse": PROGRAM_ADMIN,
    "Mutation.setCourseListings": PROGRAM_ADMIN,
    "Mutation.startPurchase": ENROLLMENT_WRITE,
    "Mutation.authorizePurchase": ENROLLMENT_WRITE,
    "Mutation.voidPurchase": ENROLLMENT_WRITE,
    "Mutation.recordAttendance": ATTENDANCE_WRITE,
    "Mutation.submitCompletions": COMPLETION_WRITE,
    "Mutation.revokeCertificate": PROGRAM_ADMIN,
    "Mutation.suspendCertificate": PROGRAM_ADMIN,
    "Mutation.reinstateCertificate": PROGRAM_ADMIN,
    "Mutation.createDisbursementBatches": PROGRAM_ADMIN,
    "Mutation.acknowledgeBatch": DISBURSEMENT_WRITE,
    "Mutation.reportDisbursementResults": DISBURSEMENT_WRITE,
    "Mutation.registerParticipant": REGISTRATION_WRITE,
    "Mutation.registerParticipants": REGISTRATION_WRITE,
    "Mutation.openWave": PROGRAM_ADMIN,
    "Mutation.runSelection": PROGRAM_ADMIN,
    "Mutation.registerPaymentAccount": DISBURSEMENT_WRITE,
    "Mutation.createWebhookEndpoint": ANY_TOKEN,
    "Mutation.deleteWebhookEndpoint": ANY_TOKEN,
    "Mutation.setWebhookEndpointEnabled": ANY_TOKEN,
    "Mutation.rotateWebhookSecret": ANY_TOKEN,
    "Mutation.sendTestEvent": ANY_TOKEN,
    "Mutation.redeliverEvent": ANY_TOKEN,
    "Mutation.redeliverFailedEvents": ANY_TOKEN,
}

_PLACEHOLDER_SCALARS = {
    "Int": "1",
    "Float": "1.0",
    "Boolean": "true",
    "Rupiah": '"100000"',
    "DateTime": '"2030-01-01T00:00:00+00:00"',
    "Date": '"2030-01-01"',
}


def root_fields() -> list[tuple[str, str, GraphQLField]]:
    fields = []
    for root in ("Query", "Mutation"):
        root_type = schema._schema.type_map.get(root)
        if isinstance(root_type, GraphQLObjectType):
            fields += [(root, name, field) for name, field in root_type.fields.items()]
    return fields


def placeholder(type_: GraphQLInputType) -> str:
    """A literal of the type: enough to pass validation, never a real row."""
    if isinstance(type_, GraphQLNonNull):
        return placeholder(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{placeholder(type_.of_type)}]"
    if isinstance(type_, GraphQLInputObjectType):
        required = [
            f"{name}: {placeholder(field.type)}"
            for name, field in type_.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        ]
        return "{" + ", ".join(required) + "}"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    assert isinstance(type_, GraphQLScalarType)
    return _PLACEHOLDER_SCALARS.get(type_.name, '"X-0001"')


def operation(root: str, name: str, field: GraphQLField) -> str:
    arguments = [
        f"{arg_name}: {placeholder(arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    ]
    call = name + (f"({', '.join(arguments)})" if arguments else "")
    selection = (
        "" if isinstance(get_named_type(field.type), GraphQLScalarType) else " { __typename }"
    )
    keyword = "query" if root == "Query" else "mutation"
    return f"{keyword} {{ {call}{selection} }}"


def test_every_root_field_has_an_entry_that_matches_its_declaration() -> None:
    seen = set()
    for root, name, field in root_fields():
        key = f"{root}.{name}"
        seen.add(key)
        assert key in REQUIRED, f"{key} has no entry in the access matrix: add one"
        definition = field.extensions["strawberry-definition"]
        declared = declared_scopes(definition.permission_classes)
        assert declared is not None, f"{key} declares no permission class"
        assert declared == REQUIRED[key], f"{key} declares {set(declared)}"
    assert seen >= {"Query.viewer", "Query.courses", "Query.programStatistics"}


def _codes(body: dict[str, object]) -> list[str]:
    errors = body.get("errors") or []
    assert isinstance(errors, list)
    return [error.get("extensions", {}).get("code") for error in errors]


@pytest.mark.parametrize("partner_type", list(PartnerType), ids=lambda t: t.value)
async def test_each_field_is_allowed_exactly_where_the_matrix_says(
    tokens: Tokens, partner_type: PartnerType
) -> None:
    holdable = {scope.value for scope in allowed_scopes(partner_type)}
    full = await tokens.issue(partner_type, holdable)
    for root, name, field in root_fields():
        key = f"{root}.{name}"
        needed = REQUIRED[key]
        document = operation(root, name, field)
        body = await tokens.graphql(partner_type, document, scopes=holdable)
        may_hold = not needed or bool(needed & holdable)
        # Every placeholder document must get past validation, or the test proves nothing.
        assert "GRAPHQL_VALIDATION_FAILED" not in _codes(body), (key, body)
        if may_hold:
            assert "FORBIDDEN" not in _codes(body), (key, partner_type, body)
        else:
            assert _codes(body) == ["FORBIDDEN"], (key, partner_type, body)
            errors = body["errors"]
            assert isinstance(errors, list)
            assert set(errors[0]["extensions"]["requiredScopes"]) == needed
            assert body["data"] is None or body["data"].get(name) is None
        # The same partner type holding everything it may except the needed scope.
        without = holdable - needed
        if needed and may_hold and without:
            body = await tokens.graphql(partner_type, document, scopes=without)
            assert _codes(body) == ["FORBIDDEN"], (key, partner_type, "without", body)
    assert full


@pytest.mark.parametrize("partner_type", list(PartnerType), ids=lambda t: t.value)
async def test_no_partner_type_can_obtain_a_scope_outside_its_row(
    tokens: Tokens, partner_type: PartnerType
) -> None:
    credentials = await tokens.client_for(partner_type)
    assert credentials.client_secret is not None
    foreign = {scope.value for scope in Scope} - set(credentials.scopes)
    for scope in sorted(foreign):
        response = await tokens.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(credentials.client_id, credentials.client_secret),
        )
        assert response.status_code == 400, (scope, response.text)
        assert response.json()["error"] == "invalid_scope"


async def test_viewer_is_the_calling_partner_and_no_other(tokens: Tokens) -> None:
    for code in ("DP-001", "DP-002", "LP-0001", "PP-001", "PMO"):
        body = await tokens.graphql(code, "{ viewer { code clientId scopes } }")
        data = body["data"]
        assert isinstance(data, dict)
        assert data["viewer"]["code"] == code
        assert data["viewer"]["clientId"].startswith(code.lower())
