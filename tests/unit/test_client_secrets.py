"""Stored client secrets (``auth/secrets.py``) and the access token signer (``auth/keys.py``)."""

from __future__ import annotations

import pytest
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey

from auth.keys import PrivateSigningKey
from auth.secrets import SecretHasher, Verdict, generate_secret, is_slow, scrypt_hash


def test_the_keyed_hash_verifies_only_the_right_secret_under_the_same_master_key() -> None:
    hasher = SecretHasher(b"master key one")
    secret = generate_secret()
    stored = hasher.hash(secret)
    assert stored.startswith(f"hmac-sha256$v1${hasher.pepper_id}$")
    assert secret not in stored
    assert hasher.verify(secret, stored) is Verdict.RIGHT
    assert hasher.verify(secret + "x", stored) is Verdict.WRONG
    assert hasher.verify(secret[:-1], stored) is Verdict.WRONG
    # The database's copy alone is useless: another master key cannot check a guess.
    other = SecretHasher(b"master key two")
    assert other.pepper_id != hasher.pepper_id
    assert other.verify(secret, stored) is Verdict.WRONG
    # Two hashes of one secret are equal (no salt is needed for 256 random bits)...
    assert hasher.hash(secret) == stored
    # ...and nothing about the pepper is in them.
    assert not is_slow(stored)


def test_no_stored_hash_and_malformed_ones_never_match() -> None:
    hasher = SecretHasher(b"master key")
    for stored in (None, "", "hmac-sha256$v1$", "scrypt$x", "md5$abc", hasher.hash("a") + "$"):
        assert hasher.verify("a", stored) is Verdict.WRONG


def test_a_legacy_scrypt_hash_verifies_and_asks_to_be_rehashed() -> None:
    hasher = SecretHasher(b"master key")
    secret = generate_secret()
    legacy = scrypt_hash(secret, n=2**10)
    assert is_slow(legacy)
    assert hasher.verify(secret, legacy) is Verdict.REHASH
    assert hasher.verify("wrong", legacy) is Verdict.WRONG


def test_signed_access_tokens_verify_with_joserfc() -> None:
    key = ECKey.generate_key("P-256", private=True)
    signer = PrivateSigningKey(kid="k-1", key=key)
    public = ECKey.import_key(key.as_dict(private=False))
    # Many signatures: R or S with leading zero bytes must still fill their 32 bytes.
    for number in range(300):
        token = signer.sign_access_token({"jti": str(number), "sub": "DP-001", "iat": number})
        decoded = jwt.decode(token, public, algorithms=["ES256"])
        assert decoded.claims == {"jti": str(number), "sub": "DP-001", "iat": number}
        assert decoded.header == {"alg": "ES256", "kid": "k-1", "typ": "at+jwt"}
    header, _, signature = token.split(".")
    forged = signer.sign_access_token({"jti": "0", "sub": "PP-001", "iat": 0}).split(".")[1]
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(f"{header}.{forged}.{signature}", public, algorithms=["ES256"])
