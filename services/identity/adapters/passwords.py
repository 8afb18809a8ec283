"""Password hashing with argon2id (argon2-cffi); the parameters come from settings."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    def __init__(self, memory_kib: int = 19456, time_cost: int = 2, parallelism: int = 1) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism,
                                  hash_len=32, salt_len=16, type=Type.ID)
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._ph.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._ph.check_needs_rehash(password_hash)

    def waste_time(self, password: str) -> None:
        """Verify against a throwaway hash, so an unknown email costs what a wrong password costs."""
        with self._lock:
            if self._dummy is None:
                self._dummy = self._ph.hash("not a real password, only spends the same time")
        self.verify(self._dummy, password)
