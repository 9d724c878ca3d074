"""From scanned or typed text to a verdict, and the scan recorded: the service's one decision.

No Flask here: the page and the JSON API both call ``Checker.check`` and only
differ in how they show the ``Result``. The order of the questions is fixed:

1. Is it a code at all (format, check character)?          → ``malformed``
2. Was its batch ever issued?                               → ``unknown_batch``
3. Does its signature hold (and its GTIN match the batch)?  → ``counterfeit``
4. Was the batch revoked? Are its codes activated yet?      → ``revoked``, ``not_activated``
5. With a hidden code: not throttled, and right?            → ``Throttled``, ``counterfeit``
6. Counted: first check, checked before, or suspect.

Steps 1 to 5 need no outside service besides cached batch facts: the signature
check never depends on Redis, and never fails open.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from zhenma.codes import (
    BadSignature,
    Code,
    MalformedCode,
    TypoCode,
    UnknownBatch,
    authenticate,
    hidden,
)
from zhenma.codes import read as read_code

from .catalog import BatchInfo, Catalog, ProductInfo
from .scans import Recorder, ScanRecord

MALFORMED = "malformed"
COUNTERFEIT = "counterfeit"
UNKNOWN_BATCH = "unknown_batch"
REVOKED = "revoked"
NOT_ACTIVATED = "not_activated"


class Throttled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many wrong hidden codes; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Query:
    text: str
    hidden_code: str | None = None
    lat: float | None = None
    lng: float | None = None
    client: str = ""  # a stable, non-reversible id of the client (for the throttle)
    ip_prefix: str | None = None
    ip_hash: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Result:
    verdict: str
    serial: str | None = None
    gtin: str | None = None
    product: ProductInfo | None = None
    scan_count: int | None = None
    first_at: datetime | None = None
    first_place: str | None = None
    reason: str | None = None  # a machine word: typo, bad_signature, hidden_code_wrong, ...
    detail: str | None = None  # for a person: the code core's hint, HQ's revocation reason
    hidden_code_checked: bool = False
    degraded: str | None = None


class Checker:
    def __init__(self, catalog: Catalog, recorder: Recorder, throttle):
        self.catalog, self.recorder, self.throttle = catalog, recorder, throttle

    def check(self, q: Query) -> Result:
        now = datetime.now(UTC)
        found: list[BatchInfo] = []

        def lookup(batch_no: int):
            info = self.catalog.batch(batch_no)
            if info is None:
                return None
            found.append(info)
            return info.gtin, self.catalog.secrets(info)

        try:
            scanned = authenticate(q.text, lookup)
        except TypoCode as exc:
            return self._record(q, now, None, Result(MALFORMED, reason="typo", detail=str(exc)))
        except MalformedCode as exc:
            return self._record(
                q, now, None, Result(MALFORMED, reason="malformed", detail=str(exc))
            )
        except UnknownBatch as exc:
            code = read_code(q.text).code
            return self._record(q, now, code, Result(UNKNOWN_BATCH, code.render(), detail=str(exc)))
        except BadSignature as exc:
            code = read_code(q.text).code
            product = found[0].product if found else None
            result = Result(
                COUNTERFEIT,
                code.render(),
                product.gtin if product else None,
                product,
                reason="bad_signature",
                detail=str(exc),
            )
            return self._record(q, now, code, result)
        info, code = found[0], scanned.code
        # Parsing checked length, alphabet and check character: the text is the serial.
        serial = (scanned.link.serial if scanned.link else q.text).strip().upper()
        product = info.product
        if info.revoked:
            result = Result(REVOKED, serial, product.gtin, product, detail=info.revoke_reason)
            return self._record(q, now, code, result)
        if code.index > info.item_count or not info.is_active(code.index):
            return self._record(q, now, code, Result(NOT_ACTIVATED, serial, product.gtin, product))
        checked = False
        if q.hidden_code is not None:
            try:
                typed = hidden.normalize(q.hidden_code)
            except MalformedCode as exc:
                result = Result(MALFORMED, serial, product.gtin, product,
                                reason="hidden_code_malformed", detail=str(exc))  # fmt: skip
                return self._record(q, now, code, result)
            wait = self.throttle.locked(serial, q.client)
            if wait:
                raise Throttled(wait)
            secrets = self.catalog.secrets(info)
            if not hidden.matches(secrets.hidden, code.batch, code.index, typed):
                self.throttle.failed(serial, q.client)
                result = Result(COUNTERFEIT, serial, product.gtin, product,
                                reason="hidden_code_wrong", hidden_code_checked=True)  # fmt: skip
                return self._record(q, now, code, result)
            checked = True
        facts, degraded = self.recorder.record(_scan(q, now, code, serial), counted=True)
        return Result(
            facts.verdict,
            serial,
            product.gtin,
            product,
            scan_count=facts.count,
            first_at=facts.first_at,
            first_place=facts.first_place,
            reason=facts.suspect_reason,
            hidden_code_checked=checked,
            degraded=degraded,
        )

    def _record(self, q: Query, now: datetime, code: Code | None, result: Result) -> Result:
        rec = _scan(q, now, code, result.serial, result.verdict, result.reason)
        _, degraded = self.recorder.record(rec, counted=False)
        return replace(result, degraded=degraded) if degraded else result


def _scan(
    q: Query, now: datetime, code: Code | None, serial: str | None,
    verdict: str = "", reason: str | None = None,
) -> ScanRecord:  # fmt: skip
    return ScanRecord(
        serial=serial or q.text.strip()[:64],
        at=now,
        verdict=verdict,
        reason=reason,
        batch_id=code.batch if code else None,
        item_index=code.index if code else None,
        hidden_code_given=q.hidden_code is not None,
        ip_prefix=q.ip_prefix,
        ip_hash=q.ip_hash,
        user_agent=q.user_agent[:300] if q.user_agent else None,
        lat=q.lat,
        lng=q.lng,
    )
