"""Verify a Kartu Prakerja certificate offline: only the published JWKS and status lists.

    python examples/verify_certificate.py CREDENTIAL --jwks JWKS [--status-list LIST ...]

CREDENTIAL is the certificate's JWT (``application/vc+jwt``), JWKS the issuer's key set
(``/certificates/jwks.json``) and each LIST a status-list credential
(``/certificates/status/<purpose>/<n>``): each a file path or an http(s) URL. A status list
not given is fetched from the URL the credential names. Needs only joserfc.

Prints VALID, or REVOKED/SUSPENDED/INVALID with the reason, and exits 0 only when valid.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ALGORITHM = "ES256"


def load(source: str) -> str:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 - http(s) only
            return str(response.read().decode())
    return Path(source).read_text()


def verified_payload(token: str, keys: KeySet) -> dict:
    """The payload of a vc+jwt signed by one of ``keys`` (raises on any failure)."""
    header = jws.extract_compact(token.encode()).headers()
    if header.get("typ") != "vc+jwt" or header.get("alg") != ALGORITHM:
        raise ValueError("not a vc+jwt signed with ES256")
    key = keys.get_by_kid(header["kid"])  # raises if the issuer never published the key
    return json.loads(jws.deserialize_compact(token, key, algorithms=[ALGORITHM]).payload)


def timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def bit(encoded_list: str, index: int) -> bool:
    raw = encoded_list[1:]  # multibase "u": base64url without padding
    bits = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def verify(token: str, keys: KeySet, lists: dict[str, str]) -> tuple[str, str]:
    try:
        credential = verified_payload(token.strip(), keys)
    except (JoseError, ValueError, KeyError) as exc:
        return "INVALID", f"the signature does not verify with the published keys ({exc})"
    now = datetime.now(UTC)
    if timestamp(credential["validFrom"]) > now:
        return "INVALID", "the credential is not valid yet"
    if "validUntil" in credential and timestamp(credential["validUntil"]) < now:
        return "INVALID", "the credential has expired"
    for entry in credential.get("credentialStatus", []):
        url = entry["statusListCredential"]
        status_list = verified_payload(lists.get(url) or load(url), keys)
        subject = status_list["credentialSubject"]
        if subject["statusPurpose"] != entry["statusPurpose"] or status_list["id"] != url:
            return "INVALID", f"the status list at {url} is not the one the credential names"
        if bit(subject["encodedList"], int(entry["statusListIndex"])):
            state = "REVOKED" if entry["statusPurpose"] == "revocation" else "SUSPENDED"
            return state, (
                f"the issuer's {entry['statusPurpose']} list ({url}) marks entry "
                f"{entry['statusListIndex']}: see {credential['id']} for the reason"
            )
    achievement = credential["credentialSubject"]["achievement"]
    return "VALID", f"{achievement['name']} by {achievement['creator']['name']}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("credential", help="file or URL of the certificate's vc+jwt")
    parser.add_argument("--jwks", required=True, help="file or URL of the issuer's JWKS")
    parser.add_argument("--status-list", action="append", default=[], help="file or URL")
    args = parser.parse_args()
    keys = KeySet.import_key_set(json.loads(load(args.jwks)))
    lists: dict[str, str] = {}
    for source in args.status_list:
        token = load(source).strip()
        document = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        lists[document["id"]] = token
    state, reason = verify(load(args.credential), keys, lists)
    print(f"{state}: {reason}")
    return 0 if state == "VALID" else 1


if __name__ == "__main__":
    sys.exit(main())
