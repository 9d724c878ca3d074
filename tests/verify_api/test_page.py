"""The verification page as HTML: languages, the hidden-code form, no outside resources."""

import re

import pytest

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("mode", ["database"], indirect=True),
]


def page_path(item) -> str:
    return "/verify" + item.url.removeprefix("https://v.zhenma.test")


def test_chinese_by_default_with_verdict_count_and_form(client, issued):
    response = client.get(page_path(issued.items[0]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "zh"
    assert '<p class="verdict">正品</p>' in html
    assert "这是本码的第一次查询" in html and "已查询 1 次" in html and "首次查询：" in html
    assert 'name="hidden_code"' in html and "分享我的位置" in html
    assert "真码测试白酒 500ml" in html


def test_english_when_the_browser_asks(client, issued):
    client.get(page_path(issued.items[0]))
    html = client.get(
        page_path(issued.items[0]), headers={"Accept-Language": "en-US,en;q=0.8"}
    ).get_data(as_text=True)
    assert '<p class="verdict">Genuine</p>' in html
    assert "Checked 2 times" in html and "Share my location" in html


def test_hidden_code_form_post_checks_it_with_location(client, issued, db):
    from sqlalchemy import select

    from zhenma.db.models import Scan

    item = issued.items[1]
    ok = client.post(
        page_path(item), data={"hidden_code": item.hidden_code, "lat": "30.5728", "lng": "104.0668"}
    )
    assert "暗码正确" in ok.get_data(as_text=True)
    bad = client.post(page_path(item), data={"hidden_code": "000000000000", "lat": "", "lng": ""})
    assert '<p class="verdict">假冒</p>' in bad.get_data(as_text=True)
    with db.session() as s:
        located = s.scalars(select(Scan).where(Scan.lat.is_not(None))).one()
        assert (located.lat, located.lng, located.hidden_code_given) == (30.5728, 104.0668, True)


def test_counterfeit_and_malformed_pages(client, issued):
    forged = issued.items[0].url.replace(issued.items[0].serial, issued.forged())
    html = client.get("/verify" + forged.removeprefix("https://v.zhenma.test")).get_data(
        as_text=True
    )
    assert '<p class="verdict">假冒</p>' in html and "hidden_code" not in html
    malformed = client.get("/verify/01/06901234567892/21/NOTACODE")
    assert malformed.status_code == 400


def test_page_loads_nothing_from_outside_and_allows_only_its_own_script(client, issued):
    response = client.get(page_path(issued.items[0]))
    html = response.get_data(as_text=True)
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    assert "@import" not in html and "url(" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp
    assert response.headers["Cache-Control"] == "no-store"


def test_throttled_hidden_code_still_shows_the_verdict_with_a_429(client, issued):
    item = issued.items[2]
    for _ in range(5):
        client.post(page_path(item), data={"hidden_code": "111111111111"})
    response = client.post(page_path(item), data={"hidden_code": item.hidden_code})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "暗码错误次数过多" in html and '<p class="verdict">正品</p>' in html
