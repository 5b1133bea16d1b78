"""The root Query (and, as domains add them, Mutation) and the executable schema."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import ExecutionContext

from schema.catalog import CatalogQuery
from schema.catalog_mutations import CatalogMutation
from schema.certificates import CertificateMutation, CertificateQuery
from schema.compiled import CompiledReadExecutor
from schema.disbursements import DisbursementMutation, DisbursementQuery
from schema.documents import (
    ALIAS_RULE,
    DEPTH_RULE,
    MAX_ALIASES,
    MAX_QUERY_DEPTH,
    CheckedValidation,
    SharedParse,
)
from schema.enrollment import EnrollmentMutation, EnrollmentQuery
from schema.events import EventMutation, EventQuery
from schema.partners import PartnerQuery
from schema.programme import ProgrammeQuery
from schema.registration import RegistrationMutation, RegistrationQuery
from schema.scalars import SCALAR_MAP
from schema.transactions import in_own_savepoints
from schema.trusted import TrustedDocumentMutation, TrustedDocumentQuery
from schema.waves import WaveMutation, WaveQuery


@strawberry.type(description="Everything a partner can read.")
class Query(
    CatalogQuery,
    EnrollmentQuery,
    CertificateQuery,
    DisbursementQuery,
    ProgrammeQuery,
    PartnerQuery,
    RegistrationQuery,
    WaveQuery,
    EventQuery,
    TrustedDocumentQuery,
):
    pass


@in_own_savepoints
@strawberry.type(
    description=(
        "Everything a partner can change. Each field runs on its own: a refused field "
        "answers null with an error and changes nothing, and the other fields of the same "
        "document are unaffected by it."
    )
)
class Mutation(
    CatalogMutation,
    EnrollmentMutation,
    CertificateMutation,
    DisbursementMutation,
    RegistrationMutation,
    WaveMutation,
    EventMutation,
    TrustedDocumentMutation,
):
    pass


__all__ = ["MAX_ALIASES", "MAX_QUERY_DEPTH", "Mutation", "Query", "build_schema", "schema"]


class GatewaySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # The HTTP view presents and logs errors (masking unexpected ones under an id);
        # strawberry's default would log every expected refusal with a stack trace.
        return None


def build_schema(**kwargs: Any) -> strawberry.Schema:
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=CompiledReadExecutor,
        extensions=[
            lambda: AddValidationRules([DEPTH_RULE, ALIAS_RULE]),
            # Partners send the same few documents again and again: parse (bounded, in
            # schema/documents.py, shared with the HTTP view) and validate each once; a
            # registered document was validated when it was registered (schema/trusted.py).
            SharedParse,
            CheckedValidation,
        ],
        **kwargs,
    )


schema = build_schema()
