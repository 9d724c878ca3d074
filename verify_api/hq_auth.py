"""Who is calling the HQ and device API: one interface, authenticators that plug in.

An ``Authenticator`` turns a request into a ``Principal`` (an HQ user or client
with a role, or a scanning device of a distributor or of HQ's warehouse), returns
None when the request carries no credentials of its kind, and raises a 401
``ApiError`` when it carries wrong ones. ``init_app`` installs the bearer tokens
of ``api_tokens``; HQ users with sessions (issue 6) add their authenticator with
``add_authenticator`` and keep every view as it is. Views declare whom they admit:

    @allow(hq("viewer"))                  # HQ viewers and admins
    @allow(hq("admin"), device(warehouse=True))  # HQ admins, HQ warehouse devices

Fails closed: no authenticator recognising the request means 401, a principal
no rule admits means 403.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Protocol

from flask import Flask, Request, current_app, g, request

from distribution import distributors
from zhenma.db import Database
from zhenma.db.models import Distributor

from .errors import ApiError
from .extension import verify_service

ROLES = {"viewer": 1, "admin": 2}
_KEY = "zhenma.auth"


@dataclass(frozen=True)
class Principal:
    kind: str  # hq or device
    name: str  # for records and logs: whose token, which user
    role: str | None = None  # an HQ principal's role (viewer, admin)
    distributor_id: int | None = None  # a device's distributor; None: HQ's own device
    distributor_code: str = distributors.HQ
    token_id: int | None = None


class Authenticator(Protocol):
    def authenticate(self, request: Request) -> Principal | None: ...


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="zhenma"'})


class BearerTokens:
    """``Authorization: Bearer <token>``, looked up by its SHA-256 in ``api_tokens``."""

    def __init__(self, db: Database):
        self.db = db

    def authenticate(self, request: Request) -> Principal | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("send the token as Authorization: Bearer <token>")
        with self.db.session() as s:
            row = distributors.find_token(s, token)
            if row is None:
                raise unauthorized("this token is not known")
            if row.revoked_at is not None:
                raise unauthorized("this token was revoked")
            owner = s.get(Distributor, row.distributor_id) if row.distributor_id else None
            return Principal(
                kind=row.kind,
                name=f"token {row.id} ({row.label})",
                role=row.role,
                distributor_id=owner.id if owner else None,
                distributor_code=owner.code if owner else distributors.HQ,
                token_id=row.id,
            )


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = [BearerTokens(app.extensions[verify_service.name].db)]


def add_authenticator(app: Flask, authenticator: Authenticator) -> None:
    app.extensions[_KEY].append(authenticator)


def current() -> Principal:
    """The caller, authenticated once per request."""
    if "principal" not in g:
        for authenticator in current_app.extensions[_KEY]:
            found = authenticator.authenticate(request)
            if found is not None:
                g.principal = found
                break
        else:
            raise unauthorized("this needs a token: Authorization: Bearer <token>")
    return g.principal


Rule = Callable[[Principal], bool]


def hq(role: str) -> Rule:
    def rule(p: Principal) -> bool:
        return p.kind == "hq" and ROLES.get(p.role or "", 0) >= ROLES[role]

    rule.__doc__ = f"an HQ {role}"
    return rule


def device(warehouse: bool = False) -> Rule:
    """A scanning device; with ``warehouse``, only HQ's own."""

    def rule(p: Principal) -> bool:
        return p.kind == "device" and (not warehouse or p.distributor_id is None)

    rule.__doc__ = "a device of HQ's warehouse" if warehouse else "a scanning device"
    return rule


def allow(*rules: Rule):
    """Admit callers that any of ``rules`` admits."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            p = current()
            if not any(rule(p) for rule in rules):
                who = " or ".join(rule.__doc__ for rule in rules)
                raise ApiError(403, "forbidden", f"only {who} may do this; this is {p.name}")
            return view(*args, **kwargs)

        return wrapper

    return decorate
