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
    Gtin,
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
        rec = ScanRecord(
            serial=q.text.strip()[:64],
            at=now,
            hidden_code_given=q.hidden_code is not None,
            ip_prefix=q.ip_prefix,
            ip_hash=q.ip_hash,
            user_agent=q.user_agent[:300] if q.user_agent else None,
            lat=q.lat,
            lng=q.lng,
        )
        found: list[BatchInfo] = []

        def lookup(batch_no: int):
            info = self.catalog.batch(batch_no)
            if info is None:
                return None
            found.append(info)
            return Gtin(info.product.gtin), self.catalog.secrets(info)

        try:
            scanned = authenticate(q.text, lookup)
        except TypoCode as exc:
            return self._record(rec, Result(MALFORMED, reason="typo", detail=str(exc)))
        except MalformedCode as exc:
            return self._record(rec, Result(MALFORMED, reason="malformed", detail=str(exc)))
        except UnknownBatch as exc:
            code = read_code(q.text).code
            rec = replace(rec, serial=code.render(), batch_id=code.batch, item_index=code.index)
            return self._record(rec, Result(UNKNOWN_BATCH, serial=code.render(), detail=str(exc)))
        except BadSignature as exc:
            code = read_code(q.text).code
            info = found[0] if found else None
            rec = replace(rec, serial=code.render(), batch_id=code.batch, item_index=code.index)
            return self._record(
                rec,
                Result(
                    COUNTERFEIT,
                    serial=code.render(),
                    reason="bad_signature",
                    detail=str(exc),
                    product=info.product if info else None,
                    gtin=info.product.gtin if info else None,
                ),
            )
        info, code = found[0], scanned.code
        serial = code.render()
        rec = replace(rec, serial=serial, batch_id=code.batch, item_index=code.index)
        base = Result("", serial=serial, gtin=info.product.gtin, product=info.product)
        if info.revoked:
            return self._record(rec, replace(base, verdict=REVOKED, detail=info.revoke_reason))
        if code.index > info.item_count or not info.is_active(code.index):
            return self._record(rec, replace(base, verdict=NOT_ACTIVATED))
        if q.hidden_code is not None:
            try:
                typed = hidden.normalize(q.hidden_code)
            except MalformedCode as exc:
                return self._record(
                    rec,
                    replace(
                        base, verdict=MALFORMED, reason="hidden_code_malformed", detail=str(exc)
                    ),
                )
            wait = self.throttle.locked(serial, q.client)
            if wait:
                raise Throttled(wait)
            secrets = self.catalog.secrets(info)
            if not hidden.matches(secrets.hidden, code.batch, code.index, typed):
                self.throttle.failed(serial, q.client)
                return self._record(
                    rec,
                    replace(
                        base,
                        verdict=COUNTERFEIT,
                        reason="hidden_code_wrong",
                        hidden_code_checked=True,
                    ),
                )
            base = replace(base, hidden_code_checked=True)
        facts, degraded = self.recorder.record(rec, counted=True)
        return replace(
            base,
            verdict=facts.verdict,
            scan_count=facts.count,
            first_at=facts.first_at,
            first_place=facts.first_place,
            reason=facts.suspect_reason,
            degraded=degraded,
        )

    def _record(self, rec: ScanRecord, result: Result) -> Result:
        rec = replace(rec, verdict=result.verdict, reason=result.reason)
        _, degraded = self.recorder.record(rec, counted=False)
        return replace(result, degraded=degraded)
