"""A GS1-conformant Digital Link resolver for the URL in the QR: ``/01/{GTIN}/21/{serial}``.

GET and HEAD redirect (307) to the default link, the verification page (link type
``gs1:verificationService``); ``linkType=gs1:pip`` picks the product page when the
product has one, and a link type the item does not have falls back to the default
link, as the standard asks. ``linkType=linkset`` (or ``all``) or ``Accept:
application/linkset+json`` answers the RFC 9264 linkset instead. Query parameters
pass through redirects; every answer carries a Link header to the linkset. URI
syntax errors are 400, an unknown GTIN 404: never an error with 200.
Redirecting costs no scan: only the page and the API count.
"""

from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request, url_for

from zhenma.codes import Code, DigitalLink, Kind, MalformedCode, TypoCode

from . import messages
from .errors import ApiError, language
from .extension import verify_service

bp = Blueprint("resolver", __name__)

VOC = "https://gs1.org/voc/"
LINKSET = "application/linkset+json"
_ALIASES = {"linkset": "linkset", "all": "linkset"}
_TITLES = {
    "verificationService": {"zh": "真码防伪验证", "en": "Zhenma authenticity check"},
}


def _link_type(raw: str | None) -> str | None:
    """``gs1:pip``, ``https://gs1.org/voc/pip`` and ``http://gs1.org/voc/pip`` → ``pip``."""
    if raw is None:
        return None
    raw = raw.strip()
    if raw in _ALIASES:
        return _ALIASES[raw]
    for prefix in ("gs1:", VOC, "http://gs1.org/voc/"):
        if raw.startswith(prefix):
            return raw[len(prefix) :]
    return raw


def _parse(gtin: str, serial: str) -> DigitalLink:
    try:
        link = DigitalLink.parse(f"/01/{gtin}/21/{serial}")
        code = Code.parse(link.serial, expect=Kind.ITEM)
    except TypoCode as exc:
        raise ApiError(400, "typo", str(exc)) from None
    except MalformedCode as exc:
        raise ApiError(400, "bad_uri", str(exc)) from None
    return DigitalLink(link.gtin, code.render())


def _links(link: DigitalLink, product, lang: str) -> dict[str, dict]:
    page = url_for("page.verify_page", gtin=link.gtin.value, serial=link.serial, _external=True)
    verification = {
        "href": page,
        "title": _TITLES["verificationService"][lang],
        "type": "text/html",
        "hreflang": list(messages.LANGUAGES),
    }
    links = {"verificationService": verification, "defaultLink": verification}
    if product.page_url:
        links["pip"] = {"href": product.page_url, "title": product.name, "type": "text/html"}
    return links


def _passthrough(target: str) -> str:
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "linkType"]
    if not query:
        return target
    return target + ("&" if "?" in target else "?") + urlencode(query)


def _linkset_header(link: DigitalLink) -> str:
    here = url_for("resolver.resolve", gtin=link.gtin.value, serial=link.serial, _external=True)
    return f'<{here}?linkType=linkset>; rel="linkset"; type="{LINKSET}"'


def _wants_linkset() -> bool:
    return any(m == LINKSET and q > 0 for m, q in request.accept_mimetypes)


@bp.route("/01/<gtin>/21/<serial>", methods=["GET", "HEAD"])
@bp.route("/01/<gtin>/21/<serial>/", methods=["GET", "HEAD"], endpoint="resolve_slash")
def resolve(gtin: str, serial: str):
    link = _parse(gtin, serial)
    product = verify_service.parts.catalog.product(link.gtin.value)
    if product is None:
        raise ApiError(404, "unknown_gtin", f"no product with GTIN {link.gtin.value} here")
    lang = language()
    links = _links(link, product, lang)
    wanted = _link_type(request.args.get("linkType"))
    if wanted == "linkset" or (wanted is None and _wants_linkset()):
        anchor = verify_service.parts.settings.verify_base + link.path
        body = {"linkset": [{"anchor": anchor, **{VOC + k: [v] for k, v in links.items()}}]}
        response = jsonify(body)
        response.content_type = LINKSET
    else:
        target = links.get(wanted or "defaultLink", links["defaultLink"])
        response = redirect(_passthrough(target["href"]), 307)
    response.headers["Link"] = _linkset_header(link)
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


@bp.get("/.well-known/gs1resolver")
def description():
    settings = verify_service.parts.settings
    return jsonify(
        name="Zhenma verification resolver",
        resolverRoot=settings.verify_base,
        supportedPrimaryKeys=["gtin"],
        supportedLinkType=[{"namespace": VOC, "prefix": "gs1:"}],
        linkTypeDefaultCanBeLinkset=False,
        supportedContextValuesEnumerated=[],
        supportedLinkTypes=["gs1:verificationService", "gs1:pip", "gs1:defaultLink"],
    )
