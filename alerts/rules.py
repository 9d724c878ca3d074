"""The alert rules, as plain functions over facts the analyst gathers.

* Diversion: a place is *outside* a territory only when no region of the
  territory covers it and it covers no region of the territory. A scan placed only
  to "Guangdong" is neither inside nor outside a territory of Guangzhou: too
  coarse to decide, so no alert. An unknown place never decides anything.
* Clone: travel faster than ``clone_speed_kmh`` between two located scans (at least
  ``clone_min_km`` apart), more than ``clone_max_cities`` distinct cities, more
  than ``clone_max_scans`` counted scans; the hot path's own "suspect" verdicts
  (``far_apart``, ``too_often``) count too.
"""

from dataclasses import dataclass
from datetime import datetime

from zhenma.config import Settings
from zhenma.places.geonames import km_between
from zhenma.regions import covers

DIVERSION, CLONE, UNSOLD = "diversion", "clone", "unsold"
KINDS = (DIVERSION, CLONE, UNSOLD)


def outside(territory: list[str], place: str | None) -> bool:
    """Whether a scan at ``place`` was certainly outside ``territory``."""
    if not place or not territory:
        return False
    return all(not covers(r, place) and not covers(place, r) for r in territory)


@dataclass(frozen=True)
class Point:
    lat: float
    lng: float
    at: datetime


def too_fast(a: Point, b: Point, settings: Settings) -> float | None:
    """The speed (km/h) two located scans imply, when it exceeds the configured one."""
    km = km_between(a.lat, a.lng, b.lat, b.lng)
    if km < settings.clone_min_km:
        return None
    hours = abs((b.at - a.at).total_seconds()) / 3600
    if km <= settings.clone_speed_kmh * hours:
        return None
    return km / hours if hours else float("inf")


def clone_reason(
    settings: Settings,
    verdict_reason: str | None,
    scan_count: int,
    cities: int,
    speed_kmh: float | None,
) -> str | None:
    """Why a code looks copied, in a word; None when it does not."""
    if speed_kmh is not None:
        return "too_fast"
    if cities > settings.clone_max_cities:
        return "too_many_cities"
    if scan_count > settings.clone_max_scans:
        return "too_often"
    if verdict_reason in ("far_apart", "too_often"):
        return verdict_reason
    return None
