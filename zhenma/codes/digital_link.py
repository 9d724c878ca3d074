"""The verification URL in the QR: a GS1 Digital Link URI ``{base}/01/{GTIN-14}/21/{serial}``.

``parse`` accepts what a phone hands over after scanning (a full URL, any host and
path prefix, an optional trailing slash and query string) or a bare path. It
checks the GS1 syntax of the path (primary key 01 with a valid GTIN, key
qualifier 21) but not the serial's signature: that is ``serial.Code``'s job.
The tests check every URL the generator writes against biip's parser.
"""

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ._exceptions import MalformedCode
from .gs1 import Gtin

# AI 21 allows the GS1 AI encodable character set 82: letters, digits and these.
_AI21 = re.compile(r"[!\"%&'()*+,\-./:;<=>?_A-Za-z0-9]{1,20}")
_PATH = re.compile(r"(?:^|/)01/(?P<gtin>[^/]+)/21/(?P<serial>[^/]+)/?$")


@dataclass(frozen=True)
class DigitalLink:
    gtin: Gtin
    serial: str
    base: str = ""
    query: str = ""

    @classmethod
    def parse(cls, text: str) -> "DigitalLink":
        if not isinstance(text, str):
            raise MalformedCode("a Digital Link must be text")
        text = text.strip()
        parts = urlsplit(text)
        if parts.scheme and parts.scheme not in ("http", "https"):
            raise MalformedCode(f"a Digital Link is an http(s) URL, not {parts.scheme}:")
        match = _PATH.search(parts.path)
        if not match:
            raise MalformedCode("a Digital Link path ends in /01/<GTIN>/21/<serial>")
        gtin = Gtin.parse(match["gtin"])
        serial = unquote(match["serial"])
        if not _AI21.fullmatch(serial):
            raise MalformedCode("a serial (AI 21) has 1 to 20 GS1 characters")
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme else ""
        base = origin + parts.path[: match.start()]
        return cls(gtin, serial, base, parts.query)

    def render(self) -> str:
        return f"{self.base}/01/{self.gtin.value}/21/{self.serial}"

    @property
    def path(self) -> str:
        return f"/01/{self.gtin.value}/21/{self.serial}"


def url_prefix(base: str, gtin: Gtin) -> str:
    """Everything of a batch's URLs before the serial, for the generator's hot loop."""
    return f"{base.rstrip('/')}/01/{gtin.value}/21/"
