"""The identity machinery one app process holds: settings and in-process caches."""

from __future__ import annotations

import asyncio
import os
from functools import cached_property

from auth.keys import PrivateKeyCache
from auth.principal_cache import PrincipalCache
from auth.secrets import SecretHasher
from auth.tokens import PublicKeyCache, TokenVerifier, key_retention
from core.settings import Settings

# Migration 0004's triggers notify it; the app's change listener delivers to this runtime.
IDENTITY_CHANNEL = "prakerja_identity"


class AuthRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.retention = key_retention(settings)
        self.public_keys = PublicKeyCache(self.retention)
        self.verifier = TokenVerifier(settings, self.public_keys)
        # Dark until the app's listener connects: without it, every token is checked live.
        self.principals = PrincipalCache()
        # scrypt is memory-hard (16 MiB a run): more runs at once than cores only thrash
        # the caches and slow every one of them, so client authentications queue here.
        self.hash_slots = asyncio.Semaphore(max(1, os.cpu_count() or 1))

    @cached_property
    def master_key(self) -> bytes:
        # Resolved on first use: a process that never signs never needs (or makes) one.
        return self.settings.resolved_master_key()

    @cached_property
    def secret_hasher(self) -> SecretHasher:
        return SecretHasher(self.master_key)

    @cached_property
    def private_keys(self) -> PrivateKeyCache:
        return PrivateKeyCache(self.master_key)

    # The change listener's subscriber interface (gateway/db/listener.py).

    def changed(self, payload: str) -> None:
        """A commit somewhere may have narrowed or ended a live token's rights."""
        self.principals.invalidate()
        if payload == "signing_keys":
            self.public_keys.forget()

    def go_live(self) -> None:
        self.principals.go_live()

    def go_dark(self) -> None:
        self.principals.go_dark()
