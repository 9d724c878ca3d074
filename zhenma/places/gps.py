"""From the phone's coordinates to a region: GeoNames for country and province, then the city.

1. A prefecture seat (``cities``) nearer than any GeoNames place is the answer.
   Else the nearest GeoNames place within ``MAX_KM`` gives the country (a scan in Hong
   Kong is ``HK``, not Shenzhen) and, in mainland China, the province (its
   first-level division name, matched to ``zhenma.regions.PROVINCES``).
2. The city: the place's second-level division name when it names a prefecture of
   that province (``Guangzhou Shi`` → ``CN-440100``), else the prefecture of that
   province whose seat is nearest, if within ``CITY_KM``; else province precision.

Point-based, not polygons: near a prefecture border the city can be the neighbour's
(docs/alerts.md, "precision"); the province is wrong only where a town of the
neighbouring province is nearer than any town of the right one.
"""

import math
import re
from functools import cache

from . import GPS, UNKNOWN, Place, cities, geonames

MAX_KM = 150.0  # further from any place of 1,000 people: the sea, a desert; unknown
CITY_KM = 200.0  # further from every prefecture seat of its province: province only

# GeoNames' second-level names that spell a prefecture differently from our table.
_ALIASES = {
    "kashi": "CN-653100", "hetian": "CN-653200", "yili": "CN-654000", "aletai": "CN-654300",
    "rikaze": "CN-540200", "bayinguoleng": "CN-652800", "wulanchabu": "CN-150900",
    "daxinganling": "CN-232700", "tulufan": "CN-650400", "kezilesu": "CN-653000",
    "kelamayi": "CN-650200", "lupanshui": "CN-520200", "deqen": "CN-533400", "aba": "CN-513200",
}  # fmt: skip


@cache
def _seats() -> geonames.Index:
    return geonames.Index(list(cities.all_cities()))


def _city_key(city: cities.City) -> str:
    return re.sub(r"(league|qinghai)$", "", cities.key(city.name_en))


def city_of_county(county: str, candidates) -> str | None:
    """The prefecture a GeoNames second-level name names (``Guangzhou Shi``, ``Prefecture
    of Chenzhou``, ``Dali Baizu Zizhizhou``): the longest prefecture name it starts with."""
    wanted = cities.key(re.sub(r"^prefecture of ", "", county.lower()))
    codes = {c.code for c in candidates}
    best = ("", None)
    for c in candidates:
        name = _city_key(c)
        if wanted.startswith(name) and len(name) > len(best[0]):
            best = (name, c.code)
    for alias, code in _ALIASES.items():
        if code in codes and wanted.startswith(alias) and len(alias) > len(best[0]):
            best = (alias, code)
    return best[1]


class Coordinates:
    def __init__(self, index: geonames.Index | None = None):
        self._index = index

    @property
    def index(self) -> geonames.Index:
        if self._index is None:
            self._index = geonames.index()
        return self._index

    def locate(self, lat: float | None, lng: float | None, ip_prefix: str | None = None) -> Place:
        if lat is None or lng is None or not (math.isfinite(lat) and math.isfinite(lng)):
            return UNKNOWN
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return UNKNOWN
        found = self.index.nearest(lat, lng, MAX_KM)
        if found is None:
            return UNKNOWN
        place, distance = found
        # A prefecture seat nearer than that place (seats are indexed like places).
        seat = _seats().nearest(lat, lng, distance)
        if seat is not None and seat[1] < distance:
            # Where towns are sparse (the west), a prefecture seat nearer than any town wins.
            return Place(GPS, "city", seat[0].code, lat, lng)
        if place.country != "CN":
            return Place(GPS, "country", place.country, lat, lng)
        province = cities.province_by_name().get(cities.key(place.state or ""))
        if province is None:
            return Place(GPS, "country", "CN", lat, lng)
        candidates = cities.in_province().get(province, ())
        named = city_of_county(place.county, candidates) if place.county else None
        if named is not None:
            return Place(GPS, "city", named, lat, lng)
        nearest = min(
            candidates, key=lambda c: geonames.km_between(lat, lng, c.lat, c.lng), default=None
        )
        if (
            nearest is not None
            and geonames.km_between(lat, lng, nearest.lat, nearest.lng) <= CITY_KM
        ):
            return Place(GPS, "city", nearest.code, lat, lng)
        return Place(GPS, "province", province, lat, lng)
