"""Times as stored and shown: aware UTC inside, ISO 8601 at the boundary.

SQLite hands stored times back naive (they were written in UTC); ``utc`` puts the
zone back so comparisons work the same on both databases.
"""

from datetime import UTC, datetime


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def iso(at: datetime | None) -> str | None:
    return None if at is None else utc(at).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC)


def parse(text: object, name: str) -> datetime:
    """An ISO 8601 time with its offset (``2026-11-23T10:00:00+08:00`` or ``...Z``)."""
    from zhenma.errors import Invalid

    if not isinstance(text, str):
        raise Invalid(f"{name} must be an ISO 8601 time such as 2026-11-23T10:00:00+08:00")
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            f"{name} {text!r} is not an ISO 8601 time such as 2026-11-23T10:00:00+08:00"
        ) from None
    if at.tzinfo is None:
        raise Invalid(f"{name} {text!r} needs its UTC offset (+08:00 or Z)")
    return at.astimezone(UTC)
