from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise import fields
from tortoise.models import Model

from models.permission import Permission


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    password_hash = fields.CharField(max_length=200)
    permission_names: list[str] = fields.JSONField(default=list)
    # Taken by every notification to this user: their stream's gap-free sequence.
    notification_seq = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(Permission(name) for name in self.permission_names)

    def can(self, permission: Permission) -> bool:
        return permission.value in self.permission_names


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or a malformed hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Verified against when the email is unknown, so both failures cost the same time.
DUMMY_PASSWORD_HASH = _hasher.hash("funnelgraph: no such user")
