"""A small MaxMind-format database built by the tests, shaped like GeoLite2 City.

Networks are the documentation and benchmark ranges (RFC 5737, 2544, 3849), each standing for a
real place: what matters is the record shape the resolver reads.
"""

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# Scans keep a /24, so each place is a whole /24 (or a /48).
GUANGZHOU_NET = "203.0.113.0/24"
GUANGDONG_NET = "198.18.1.0/24"  # a province, no city
CHENGDU_NET = "198.51.100.0/24"
SICHUAN_NET = "198.18.2.0/24"  # a province, no city
US_NET = "192.0.2.0/24"
HK_NET = "198.18.3.0/24"
BEIJING_V6 = "2001:db8:1::/48"


def _names(en: str, zh: str) -> dict:
    return {"en": en, "zh-CN": zh}


def _record(country: str, sub: tuple | None = None, city: tuple | None = None) -> dict:
    record: dict = {"country": {"iso_code": country, "names": _names(country, country)}}
    if sub:
        record["subdivisions"] = [{"iso_code": sub[0], "names": _names(sub[1], sub[2])}]
    if city:
        record["city"] = {"names": _names(*city)}
    return record


RECORDS = {
    GUANGZHOU_NET: _record("CN", ("GD", "Guangdong", "广东省"), ("Guangzhou", "广州")),
    GUANGDONG_NET: _record("CN", ("GD", "Guangdong", "广东省")),
    CHENGDU_NET: _record("CN", ("SC", "Sichuan", "四川省"), ("Chengdu", "成都")),
    SICHUAN_NET: _record("CN", ("SC", "Sichuan", "四川省")),
    US_NET: _record("US", ("CA", "California", "加利福尼亚州"), ("Los Angeles", "洛杉矶")),
    HK_NET: _record("HK", None, ("Hong Kong", "香港")),
    BEIJING_V6: _record("CN", ("BJ", "Beijing", "北京市"), ("Beijing", "北京")),
}


def build(path) -> str:
    writer = MMDBWriter(
        ip_version=6, database_type="GeoLite2-City", languages=["en", "zh-CN"],
        description="Zhenma test database", ipv4_compatible=True,
    )  # fmt: skip
    for network, record in RECORDS.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return str(path)
