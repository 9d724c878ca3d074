"""Where a scan happened: a region code (``zhenma.regions``), its source and its precision.

Offline only, no call to any outside service:

* ``gps``: the phone's coordinates, reverse geocoded with GeoNames data shipped in a
  package (``geonames``) and the prefecture table (``cities``);
* ``ip``: the client's network through a MaxMind-format database (``ip``);
* else unknown.

``Resolver`` tries them in that order. Plain Python: the worker calls it, nothing
here knows Flask or SQL. docs/alerts.md describes the method and its precision.
"""

from dataclasses import dataclass
from typing import Protocol

from .cities import name

__all__ = ["UNKNOWN", "Locator", "Place", "Resolver", "name"]

GPS, IP, NONE = "gps", "ip", "none"
PRECISIONS = ("country", "province", "city")


@dataclass(frozen=True)
class Place:
    source: str  # gps, ip, none
    precision: str | None  # city, province, country; None when unknown
    region: str | None  # CN-440100, CN-440000, CN, HK, US; None when unknown
    lat: float | None = None  # a point for travel-speed checks: the phone's, or the city's
    lng: float | None = None

    @property
    def known(self) -> bool:
        return self.region is not None

    def name(self, lang: str = "zh") -> str:
        return name(self.region, lang)


UNKNOWN = Place(NONE, None, None)


class Locator(Protocol):
    def locate(self, lat: float | None, lng: float | None, ip_prefix: str | None) -> Place: ...


class Resolver:
    """Coordinates first, then the IP address, else unknown."""

    def __init__(self, gps: Locator | None, ip: Locator | None):
        self.gps, self.ip = gps, ip

    def locate(self, lat: float | None, lng: float | None, ip_prefix: str | None) -> Place:
        for locator in (self.gps, self.ip):
            if locator is not None:
                place = locator.locate(lat, lng, ip_prefix)
                if place.known:
                    return place
        return UNKNOWN


def resolver(geoip_path: str | None) -> Resolver:
    """The resolver of a deployment: GeoNames always, MaxMind when a database is configured."""
    from .gps import Coordinates
    from .ip import MaxMind

    return Resolver(Coordinates(), MaxMind(geoip_path) if geoip_path else None)
