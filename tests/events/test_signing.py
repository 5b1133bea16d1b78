"""Our Standard Webhooks signer against the specification's published test vector."""

from core.webhook_signing import new_secret, sign, signature_header, verify

# From standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_published_vector_signs_exactly() -> None:
    assert sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == EXPECTED


def test_verification_accepts_any_entry_and_refuses_a_changed_body() -> None:
    other = new_secret()
    header = signature_header([other, SECRET], MESSAGE_ID, TIMESTAMP, BODY)
    assert verify(SECRET, MESSAGE_ID, TIMESTAMP, BODY, header)
    assert verify(other, MESSAGE_ID, TIMESTAMP, BODY, header)
    assert not verify(SECRET, MESSAGE_ID, TIMESTAMP, BODY + b" ", header)
    assert not verify(SECRET, MESSAGE_ID, TIMESTAMP + 1, BODY, header)
    assert not verify(new_secret(), MESSAGE_ID, TIMESTAMP, BODY, header)
