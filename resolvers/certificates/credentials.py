"""Certificates as W3C Verifiable Credentials 2.0 in the Open Badges 3.0 shape, secured as
VC-JOSE JWTs (``typ: vc+jwt``), and their verification.

The credential's payload is the credential itself (VC-JOSE-COSE: the JWT claims set is the
JSON-LD document). The participant is named only by a salted SHA-256 hash of the card
number (an Open Badges ``IdentityObject``): whoever is shown the card number and the
credential can check that they belong together; nobody can read a person out of it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from joserfc import jws
from joserfc.errors import JoseError

from core.enums import LearningMethod, StatusPurpose
from resolvers.certificates.keys import ALGORITHM, CredentialKeys, SigningKey

MEDIA_TYPE: Final = "application/vc+jwt"
JWT_TYPE: Final = "vc+jwt"
VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ISSUER_NAME: Final = "Manajemen Pelaksana Program Kartu Prakerja"
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U


@dataclass(frozen=True)
class Issuer:
    """The programme as issuer, for one process: its public URLs and its keys."""

    base_url: str
    keys: CredentialKeys

    @property
    def id(self) -> str:
        return f"{self.base_url}/certificates/issuer"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/certificates/jwks.json"

    def certificate_url(self, number: str) -> str:
        return f"{self.base_url}/certificates/{number}"

    def status_list_url(self, purpose: StatusPurpose, status_list: int) -> str:
        return f"{self.base_url}/certificates/status/{purpose.value}/{status_list}"

    def profile(self) -> dict[str, Any]:
        return {"id": self.id, "type": ["Profile"], "name": ISSUER_NAME}


@dataclass(frozen=True)
class CourseFacts:
    """What the credential says about the training (the achievement)."""

    code: str
    title: str
    description: str
    hours: int
    learning_method: LearningMethod
    provider_code: str
    provider_name: str


def new_certificate_number(year: int) -> str:
    """``CERT-<year>-`` and 10 random Crockford base-32 characters (50 bits)."""
    tail = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(10))
    return f"CERT-{year}-{tail}"


def identity_object(card_number: str) -> dict[str, Any]:
    """The Open Badges salted hash of the card number (never the NIK, never a name)."""
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((card_number + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityType": "identifier",
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_credential(
    issuer: Issuer,
    *,
    number: str,
    card_number: str,
    course: CourseFacts,
    issued_at: datetime,
    status_list: int,
    status_index: int,
) -> dict[str, Any]:
    vocabulary = f"{issuer.base_url}/certificates/vocab#"
    return {
        "@context": [
            VC_CONTEXT,
            OB_CONTEXT,
            # The programme's own achievement facts, as terms of its own vocabulary.
            {
                "hours": vocabulary + "hours",
                "learningMethod": vocabulary + "learningMethod",
                "courseCode": vocabulary + "courseCode",
                "providerName": vocabulary + "providerName",
            },
        ],
        "id": issuer.certificate_url(number),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Sertifikat Prakerja {number}",
        "issuer": issuer.profile(),
        "validFrom": _timestamp(issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [identity_object(card_number)],
            "achievement": {
                "id": f"{issuer.base_url}/courses/{course.code}",
                "type": ["Achievement"],
                "name": course.title,
                "description": course.description[:1000],
                "criteria": {
                    "narrative": (
                        "Redeemed the training, attended it and passed its post-test, as "
                        "reported by the training provider to the Kartu Prakerja programme."
                    )
                },
                "humanCode": course.code,
                "courseCode": course.code,
                "hours": course.hours,
                "learningMethod": course.learning_method.value,
                "providerName": course.provider_name,
                "creator": {
                    "id": f"{issuer.base_url}/providers/{course.provider_code}",
                    "type": ["Profile"],
                    "name": course.provider_name,
                },
            },
        },
        "credentialStatus": [
            status_entry(issuer, purpose, status_list, status_index) for purpose in StatusPurpose
        ],
    }


def status_entry(
    issuer: Issuer, purpose: StatusPurpose, status_list: int, status_index: int
) -> dict[str, Any]:
    url = issuer.status_list_url(purpose, status_list)
    return {
        "id": f"{url}#{status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.value,
        "statusListIndex": str(status_index),
        "statusListCredential": url,
    }


def sign(key: SigningKey, document: dict[str, Any]) -> str:
    """The document as a VC-JOSE compact JWS: ES256, the key's kid, ``typ: vc+jwt``."""
    header = {"alg": ALGORITHM, "typ": JWT_TYPE, "cty": "vc", "kid": key.kid}
    payload = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, key.key, algorithms=[ALGORITHM])


@dataclass(frozen=True)
class Unverified:
    """A compact JWS read but not yet verified: who says it signed it, and what it says."""

    kid: str
    credential: dict[str, Any]


class Malformed(ValueError):
    pass


def read_unverified(token: str) -> Unverified:
    try:
        compact = jws.extract_compact(token.strip().encode())
        header = compact.headers()
        credential = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeDecodeError) as exc:
        raise Malformed("not a compact JWS with a JSON payload") from exc
    if header.get("typ") != JWT_TYPE or header.get("alg") != ALGORITHM:
        raise Malformed(f"the header must say typ {JWT_TYPE} and alg {ALGORITHM}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not isinstance(credential, dict):
        raise Malformed("the header names no kid, or the payload is not an object")
    return Unverified(kid=kid, credential=credential)


def signature_holds(token: str, key: Any) -> bool:
    try:
        jws.deserialize_compact(token.strip(), key, algorithms=[ALGORITHM])
    except JoseError:
        return False
    return True


def parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
