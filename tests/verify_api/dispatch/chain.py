"""Helpers of the dispatch tests: the distributor chain and the calls devices and HQ make."""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from distribution import distributors
from tests.verify_api.support import Issued

CHAIN = [
    ("ZD", "华南总代理", "总代", None, ["CN"]),
    ("GD", "广东省代", "省代", "ZD", ["CN-440000"]),
    ("SC", "四川省代", "省代", "ZD", ["CN-510000"]),
    ("GZ", "广州市代", "市代", "GD", ["CN-440100"]),
]
# Scans of a morning long past (yesterday), minutes apart.
T0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)


@dataclass
class Chain:
    issued: Issued
    tokens: dict[str, str]  # "admin", "viewer", "HQ" (warehouse device), distributor codes
    carton_codes: list[str] = field(default_factory=list)  # carton_codes[0] is carton 1
    _ids: itertools.count = field(default_factory=itertools.count)

    def auth(self, who: str) -> dict:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def serial(self, index: int) -> str:
        return self.issued.items[index - 1].serial

    def carton(self, number: int) -> str:
        return self.carton_codes[number - 1]

    def scan(self, code: str, to: str, minutes: int = 0, scan_id: str | None = None) -> dict:
        """A scan as a device sends it, ``minutes`` after T0."""
        return self._scan(code, to, T0 + timedelta(minutes=minutes), scan_id)

    def now(self, code: str, to: str) -> dict:
        """A scan made now: after any packing done so far."""
        return self._scan(code, to, datetime.now(UTC), None)

    def _scan(self, code: str, to: str, at: datetime, scan_id: str | None) -> dict:
        return {
            "scan_id": scan_id or f"s-{next(self._ids)}",
            "code": code,
            "to": to,
            "scanned_at": at.astimezone().isoformat(),
        }


def make_chain(db, settings, issued: Issued) -> Chain:
    tokens = {}
    with db.session() as s:
        for code, name, level, parent, regions in CHAIN:
            d = distributors.add(s, settings.distributor_levels, code, name, level, parent, regions)
            tokens[code] = distributors.add_token(s, "device", f"{code} scanner", d).token
        tokens["HQ"] = distributors.add_token(s, "device", "warehouse scanner").token
        tokens["admin"] = distributors.add_token(s, "hq", "ops", role="admin").token
        tokens["viewer"] = distributors.add_token(s, "hq", "analyst", role="viewer").token
    cartons = issued.codes.cartons(1, issued.codes.spec.carton_count + 1)
    return Chain(issued, tokens, [c.code for c in cartons])


def dispatch(client, chain: Chain, who: str, *scans: dict):
    """POST scans as ``who``: one scan as an object, several as a list."""
    body = scans[0] if len(scans) == 1 else {"scans": list(scans)}
    return client.post("/api/v1/dispatch", json=body, headers=chain.auth(who))


def pack(client, chain: Chain, carton: str, items: list[str] | None, action: str = "pack"):
    body = {"carton": carton, "action": action}
    if items is not None:
        body["items"] = items
    return client.post("/api/v1/pack", json=body, headers=chain.auth("admin"))


def holder(client, chain: Chain, serial: str) -> str:
    response = client.get(f"/api/v1/items/{serial}/custody", headers=chain.auth("viewer"))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["holder"]["code"]
