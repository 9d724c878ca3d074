"""Places of scans: real coordinates of real cities, and a MaxMind database the test builds."""

import pytest

from tests.places import geoip
from zhenma import regions
from zhenma.places import UNKNOWN, Place, Resolver, cities, name
from zhenma.places.gps import Coordinates
from zhenma.places.ip import MaxMind

# City centres as a phone reports them (WGS-84), and the city each lies in.
REAL = [
    ("Guangzhou, Tianhe", 23.1291, 113.2644, "CN-440100"),
    ("Shenzhen, Futian", 22.5431, 114.0579, "CN-440300"),
    ("Chengdu, Tianfu Square", 30.6570, 104.0660, "CN-510100"),
    ("Beijing, Tiananmen", 39.9087, 116.3975, "CN-110100"),
    ("Urumqi", 43.8256, 87.6168, "CN-650100"),
    ("Shanghai, the Bund", 31.2400, 121.4900, "CN-310100"),
    ("Hangzhou, West Lake", 30.2590, 120.1480, "CN-330100"),
    ("Dongguan", 23.0207, 113.7518, "CN-441900"),
    ("Lhasa", 29.6500, 91.1000, "CN-540100"),
]


@pytest.fixture(scope="module")
def gps():
    return Coordinates()


@pytest.mark.parametrize(("where", "lat", "lng", "region"), REAL, ids=[r[0] for r in REAL])
def test_coordinates_of_real_cities_resolve_to_their_gb_t_2260_city(gps, where, lat, lng, region):
    place = gps.locate(lat, lng)
    assert place == Place("gps", "city", region, lat, lng)
    regions.parse(region)  # a code of the one scheme


def test_coordinates_outside_the_mainland_are_their_country(gps):
    assert gps.locate(22.2800, 114.1600).region == "HK"  # Hong Kong, Central
    assert gps.locate(35.6812, 139.7671) == Place("gps", "country", "JP", 35.6812, 139.7671)


@pytest.mark.parametrize(
    ("lat", "lng"), [(20.0, 130.0), (None, 113.2), (float("nan"), 1.0), (91.0, 0.0)]
)
def test_the_open_sea_and_nonsense_are_unknown(gps, lat, lng):
    assert gps.locate(lat, lng) == UNKNOWN


def test_the_city_table_has_every_prefecture_of_every_province():
    table = cities.all_cities()
    assert len(table) == 337  # 333 prefecture-level divisions and the 4 municipalities
    assert {c.province[3:5] for c in table} == set(regions.PROVINCES)
    assert len({c.code for c in table}) == len(table)
    for c in table:
        assert regions.parse(c.code).level == "city"
    known = {"CN-440100": "广州市", "CN-440300": "深圳市", "CN-510100": "成都市",
             "CN-110100": "北京市", "CN-650100": "乌鲁木齐市", "CN-310100": "上海市",
             "CN-330100": "杭州市", "CN-222400": "延边朝鲜族自治州"}  # fmt: skip
    assert {code: cities.by_code()[code].name_zh for code in known} == known


def test_every_prefecture_seat_resolves_to_its_own_city(gps):
    wrong = [c.code for c in cities.all_cities() if gps.locate(c.lat, c.lng).region != c.code]
    assert wrong == []  # a seat is nearer than any GeoNames place, even Sansha's


def test_names_are_given_in_chinese_and_english():
    assert name("CN-440300") == "广东省 深圳市"
    assert name("CN-440300", "en") == "Shenzhen, Guangdong"
    assert name("CN-110100", "en") == "Beijing"
    assert name("CN-650000") == "新疆维吾尔自治区"
    assert name("HK", "en") == "Hong Kong"
    assert name(None) == "未知"


@pytest.fixture(scope="module")
def maxmind(tmp_path_factory):
    reader = MaxMind(geoip.build(tmp_path_factory.mktemp("geoip") / "test-city.mmdb"))
    yield reader
    reader.close()


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("203.0.113.0/24", ("city", "CN-440100")),
        ("198.51.100.0/24", ("city", "CN-510100")),
        ("198.51.100.128/25", ("city", "CN-510100")),
        ("198.18.2.0/24", ("province", "CN-510000")),
        ("2001:db8:1::/48", ("city", "CN-110100")),
        ("192.0.2.0/24", ("country", "US")),
        ("10.0.0.0/24", (None, None)),
        (None, (None, None)),
        ("not an address", (None, None)),
    ],
)
def test_ip_networks_resolve_through_the_maxmind_database(maxmind, prefix, expected):
    place = maxmind.locate(None, None, prefix)
    assert (place.precision, place.region) == expected
    assert place.source == ("ip" if place.known else "none")


def test_a_record_without_a_city_is_province_precision(maxmind):
    reader = maxmind.reader
    assert reader.get("198.18.2.200")["subdivisions"][0]["iso_code"] == "SC"
    assert maxmind.locate(None, None, "198.18.2.0/24") == Place("ip", "province", "CN-510000")
    assert maxmind.locate(None, None, "198.18.3.0/24") == Place("ip", "country", "HK")


def test_coordinates_win_over_the_ip_address_which_wins_over_nothing(gps, maxmind):
    resolver = Resolver(gps, maxmind)
    assert resolver.locate(30.5728, 104.0668, "203.0.113.0/24").region == "CN-510100"
    assert resolver.locate(None, None, "203.0.113.0/24").source == "ip"
    assert resolver.locate(20.0, 130.0, "203.0.113.0/24").region == "CN-440100"
    assert resolver.locate(None, None, None) == UNKNOWN
    assert Resolver(gps, None).locate(None, None, "203.0.113.0/24") == UNKNOWN
