"""The prefecture-level cities of mainland China: GB/T 2260 code, names, seat coordinates.

``data/cn_cities.csv`` lists every prefecture-level division (地级市, 地区, 自治州, 盟)
and the four municipalities (city code ``xx0100``; Chongqing's counties, 5002xx, are
folded into ``CN-500100``), with the coordinates of the seat of government. The
resolver uses it to name a city and to find the nearest one; the dashboard for names.
"""

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from zhenma.regions import PROVINCES

# Names of the countries and areas scans most often come from besides the mainland.
COUNTRIES: dict[str, tuple[str, str]] = {
    "CN": ("中国大陆", "Mainland China"),
    "HK": ("中国香港", "Hong Kong"),
    "MO": ("中国澳门", "Macao"),
    "TW": ("中国台湾", "Taiwan"),
    "SG": ("新加坡", "Singapore"),
    "MY": ("马来西亚", "Malaysia"),
    "TH": ("泰国", "Thailand"),
    "VN": ("越南", "Vietnam"),
    "KR": ("韩国", "South Korea"),
    "JP": ("日本", "Japan"),
    "US": ("美国", "United States"),
    "RU": ("俄罗斯", "Russia"),
    "MN": ("蒙古", "Mongolia"),
    "KZ": ("哈萨克斯坦", "Kazakhstan"),
    "MM": ("缅甸", "Myanmar"),
    "LA": ("老挝", "Laos"),
}


@dataclass(frozen=True)
class City:
    code: str  # CN-440100
    name_zh: str
    name_en: str
    lat: float
    lng: float

    @property
    def province(self) -> str:
        return f"CN-{self.code[3:5]}0000"


def key(name: str) -> str:
    """A name folded for matching: ``Pu'er City``, ``puer city``, ``Garzê``/``garze``."""
    folded = unicodedata.normalize("NFKD", name.lower())
    return re.sub(r"[^a-z]", "", "".join(ch for ch in folded if not unicodedata.combining(ch)))


@cache
def all_cities() -> tuple[City, ...]:
    text = files(__package__).joinpath("data/cn_cities.csv").read_text(encoding="utf-8")
    return tuple(
        City(f"CN-{r['code']}", r["name_zh"], r["name_en"], float(r["lat"]), float(r["lng"]))
        for r in csv.DictReader(text.splitlines())
    )


@cache
def by_code() -> dict[str, City]:
    return {c.code: c for c in all_cities()}


@cache
def in_province() -> dict[str, tuple[City, ...]]:
    out: dict[str, list[City]] = {}
    for c in all_cities():
        out.setdefault(c.province, []).append(c)
    return {k: tuple(v) for k, v in out.items()}


@cache
def province_by_name() -> dict[str, str]:
    """``guangdong`` and ``广东省`` and ``广东`` → ``CN-440000``."""
    out = {}
    for digits, (zh, en) in PROVINCES.items():
        code = f"CN-{digits}0000"
        out[key(en)] = out[zh] = code
        out[re.sub(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区)$", "", zh)] = code
    return out


def name(region: str | None, lang: str = "zh") -> str:
    """A region code as people read it: 广东省 广州市, Guangzhou, Guangdong; 中国香港."""
    if not region:
        return "未知" if lang == "zh" else "unknown"
    zh = lang == "zh"
    if len(region) == 2:
        names = COUNTRIES.get(region)
        return (names[0] if zh else names[1]) if names else region
    digits = region[3:]
    p_zh, p_en = PROVINCES.get(digits[:2], (region, region))
    if digits.endswith("0000"):
        return p_zh if zh else p_en
    city = by_code().get(f"CN-{digits[:4]}00")
    if city is None:
        return f"{p_zh} {region}" if zh else f"{region}, {p_en}"
    if city.name_zh == p_zh:  # a municipality: 北京市, not 北京市 北京市
        return p_zh if zh else p_en
    return f"{p_zh} {city.name_zh}" if zh else f"{city.name_en}, {p_en}"
