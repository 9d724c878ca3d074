"""The distributor chain: levels, parents, territories; and the API tokens of devices and HQ.

Levels are names from configuration (``Settings.distributor_levels``), top first;
a distributor stores its position (1 = the top), so renaming a level is a
configuration change. A parent is always higher in the chain, and a child's
territory lies inside its parent's. ``HQ`` is not a distributor: it is the sender
of goods no one has dispatched yet, and a reserved code.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhenma import regions
from zhenma.db.models import ApiToken, Distributor, DistributorRegion
from zhenma.errors import Conflict, Invalid, NotFound

from . import tokens
from .times import iso

HQ = "HQ"
ROLES = ("viewer", "admin")  # an admin may do everything a viewer may
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def level_of(levels: tuple[str, ...], given: str | int) -> int:
    """A level by its name (省代) or its number (2)."""
    text = str(given).strip()
    if text in levels:
        return levels.index(text) + 1
    if text.isdigit() and 1 <= int(text) <= len(levels):
        return int(text)
    names = ", ".join(f"{i} {name}" for i, name in enumerate(levels, 1))
    raise Invalid(f"level {given!r} is not one of: {names}")


def level_name(levels: tuple[str, ...], level: int) -> str:
    return levels[level - 1] if 1 <= level <= len(levels) else f"level {level}"


def get(session: Session, code: str) -> Distributor:
    found = session.scalar(select(Distributor).where(Distributor.code == code))
    if found is None:
        raise NotFound(f"no distributor {code!r}")
    return found


def territory(d: Distributor) -> list[str]:
    return [r.region for r in d.regions]


def _check_territory(given: list[str]) -> list[str]:
    if not given:
        raise Invalid("a territory needs at least one region (such as CN-440000)")
    codes = sorted({regions.parse(text).code for text in given})
    for a in codes:
        for b in codes:
            if a != b and regions.covers(a, b):
                raise Invalid(f"region {b} lies inside {a}: list only {a}")
    return codes


def add(
    session: Session,
    levels: tuple[str, ...],
    code: str,
    name: str,
    level: str | int,
    parent: str | None,
    territory_given: list[str],
) -> Distributor:
    code = (code or "").strip()
    if not _CODE.fullmatch(code):
        raise Invalid(
            f"distributor code {code!r}: 1 to 40 letters, digits, '_', '.' or '-',"
            " starting with a letter or digit"
        )
    if code.upper() == HQ:
        raise Invalid("HQ is reserved for headquarters; choose another distributor code")
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Invalid("a distributor name has 1 to 200 characters")
    number = level_of(levels, level)
    codes = _check_territory(territory_given)
    parent_row = None
    if parent:
        parent_row = get(session, parent.strip())
        if parent_row.level >= number:
            raise Invalid(
                f"parent {parent_row.code} is {level_name(levels, parent_row.level)}; a"
                f" {level_name(levels, number)}'s parent must be higher in the chain"
            )
        outside = [c for c in codes if not regions.within(territory(parent_row), c)]
        if outside:
            raise Invalid(
                f"territory {', '.join(outside)} lies outside the territory of parent"
                f" {parent_row.code} ({', '.join(territory(parent_row))})"
            )
    if session.scalar(select(Distributor.id).where(Distributor.code == code)):
        raise Conflict(f"a distributor {code!r} already exists")
    row = Distributor(code=code, name=name, level=number, parent_id=parent_row and parent_row.id)
    row.regions = [DistributorRegion(region=c) for c in codes]
    session.add(row)
    session.flush()
    return row


def all_(session: Session) -> list[Distributor]:
    return list(session.scalars(select(Distributor).order_by(Distributor.level, Distributor.code)))


def is_below(session: Session, sender_id: int, receiver: Distributor) -> bool:
    """Whether ``receiver`` is under ``sender_id`` in the chain (a child, or deeper)."""
    parent_id = receiver.parent_id
    while parent_id is not None:
        if parent_id == sender_id:
            return True
        parent_id = session.scalar(select(Distributor.parent_id).where(Distributor.id == parent_id))
    return False


def describe(session: Session, d: Distributor | None, levels: tuple[str, ...]) -> dict:
    """A distributor as JSON (``None`` is HQ)."""
    if d is None:
        return {"code": HQ, "name": "HQ", "level": 0, "level_name": "HQ"}
    parent = session.get(Distributor, d.parent_id) if d.parent_id else None
    return {
        "code": d.code,
        "name": d.name,
        "level": d.level,
        "level_name": level_name(levels, d.level),
        "parent": parent.code if parent else None,
        "territory": territory(d),
    }


# -- tokens ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    row: ApiToken
    token: str  # the only time it exists in clear


def add_token(
    session: Session,
    kind: str,
    label: str,
    distributor: Distributor | None = None,
    role: str | None = None,
) -> NewToken:
    label = (label or "").strip()
    if not label or len(label) > 100:
        raise Invalid("a token label (which device or client holds it) has 1 to 100 characters")
    if kind == "hq" and role not in ROLES:
        raise Invalid(f"an HQ token's role is one of {', '.join(ROLES)}")
    text = tokens.new(kind)
    row = ApiToken(
        kind=kind,
        role=role if kind == "hq" else None,
        distributor_id=distributor.id if distributor else None,
        label=label,
        token_hash=tokens.digest(text),
        prefix=tokens.shown(text),
    )
    session.add(row)
    session.flush()
    return NewToken(row, text)


def find_token(session: Session, text: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(text)))


def list_tokens(session: Session, kind: str, distributor: Distributor | None = None) -> list:
    query = select(ApiToken).where(ApiToken.kind == kind).order_by(ApiToken.id)
    if kind == "device":
        query = query.where(
            ApiToken.distributor_id == distributor.id
            if distributor
            else ApiToken.distributor_id.is_(None)
        )
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int, kind: str) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.kind != kind:
        raise NotFound(f"no {'device' if kind == 'device' else 'HQ'} token {token_id}")
    if row.revoked_at is not None:
        raise Conflict(f"token {token_id} was already revoked")
    row.revoked_at = datetime.now(UTC)
    return row


def describe_token(session: Session, row: ApiToken) -> dict:
    owner = session.get(Distributor, row.distributor_id) if row.distributor_id else None
    return {
        "id": row.id,
        "kind": row.kind,
        "role": row.role,
        "distributor": owner.code if owner else (HQ if row.kind == "device" else None),
        "label": row.label,
        "prefix": row.prefix,
        "created_at": iso(row.created_at),
        "revoked_at": iso(row.revoked_at),
    }
