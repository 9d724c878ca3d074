"""The GS1 Digital Link resolver: redirects, link types, linksets, CORS, 400 and 404."""

import pytest

from codegen import batches

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("mode", ["database"], indirect=True),
]

GTIN = "06901234567892"


def path(item) -> str:
    return f"/01/{GTIN}/21/{item.serial}"


def test_default_link_is_a_307_to_the_verification_page_with_query_and_link_header(client, issued):
    response = client.get(path(issued.items[0]) + "?utm_source=wechat&x=1")
    assert response.status_code == 307
    assert response.headers["Location"] == (
        f"http://localhost/verify/01/{GTIN}/21/{issued.items[0].serial}?utm_source=wechat&x=1"
    )
    assert response.headers["Link"] == (
        f"<http://localhost{path(issued.items[0])}?linkType=linkset>; "
        'rel="linkset"; type="application/linkset+json"'
    )


def test_trailing_slash_gtin13_and_lower_case_are_tolerated(client, issued):
    item = issued.items[0]
    for url in (path(item) + "/", f"/01/{GTIN[1:]}/21/{item.serial.lower()}"):
        response = client.get(url)
        assert response.status_code == 307
        assert response.headers["Location"].endswith(f"/verify/01/{GTIN}/21/{item.serial}")


def test_head_redirects_like_get_and_options_answers_cors(client, issued):
    assert client.head(path(issued.items[0])).status_code == 307
    options = client.options(path(issued.items[0]), headers={"Origin": "https://shop.example"})
    assert options.status_code == 200
    assert options.headers["Access-Control-Allow-Origin"] == "*"
    assert {"GET", "HEAD", "OPTIONS"} <= set(
        options.headers["Access-Control-Allow-Methods"].split(", ")
    )
    assert "Link" in client.get(path(issued.items[0])).headers["Access-Control-Expose-Headers"]


def test_link_type_pip_goes_to_the_product_page_only_when_there_is_one(client, issued, db):
    item = issued.items[0]
    none = client.get(path(item) + "?linkType=gs1:pip")
    assert "/verify/" in none.headers["Location"]  # no such link: the default link
    with db.session() as s:
        batches.get_product(s, GTIN).page_url = "https://brand.example/baijiu"
    client.application.extensions["zhenma.verify"].catalog._products._data.clear()
    for value in ("gs1:pip", "https://gs1.org/voc/pip"):
        response = client.get(path(item) + f"?linkType={value}&lang=en")
        assert response.status_code == 307
        assert response.headers["Location"] == "https://brand.example/baijiu?lang=en"
    verification = client.get(path(item) + "?linkType=gs1:verificationService")
    assert "/verify/" in verification.headers["Location"]


def test_linkset_by_parameter_or_accept_header_lists_every_link_with_a_title(client, issued, db):
    with db.session() as s:
        batches.get_product(s, GTIN).page_url = "https://brand.example/baijiu"
    item = issued.items[0]
    by_param = client.get(path(item) + "?linkType=linkset")
    by_accept = client.get(path(item), headers={"Accept": "application/linkset+json"})
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response.content_type == "application/linkset+json"
        (entry,) = response.get_json()["linkset"]
        assert entry["anchor"] == f"https://v.zhenma.test{path(item)}"
        for rel in ("verificationService", "defaultLink", "pip"):
            (link,) = entry[f"https://gs1.org/voc/{rel}"]
            assert link["href"].startswith(("http://", "https://"))
            assert link["title"]
        assert "Link" in response.headers


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"/01/06901234567890/21/{'3' * 20}", "typo"),  # GTIN check digit
        (f"/01/{GTIN}/21/ABC", "bad_uri"),  # not a Zhenma serial
        (f"/01/{GTIN}/21/{'0' * 20}", "bad_uri"),  # 0 is not in the alphabet
        ("/01/abc/21/x", "bad_uri"),
    ],
)
def test_uri_syntax_errors_are_400_never_200(client, url, code):
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_unknown_gtin_is_404_and_browsers_get_an_html_page(client, issued):
    serial = issued.items[0].serial
    response = client.get(f"/01/06901234567885/21/{serial}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_gtin"
    page = client.get(f"/01/06901234567885/21/{serial}", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.content_type.startswith("text/html")


def test_well_known_describes_the_resolver(client):
    body = client.get("/.well-known/gs1resolver").get_json()
    assert body["resolverRoot"] == "https://v.zhenma.test"
    assert body["supportedPrimaryKeys"] == ["gtin"]
    assert {"namespace": "https://gs1.org/voc/", "prefix": "gs1:"} in body["supportedLinkType"]
