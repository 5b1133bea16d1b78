"""Certificates as W3C Verifiable Credentials 2.0 in the Open Badges 3.0 shape, secured as
VC-JOSE JWTs (``typ: vc+jwt``), and their verification.

The credential's payload is the credential itself (VC-JOSE-COSE: the JWT claims set is the
JSON-LD document). The participant is named only by a salted SHA-256 hash of the card
number (an Open Badges ``IdentityObject``): whoever is shown the card number and the
credential can check that they belong together; nobody can read a person out of it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.hashes import SHA256
from joserfc import jws
from joserfc.errors import JoseError

from core.enums import LearningMethod, StatusPurpose
from resolvers.certificates.keys import ALGORITHM, JWT_TYPE, CredentialKeys, SigningKey

MEDIA_TYPE: Final = "application/vc+jwt"
VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
ISSUER_NAME: Final = "Manajemen Pelaksana Program Kartu Prakerja"
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_ES256 = ECDSA(SHA256())


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
    bits = int.from_bytes(secrets.token_bytes(7)) >> 6  # one read of the OS's randomness
    tail = "".join(_NUMBER_ALPHABET[(bits >> shift) & 31] for shift in range(45, -1, -5))
    return f"CERT-{year}-{tail}"


def identity_hash(card_number: str) -> tuple[str, str]:
    """A fresh salt and the SHA-256 of the card number with it (hex both)."""
    salt = secrets.token_hex(8)
    return hashlib.sha256((card_number + salt).encode()).hexdigest(), salt


def _identity(digest: str, salt: str) -> dict[str, Any]:
    """The Open Badges salted hash of the card number (never the NIK, never a name)."""
    return {
        "type": "IdentityObject",
        "identityType": "identifier",
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


def identity_object(card_number: str) -> dict[str, Any]:
    return _identity(*identity_hash(card_number))


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
    return _document(
        issuer,
        number=number,
        identity=identity_object(card_number),
        course=course,
        valid_from=_timestamp(issued_at),
        status_list=status_list,
        status_index=str(status_index),
    )


def _document(
    issuer: Issuer,
    *,
    number: str,
    identity: dict[str, Any],
    course: CourseFacts,
    valid_from: str,
    status_list: int,
    status_index: str,
) -> dict[str, Any]:
    """The one definition of a certificate's credential (``CredentialTemplate`` fills the
    same document, so the two can never say different things)."""
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
        "validFrom": valid_from,
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [identity],
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
    issuer: Issuer, purpose: StatusPurpose, status_list: int, status_index: int | str
) -> dict[str, Any]:
    url = issuer.status_list_url(purpose, status_list)
    return {
        "id": f"{url}#{status_index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose.value,
        "statusListIndex": str(status_index),
        "statusListCredential": url,
    }


def payload_of(document: dict[str, Any]) -> bytes:
    """The JWT payload: the document as compact JSON, UTF-8."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


# What differs between two certificates of one course issued in one call. Each hole is a
# string JSON must escape (a NUL), so no course text can be mistaken for it; the values
# put into the holes need no escaping (capitals, digits, hyphens, hex).
_HOLES: Final = ("number", "digest", "salt", "index")
_HOLE_TEXT: Final = {name: f"\x00{name}\x00" for name in _HOLES}
_HOLE_PATTERN: Final = re.compile(
    "|".join(re.escape(json.dumps(text)[1:-1]) for text in _HOLE_TEXT.values())
)
_HOLE_OF: Final = {json.dumps(text)[1:-1]: name for name, text in _HOLE_TEXT.items()}
_SAMPLE: Final = {
    "number": "CERT-2000-0123456789",
    "digest": "0f" * 32,
    "salt": "a1" * 8,
    "index": "131071",
}


@dataclass(frozen=True)
class CredentialTemplate:
    """``_document``'s JSON for one issuer, course, moment and status list, cut around the
    holes: filling it is a join, where building and serializing the document anew took
    most of the time of issuing a certificate that was not the signature."""

    pieces: tuple[str, ...]  # literal JSON, then a hole's name, alternately; literal last

    @classmethod
    def of(
        cls, issuer: Issuer, course: CourseFacts, issued_at: datetime, status_list: int
    ) -> CredentialTemplate | None:
        """None when the template would not render exactly the document (the caller then
        builds each document in full)."""

        def document(values: dict[str, str]) -> dict[str, Any]:
            return _document(
                issuer,
                number=values["number"],
                identity=_identity(values["digest"], values["salt"]),
                course=course,
                valid_from=_timestamp(issued_at),
                status_list=status_list,
                status_index=values["index"],
            )

        text = payload_of(document(_HOLE_TEXT)).decode()
        pieces: list[str] = []
        start = 0
        for hole in _HOLE_PATTERN.finditer(text):
            pieces += [text[start : hole.start()], _HOLE_OF[hole.group()]]
            start = hole.end()
        pieces.append(text[start:])
        template = cls(tuple(pieces))
        return template if template.render(**_SAMPLE) == payload_of(document(_SAMPLE)) else None

    def render(self, *, number: str, digest: str, salt: str, index: str) -> bytes:
        values = {"number": number, "digest": digest, "salt": salt, "index": index}
        pieces = self.pieces
        filled = [values[piece] if position % 2 else piece for position, piece in enumerate(pieces)]
        return "".join(filled).encode()


def sign(key: SigningKey, document: dict[str, Any]) -> str:
    """The document as a VC-JOSE compact JWS: ES256, the key's kid, ``typ: vc+jwt``."""
    return sign_payload(key, payload_of(document))


def sign_payload(key: SigningKey, payload: bytes) -> str:
    """A compact JWS (RFC 7515) of ``payload``, ES256 (RFC 7518 3.4: the signature is R and
    S as 32 bytes each), header ``typ: vc+jwt``, ``cty: vc`` and the key's kid. Made here
    rather than by joserfc, which spent as long on its checks as on the signature; every
    verification (``signature_holds``, the example script) is still joserfc's."""
    signing_input = key.header_segment + b"." + _b64(payload)
    r, s = decode_dss_signature(key.private.sign(signing_input, _ES256))
    return (signing_input + b"." + _b64(r.to_bytes(32) + s.to_bytes(32))).decode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


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
