"""Region codes: countries, mainland provinces and cities, and what covers what."""

import pytest

from tests.helpers import exactly
from zhenma import regions
from zhenma.errors import Invalid


@pytest.mark.parametrize(
    ("text", "code", "level"),
    [
        ("CN", "CN", "country"), ("hk", "HK", "country"), (" US ", "US", "country"),
        ("CN-440000", "CN-440000", "province"), ("cn-110000", "CN-110000", "province"),
        ("CN-440100", "CN-440100", "city"), ("CN-650100", "CN-650100", "city"),
        ("CN-429000", "CN-429000", "city"),
    ],
)  # fmt: skip
def test_parse_names_the_level(text, code, level):
    assert regions.parse(text) == regions.Region(code, level)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CHN", "region 'CHN': write a country as its ISO 3166-1 code (CN, HK) or a place in"
         " mainland China as CN- and its 6-digit GB/T 2260 code (CN-440000, CN-440100)"),
        ("CN-4401", "region 'CN-4401': write a country as its ISO 3166-1 code (CN, HK) or a place"
         " in mainland China as CN- and its 6-digit GB/T 2260 code (CN-440000, CN-440100)"),
        ("CN-810000", "region CN-810000: write HK, its ISO 3166-1 code"),
        ("CN-710100", "region CN-710100: write TW, its ISO 3166-1 code"),
        ("CN-000000", "region CN-000000: 00 is not a mainland province code"),
        ("CN-440106", "region CN-440106 is a district or county; territories go down to cities"
         " (CN-440100), since scan places are resolved to cities at best"),
    ],
)  # fmt: skip
def test_parse_refuses_with_a_clear_message(text, message):
    with pytest.raises(Invalid, match=exactly(message)):
        regions.parse(text)


def test_parse_refuses_what_is_not_text():
    with pytest.raises(Invalid):
        regions.parse(44)


@pytest.mark.parametrize(
    ("region", "place", "covered"),
    [
        ("CN", "CN", True), ("CN", "CN-440106", True), ("CN", "HK", False),
        ("HK", "CN-440000", False), ("US", "US-CA", True),
        ("CN-440000", "CN-440000", True), ("CN-440000", "CN-440100", True),
        ("CN-440000", "CN-440106", True), ("CN-440000", "CN-450100", False),
        ("CN-440100", "CN-440106", True), ("CN-440100", "CN-440300", False),
        ("CN-440100", "CN-440000", False),  # a province-level place is too coarse
        ("CN-110000", "CN-110105", True), ("CN-440100", "CN", False),
        ("CN-440100", "US-CA", False),
    ],
)  # fmt: skip
def test_covers_by_prefix(region, place, covered):
    assert regions.covers(region, place) is covered


def test_within_any_region_and_names_in_two_languages():
    assert regions.within(["CN-510000", "CN-440100"], "CN-440106")
    assert not regions.within(["CN-510000", "CN-440100"], "CN-440300")
    assert regions.parse("CN-440000").name("zh") == "广东省"
    assert regions.parse("CN-440100").name("en") == "Guangdong CN-440100"
    assert regions.parse("CN-650100").province == "CN-650000"
    assert regions.parse("CN").province is None and regions.parse("CN").name() == "CN"
    assert len(regions.PROVINCES) == 31
