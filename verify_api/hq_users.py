"""HQ users, their passwords and their login sessions. No Flask here.

Passwords are hashed with Argon2id at OWASP's recommended minimum (19 MiB, 2
passes, 1 lane: about 60 ms here; argon2-cffi's default of 64 MiB and 4 lanes took
0.8 s on our 2-core machines, a login any client could make the server pay for):
memory-hard, so a stolen table is expensive to guess through on GPUs, and the PHC
string carries its parameters, so stronger settings later rehash each password at
its next login.
(``hashlib.scrypt`` would also do; Argon2id is what OWASP recommends first, and
argon2-cffi verifies in constant time and reports when a hash needs upgrading.)

A session is a random 256-bit token in a cookie; only its SHA-256 is stored, with
an absolute expiry (``ZHENMA_HQ_SESSION_HOURS``). Logging out, or changing the
password, ends sessions at once. The CSRF token of a session is an HMAC of its
token: forms and JSON calls made with the cookie must carry it.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from distribution.times import now, utc
from zhenma.db.models import HqSession, HqUser
from zhenma.errors import Conflict, Invalid, NotFound

ROLES = ("viewer", "admin")
MIN_PASSWORD = 12
_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.@-]{1,59}")
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified against when the user does not exist, so both cases take the same time.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(f"a password has at least {MIN_PASSWORD} characters")


def add(s: Session, username: str, password: str, role: str, display_name: str = "") -> HqUser:
    username = username.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise Invalid("a username is 2 to 60 of a-z, 0-9, and _ . @ -")
    if role not in ROLES:
        raise Invalid(f"role is one of {', '.join(ROLES)}")
    _check_password(password)
    if s.scalar(select(HqUser.id).where(HqUser.username == username)) is not None:
        raise Conflict(f"HQ user {username!r} exists")
    user = HqUser(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=_hasher.hash(password),
    )
    s.add(user)
    s.flush()
    return user


def get(s: Session, username: str) -> HqUser:
    user = s.scalar(select(HqUser).where(HqUser.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no HQ user {username!r}")
    return user


def all_(s: Session) -> list[HqUser]:
    return list(s.scalars(select(HqUser).order_by(HqUser.username)))


def set_password(s: Session, username: str, password: str) -> HqUser:
    _check_password(password)
    user = get(s, username)
    user.password_hash = _hasher.hash(password)
    user.password_changed_at = now()
    s.execute(delete(HqSession).where(HqSession.user_id == user.id))
    return user


def authenticate(s: Session, username: str, password: str) -> HqUser | None:
    """The user, when the password is right; None otherwise (never says which was wrong)."""
    user = s.scalar(select(HqUser).where(HqUser.username == username.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"zhenma-hq-csrf", hashlib.sha256).hexdigest()[:40]


@dataclass(frozen=True)
class Login:
    user: HqUser
    token: str  # the cookie value: only here in clear


def start(s: Session, user: HqUser, hours: float) -> Login:
    token = secrets.token_urlsafe(32)
    at = now()
    s.add(
        HqSession(
            token_hash=_digest(token),
            user_id=user.id,
            created_at=at,
            expires_at=at + timedelta(hours=hours),
        )
    )
    # Expired sessions of this user go as a new one starts: the table stays small.
    s.execute(delete(HqSession).where(HqSession.user_id == user.id, HqSession.expires_at < at))
    return Login(user, token)


def find(s: Session, token: str) -> HqUser | None:
    """The user of a live session; None when the token is unknown or expired."""
    row = s.get(HqSession, _digest(token))
    if row is None or utc(row.expires_at) <= now():
        return None
    return s.get(HqUser, row.user_id)


def end(s: Session, token: str) -> None:
    s.execute(delete(HqSession).where(HqSession.token_hash == _digest(token)))
