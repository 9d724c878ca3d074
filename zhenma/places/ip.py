"""From the client's network to a region, through a MaxMind-format (MMDB) database.

The database is GeoLite2 City or GeoIP2 City (or any database with their record
shape: ``country.iso_code``, ``subdivisions[].iso_code`` and ``names``,
``city.names``); its path is ``ZHENMA_GEOIP_DB``. Scans keep only the client's
/24 (IPv4) or /48 (IPv6) network, so the network's first address is looked up:
MaxMind's own data is rarely finer than that.

Mainland provinces are found by their ISO 3166-2 code (letters, ``GD``, as ISO
writes them since 2017, or the older numbers, ``44``) or their name; cities by
their English or Chinese name within the province. A record without a city that
we can name is province precision; without a province, country precision.
"""

import ipaddress
import re
import threading

import maxminddb

from . import IP, UNKNOWN, Place, cities

# ISO 3166-2:CN letter codes of the provinces → their GB/T 2260 digits.
ISO_PROVINCES = {
    "BJ": "11", "TJ": "12", "HE": "13", "SX": "14", "NM": "15", "LN": "21", "JL": "22",
    "HL": "23", "SH": "31", "JS": "32", "ZJ": "33", "AH": "34", "FJ": "35", "JX": "36",
    "SD": "37", "HA": "41", "HB": "42", "HN": "43", "GD": "44", "GX": "45", "HI": "46",
    "CQ": "50", "SC": "51", "GZ": "52", "YN": "53", "XZ": "54", "SN": "61", "GS": "62",
    "QH": "63", "NX": "64", "XJ": "65",
}  # fmt: skip
# Hong Kong, Macao and Taiwan appear as subdivisions of CN in some databases.
_SAR = {"HK": "HK", "MO": "MO", "TW": "TW", "91": "HK", "92": "MO", "71": "TW"}


def _province(sub: dict) -> str | None:
    iso = str(sub.get("iso_code") or "").upper()
    if iso in ISO_PROVINCES:
        return f"CN-{ISO_PROVINCES[iso]}0000"
    if iso.isdigit() and iso in cities.PROVINCES:
        return f"CN-{iso}0000"
    for name in (sub.get("names") or {}).values():
        found = cities.province_by_name().get(name) or cities.province_by_name().get(
            cities.key(name)
        )
        if found:
            return found
    return None


def _city(names: dict, province: str) -> cities.City | None:
    wanted = set()
    for lang, name in names.items():
        if lang.startswith("zh"):
            wanted |= {name, re.sub(r"市$", "", name)}
        else:
            wanted.add(re.sub(r"(shi|city)$", "", cities.key(name)))
    for c in cities.in_province().get(province, ()):
        if {c.name_zh, re.sub(r"市$", "", c.name_zh), cities.key(c.name_en)} & wanted:
            return c
    return None


class MaxMind:
    def __init__(self, path: str):
        self.path = path
        self._reader = None
        self._lock = threading.Lock()

    @property
    def reader(self):
        with self._lock:
            if self._reader is None:
                self._reader = maxminddb.open_database(self.path)
            return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    def locate(self, lat=None, lng=None, ip_prefix: str | None = None) -> Place:
        if not ip_prefix:
            return UNKNOWN
        try:
            address = ipaddress.ip_network(ip_prefix, strict=False).network_address
        except ValueError:
            return UNKNOWN
        record = self.reader.get(address)
        if not isinstance(record, dict):
            return UNKNOWN
        country = str((record.get("country") or {}).get("iso_code") or "").upper()
        if not re.fullmatch(r"[A-Z]{2}", country):
            return UNKNOWN
        subs = record.get("subdivisions") or []
        if country != "CN" or not subs:
            return Place(IP, "country", country)
        if str(subs[0].get("iso_code") or "").upper() in _SAR:
            return Place(IP, "country", _SAR[str(subs[0]["iso_code"]).upper()])
        province = _province(subs[0])
        if province is None:
            return Place(IP, "country", "CN")
        city = _city((record.get("city") or {}).get("names") or {}, province)
        if city is None:
            return Place(IP, "province", province)
        return Place(IP, "city", city.code, city.lat, city.lng)
