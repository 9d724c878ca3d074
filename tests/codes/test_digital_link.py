"""Digital Link URLs: what the generator prints parses as GS1 Digital Link (biip agrees)."""

import biip
import pytest

from zhenma.codes import Code, DigitalLink, Gtin, Kind, MalformedCode, TypoCode
from zhenma.codes.digital_link import url_prefix

KEY = bytes(32)
SERIAL = Code.sign(KEY, Kind.ITEM, 3, 77).render()


def test_printed_url_is_a_valid_digital_link_for_biip():
    url = url_prefix("https://v.zhenma.cn/", Gtin.parse("6901234567892")) + SERIAL
    assert url == f"https://v.zhenma.cn/01/06901234567892/21/{SERIAL}"
    result = biip.parse(url)
    assert result.gs1_digital_link_uri is not None, result.gs1_digital_link_uri_error
    values = {e.ai.ai: e.value for e in result.gs1_digital_link_uri.element_strings}
    assert values == {"01": "06901234567892", "21": SERIAL}


@pytest.mark.parametrize(
    "text",
    [
        f"https://v.zhenma.cn/01/06901234567892/21/{SERIAL}",
        f"https://v.zhenma.cn/01/06901234567892/21/{SERIAL}/",
        f"https://v.zhenma.cn/01/6901234567892/21/{SERIAL}?lng=zh",
        f"/01/06901234567892/21/{SERIAL}",
    ],
)
def test_parse_accepts_what_phones_hand_over(text):
    link = DigitalLink.parse(text)
    assert link.gtin.value == "06901234567892"
    assert link.serial == SERIAL
    assert link.path == f"/01/06901234567892/21/{SERIAL}"


def test_parse_keeps_base_and_query():
    link = DigitalLink.parse(f"https://h.example/zm/01/06901234567892/21/{SERIAL}?a=1")
    assert (link.base, link.query) == ("https://h.example/zm", "a=1")
    assert link.render() == f"https://h.example/zm/01/06901234567892/21/{SERIAL}"


X = "https://x/01/06901234567892"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("ftp://x/01/06901234567892/21/A", MalformedCode,
         "a Digital Link is an http(s) URL, not ftp:"),
        (X, MalformedCode, "a Digital Link path ends in /01/<GTIN>/21/<serial>"),
        ("https://x/01/06901234567893/21/A", TypoCode,
         "GTIN 06901234567893 has check digit 3, expected 2: check for a typo"),
        (X + "/21/" + "A" * 21, MalformedCode, "a serial (AI 21) has 1 to 20 GS1 characters"),
        (X + "/21/%E4%B8%AD", MalformedCode, "a serial (AI 21) has 1 to 20 GS1 characters"),
    ],
)  # fmt: skip
def test_bad_links_have_exact_messages(text, error, message):
    with pytest.raises(error) as info:
        DigitalLink.parse(text)
    assert str(info.value) == message
