"""Certificates issued before credentials existed (the seed's, or older data) get their
credential on first request: signed once, then kept like any other."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Certificate
from resolvers.certificates.credentials import CourseFacts, Issuer, build_credential, sign
from resolvers.certificates.keys import signing_key
from resolvers.certificates.queries import card_number_of, records_by_number
from resolvers.certificates.records import CertificateRecord


async def with_credential(
    session: AsyncSession, issuer: Issuer, record: CertificateRecord
) -> CertificateRecord:
    if record.credential_jwt is not None:
        return record
    card_number = await card_number_of(session, record.number)
    assert card_number is not None
    document = build_credential(
        issuer,
        number=record.number,
        card_number=card_number,
        course=CourseFacts(
            code=record.course_code,
            title=record.course_title,
            description=record.course_description,
            hours=record.course_hours,
            learning_method=record.learning_method,
            provider_code=record.provider_code,
            provider_name=record.provider_name,
        ),
        issued_at=record.issued_at,
        status_list=record.status_list,
        status_index=record.status_index,
    )
    jwt = sign(await signing_key(session, issuer.keys), document)
    # Two first requests racing: the first one's credential is kept, and both answer it.
    await session.execute(
        update(Certificate)
        .where(Certificate.number == record.number, Certificate.credential_jwt.is_(None))
        .values(credential_jwt=jwt)
    )
    return (await records_by_number(session, [record.number]))[record.number]
