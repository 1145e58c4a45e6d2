"""Password hashing (argon2id) and random secrets."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 4  # the demo's "demo"; production policy belongs to the identity provider


_HASHER = PasswordHasher()


def _hasher() -> PasswordHasher:
    return _HASHER


def configure(*, time_cost: int, memory_cost_kib: int) -> None:
    """Change the argon2 cost (tests use a cheap one; production keeps the library default)."""
    global _HASHER
    _HASHER = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=1)
    dummy_hash.cache_clear()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """Tokens are stored only as their SHA-256: a leaked table grants nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


# A fixed hash to verify against when the account does not exist, so response time does not
# tell an attacker which usernames are real.
@lru_cache(maxsize=1)
def dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))
