"""Region codes: one scheme for distributor territories, scan places and alerts.

* A country is its ISO 3166-1 alpha-2 code: ``CN``, ``US``, ``HK``, ``MO``, ``TW``.
  ``CN`` means mainland China. Hong Kong, Macao and Taiwan are written with their
  own ISO codes, never as GB/T 2260 codes, because goods crossing to them are
  parallel trade that HQ wants to see as such.
* A place in mainland China is ``CN-`` and its six-digit GB/T 2260 administrative
  division code: ``CN-440000`` Guangdong province, ``CN-440100`` Guangzhou city.
  The first two digits name the province, the first four the prefecture city;
  a province code ends in ``0000``, a city code in ``00``.
* A territory lists regions at country, province or city level; district and
  county codes (``CN-440106``) are refused, since scan places are resolved to
  cities at best. A region covers itself and every place whose code it prefixes
  (``covers``): ``CN`` covers ``CN-440100``, ``CN-440000`` covers ``CN-440106``.

Plain Python, no database: territories (issue 5) and the place resolver and
diversion rules (issue 6) both use it. The names of the 31 mainland provinces are
here, in Chinese and English; city names come with the place data (issue 6).
"""

import re
from dataclasses import dataclass

from zhenma.errors import Invalid

PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京市", "Beijing"),
    "12": ("天津市", "Tianjin"),
    "13": ("河北省", "Hebei"),
    "14": ("山西省", "Shanxi"),
    "15": ("内蒙古自治区", "Inner Mongolia"),
    "21": ("辽宁省", "Liaoning"),
    "22": ("吉林省", "Jilin"),
    "23": ("黑龙江省", "Heilongjiang"),
    "31": ("上海市", "Shanghai"),
    "32": ("江苏省", "Jiangsu"),
    "33": ("浙江省", "Zhejiang"),
    "34": ("安徽省", "Anhui"),
    "35": ("福建省", "Fujian"),
    "36": ("江西省", "Jiangxi"),
    "37": ("山东省", "Shandong"),
    "41": ("河南省", "Henan"),
    "42": ("湖北省", "Hubei"),
    "43": ("湖南省", "Hunan"),
    "44": ("广东省", "Guangdong"),
    "45": ("广西壮族自治区", "Guangxi"),
    "46": ("海南省", "Hainan"),
    "50": ("重庆市", "Chongqing"),
    "51": ("四川省", "Sichuan"),
    "52": ("贵州省", "Guizhou"),
    "53": ("云南省", "Yunnan"),
    "54": ("西藏自治区", "Tibet"),
    "61": ("陕西省", "Shaanxi"),
    "62": ("甘肃省", "Gansu"),
    "63": ("青海省", "Qinghai"),
    "64": ("宁夏回族自治区", "Ningxia"),
    "65": ("新疆维吾尔自治区", "Xinjiang"),
}

_COUNTRY = re.compile(r"[A-Z]{2}")
_CHINA = re.compile(r"CN-(\d{6})")
_SAR = {"71": "TW", "81": "HK", "82": "MO"}


@dataclass(frozen=True)
class Region:
    code: str
    level: str  # country, province, city

    @property
    def province(self) -> str | None:
        """``CN-440000`` for any code in Guangdong; None for a country."""
        return f"CN-{self.code[3:5]}0000" if self.level != "country" else None

    def name(self, lang: str = "zh") -> str:
        if self.level == "country":
            return self.code
        zh, en = PROVINCES[self.code[3:5]]
        province = zh if lang == "zh" else en
        return province if self.level == "province" else f"{province} {self.code}"


def parse(text: str) -> Region:
    """A territory region: a country, a mainland province or a prefecture city."""
    if not isinstance(text, str):
        raise Invalid("a region code is text, such as CN, CN-440000 or CN-440100")
    code = text.strip().upper()
    if _COUNTRY.fullmatch(code):
        return Region(code, "country")
    match = _CHINA.fullmatch(code)
    if not match:
        raise Invalid(
            f"region {text!r}: write a country as its ISO 3166-1 code (CN, HK) or a place in"
            " mainland China as CN- and its 6-digit GB/T 2260 code (CN-440000, CN-440100)"
        )
    digits = match[1]
    if digits[:2] in _SAR:
        raise Invalid(f"region {code}: write {_SAR[digits[:2]]}, its ISO 3166-1 code")
    if digits[:2] not in PROVINCES:
        raise Invalid(f"region {code}: {digits[:2]} is not a mainland province code")
    if digits[2:] == "0000":
        return Region(code, "province")
    if digits[4:] == "00":
        return Region(code, "city")
    raise Invalid(
        f"region {code} is a district or county; territories go down to cities"
        f" (CN-{digits[:4]}00), since scan places are resolved to cities at best"
    )


def covers(region: str, place: str) -> bool:
    """Whether territory ``region`` contains ``place`` (a region code of any level).

    A country covers its ISO 3166-2 subdivisions (``CN`` covers ``CN-440106``), a
    province every code with its two digits, a city every code with its four.
    """
    if region == place:
        return True
    if len(region) == 2:
        return place.startswith(region + "-")
    if not (region.startswith("CN-") and place.startswith("CN-") and len(place) == 9):
        return False
    digits = region[3:]
    if digits[2:] == "0000":
        return place[3:5] == digits[:2]
    if digits[4:] == "00":
        return place[3:7] == digits[:4]
    return False


def within(regions: list[str], place: str) -> bool:
    """Whether any region of a territory covers ``place``."""
    return any(covers(r, place) for r in regions)
