"""The worker's analyst: places each new scan, applies the rules, stores alerts.

Scans are taken in id order from the partial index of scans not yet placed
(``place_source`` empty), a batch per transaction; placing a scan and every alert
it raises or joins commit together, so each scan is judged exactly once. Several
workers may run: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` keeps them on different
scans, and alerts are upserted on their key (ON CONFLICT DO UPDATE), so two scans
of one item judged at once still make one alert, counting both.

The place of a code's first check goes to ``code_states.first_place`` (a region
code; the page names it), and to the code's Redis hash (``fp``).

A clone alert also marks the code suspect for the verification service: in
``code_states.suspect_reason`` (the database path and Redis's reseeding read it)
and in the code's Redis hash (``scan.lua`` reads field ``s``). Redis is told after
the commit; if it is down then, the next scan of the code tells it again.
"""

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from distribution import custody, outbox
from distribution.distributors import territory
from distribution.times import now, utc
from zhenma.config import Settings
from zhenma.db import Database
from zhenma.db.models import Alert, AlertScan, Batch, CodeState, Dispatch, Distributor, Scan
from zhenma.places import Place, Resolver, cities

from . import queries, rules

log = logging.getLogger("zhenma.alerts")

COUNTED = ("genuine_first_check", "genuine_checked_before", "suspect")
WEBHOOK_KIND = outbox.HQ_KINDS[0]  # the outbox kind of events for HQ's webhook


def area_of(region: str | None) -> str | None:
    """The province (``CN-440000``) or the country (``HK``) of a region."""
    if not region:
        return None
    return region if len(region) == 2 else f"CN-{region[3:5]}0000"


def point_of(scan: Scan) -> rules.Point | None:
    """Where a scan was, as a point: the phone's coordinates, or its city's seat."""
    at = utc(scan.scanned_at)
    if scan.lat is not None and scan.lng is not None:
        return rules.Point(scan.lat, scan.lng, at)
    if scan.place_precision == "city" and scan.place_region:
        city = cities.by_code().get(scan.place_region)
        if city:
            return rules.Point(city.lat, city.lng, at)
    return None


class Analyst:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        resolver: Resolver,
        flag: Callable[[list[str], list[tuple[str, str]]], None] | None = None,
    ):
        self.settings, self.db, self.resolver, self.flag = settings, db, resolver, flag
        self._postgres = db.engine.dialect.name == "postgresql"
        self._raised: list[tuple[dict, dict]] = []  # a step's (alert, alert_scans row)

    def step(self) -> int:
        """Place and judge one batch of scans; how many."""
        flagged: list[str] = []
        firsts: list[tuple[str, str]] = []
        with self.db.session() as s:
            query = (
                select(Scan)
                .where(Scan.place_source.is_(None))
                .order_by(Scan.id)
                .limit(self.settings.analyst_batch)
            )
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            scans = list(s.scalars(query))
            placed = []
            for scan in scans:
                place = self.resolver.locate(scan.lat, scan.lng, scan.ip_prefix)
                scan.place_source = place.source
                scan.place_precision = place.precision
                scan.place_region = place.region
                scan.place_name = place.name("zh")[:120] if place.known else None
                placed.append((scan, place))
            s.flush()  # one round of UPDATEs; the rules below only look at earlier scans
            judged = [
                (scan, place)
                for scan, place in placed
                if scan.counted and scan.batch_id is not None and scan.verdict in COUNTED
            ]
            keys = [f"clone:{scan.serial}" for scan, _ in judged]
            clones = set(s.scalars(select(Alert.dedupe_key).where(Alert.dedupe_key.in_(keys))))
            facts = self._facts(s, [scan for scan, _ in judged])
            self._raised = []
            for scan, place in judged:
                flagged += self.judge(s, scan, place, clones, facts)
                if (
                    place.known
                    and scan.verdict == "genuine_first_check"
                    and self._first_place(s, scan, place)
                ):
                    firsts.append((scan.serial, place.region))
            self._store_alerts(s)
        if (flagged or firsts) and self.flag is not None:
            try:
                self.flag(flagged, firsts)
            except Exception as exc:  # fail open: the database holds both facts
                log.warning("could not tell Redis about %d codes: %s", len(flagged), exc)
        return len(scans)

    def _first_place(self, s: Session, scan: Scan, place: Place) -> bool:
        """The place of a code's first check, which the verification page shows."""
        done = s.execute(
            update(CodeState)
            .where(
                CodeState.serial == scan.serial,
                CodeState.first_place.is_(None),
                CodeState.first_scan_at == scan.scanned_at,
            )
            .values(first_place=place.region)
        ).rowcount
        return bool(done)

    # -- the rules --------------------------------------------------------------------

    def _facts(self, s: Session, scans: list[Scan]) -> "StepFacts":
        """What judging a step's scans needs, fetched for all of them at once: their
        batches, their holders, and each code's stored count (an upper bound of its
        counted scans so far: ``code_states`` counts every stored scan)."""
        batches = {b.id: b for b in s.scalars(select(Batch).where(
            Batch.id.in_({scan.batch_id for scan in scans})))}  # fmt: skip
        known = [scan for scan in scans if scan.batch_id in batches]
        holders = custody.item_holders(
            s, [(batches[x.batch_id], x.item_index, utc(x.scanned_at)) for x in known]
        )
        counts = dict(
            s.execute(
                select(CodeState.serial, CodeState.scan_count).where(
                    CodeState.serial.in_({scan.serial for scan in known})
                )
            ).all()
        )
        # The holders' distributors, held here: the session's identity map keeps
        # objects only while something refers to them, so ``s.get`` per scan went to
        # the database again for each (16 % of the worker's CPU by py-spy).
        receivers = {h.receiver_id for h in holders if h is not None}
        held = {d.id: d for d in s.scalars(select(Distributor).where(
            Distributor.id.in_(receivers)))} if receivers else {}  # fmt: skip
        return StepFacts(
            batches, {x.id: h for x, h in zip(known, holders, strict=True)}, counts, {}, held
        )

    def judge(
        self,
        s: Session,
        scan: Scan,
        place: Place,
        clones: set[str],
        facts: "StepFacts | None" = None,
    ) -> list[str]:
        """Apply the rules to one counted scan; ``clones``: the clone alert keys there are;
        ``facts``: what ``_facts`` fetched for the step (None: fetch for this scan alone)."""
        facts = facts or self._facts(s, [scan])
        batch = facts.batches.get(scan.batch_id)
        if batch is None:
            return []
        flagged = []
        if self._clone(s, scan, batch, place, clones, facts.counts.get(scan.serial)):
            flagged.append(scan.serial)
        holder = facts.holders[scan.id]
        if holder is None:
            self._raise(rules.UNSOLD, f"unsold:{batch.id}:{scan.item_index}", "never_dispatched",
                        scan, batch, place, None)  # fmt: skip
            return flagged
        d = facts.distributors[holder.receiver_id]
        regions = facts.territories.get(d.id)
        if regions is None:
            regions = facts.territories[d.id] = territory(d)
        if rules.outside(regions, place.region):
            self._raise(rules.DIVERSION, f"diversion:{batch.id}:{scan.item_index}:{d.id}",
                        "outside_territory", scan, batch, place, d, regions)  # fmt: skip
        return flagged

    def _clone(
        self, s: Session, scan: Scan, batch: Batch, place: Place, clones: set[str],
        stored: int | None = None,
    ) -> bool:  # fmt: skip
        key = f"clone:{scan.serial}"
        if key in clones:
            self._raise(rules.CLONE, key, "", scan, batch, place, None)
            return False
        if (
            stored is not None
            and stored <= self.settings.clone_max_scans
            and point_of(scan) is None
            and scan.verdict != "suspect"
        ):
            # No rule can fire, so skip the count: not the count rule (the code has at
            # most ``stored`` scans), not speed (no place to travel from), not the
            # verdict's, and not cities: a scan not placed in a city adds none, and the
            # scan that pushed the count of cities over was judged (and raised) itself.
            return False
        earlier = (Scan.serial == scan.serial, Scan.counted.is_(True), Scan.id <= scan.id)
        city = case((Scan.place_precision == "city", Scan.place_region))
        count, city_count = s.execute(
            select(func.count(), func.count(func.distinct(city))).where(*earlier)
        ).one()
        speed = None
        here = point_of(scan)
        if here is not None:
            previous = s.scalars(
                select(Scan)
                .where(*earlier, Scan.id != scan.id, Scan.place_source.is_not(None))
                .where((Scan.lat.is_not(None)) | (Scan.place_precision == "city"))
                .order_by(Scan.scanned_at.desc(), Scan.id.desc())
                .limit(1)
            ).first()
            there = point_of(previous) if previous is not None else None
            if there is not None:
                speed = rules.too_fast(there, here, self.settings)
        reason = rules.clone_reason(
            self.settings, scan.reason if scan.verdict == "suspect" else None,
            count, city_count, speed,
        )  # fmt: skip
        if reason is None:
            return False
        detail = {"scans": count, "cities": city_count}
        if speed is not None:
            detail["speed_kmh"] = round(speed) if speed != float("inf") else "instant"
        self._raise(rules.CLONE, key, reason, scan, batch, place, None, detail=detail)
        clones.add(key)
        s.execute(
            update(CodeState)
            .where(CodeState.serial == scan.serial, CodeState.suspect_reason.is_(None))
            .values(suspect_reason="clone")
        )
        return True

    def _raise(
        self,
        kind: str,
        key: str,
        reason: str,
        scan: Scan,
        batch: Batch,
        place: Place,
        holder: Distributor | None,
        regions: list[str] | None = None,
        detail: dict | None = None,
    ) -> None:
        """Make the alert (once per key), or count the scan into the one there is: at
        the end of the step (``_store_alerts``), with every other scan it alerted on."""
        at = utc(scan.scanned_at)
        self._raised.append(
            (
                {
                    "kind": kind,
                    "state": "open",
                    "dedupe_key": key,
                    "reason": reason or kind,
                    "serial": scan.serial,
                    "batch_id": batch.id,
                    "item_index": scan.item_index,
                    "product_id": batch.product_id,
                    "distributor_id": holder.id if holder else None,
                    "parent_distributor_id": holder.parent_id if holder else None,
                    "territory": ",".join(regions) if regions else None,
                    "region": place.region,
                    "area": area_of(place.region),
                    "place_source": place.source,
                    "place_precision": place.precision,
                    "detail": json.dumps(detail, ensure_ascii=False) if detail else None,
                    "scan_count": 1,
                    "first_scan_id": scan.id,
                    "first_seen_at": at,
                    "last_seen_at": at,
                    "created_at": now(),
                },
                {"scan_id": scan.id, "area": area_of(place.region), "region": place.region,
                 "scanned_at": at},
            )
        )  # fmt: skip

    def _store_alerts(self, s: Session) -> None:
        """The step's alerts in one upsert, their ``alert_scans`` rows in one insert.

        Raised scans are grouped by alert key first (one statement may not update a row
        twice): a key's new alert takes the group's first scan, an existing one adds
        the group's count and keeps the latest time. The upsert returns each alert's id
        and count; a count equal to the group's means the alert was made now. Per scan
        through the ORM this was four round trips (insert, select for update, the row,
        the count): 25 % of the worker's CPU by py-spy, then one upsert a scan: 16 %.
        """
        groups: dict[str, dict] = {}
        for alert, _ in self._raised:
            group = groups.get(alert["dedupe_key"])
            if group is None:
                groups[alert["dedupe_key"]] = dict(alert)
            else:
                group["scan_count"] += 1
                group["last_seen_at"] = max(group["last_seen_at"], alert["last_seen_at"])
        if not groups:
            return
        insert = (postgresql if self._postgres else sqlite).insert(Alert)
        new = insert.excluded
        # In key order: analysts on other workers take the rows' locks in the same
        # order, so two steps upserting the same alerts wait, never deadlock.
        rows = [groups[key] for key in sorted(groups)]
        stored = s.execute(
            insert.values(rows)
            .on_conflict_do_update(
                index_elements=["dedupe_key"],
                set_={
                    "scan_count": Alert.scan_count + new.scan_count,
                    "last_seen_at": case(
                        (new.last_seen_at > Alert.last_seen_at, new.last_seen_at),
                        else_=Alert.last_seen_at,
                    ),
                },
            )
            .returning(Alert.id, Alert.dedupe_key, Alert.scan_count)
        ).all()
        ids = {key: alert_id for alert_id, key, _ in stored}
        s.execute(
            sa_insert(AlertScan),
            [{"alert_id": ids[alert["dedupe_key"]], **row} for alert, row in self._raised],
        )
        for alert_id, key, count in stored:
            if count != groups[key]["scan_count"]:
                continue  # there was one: this step only added to it
            group = groups[key]
            log.info("alert %s: %s %s (%s)", alert_id, group["kind"], group["serial"],
                     group["reason"])  # fmt: skip
            if self.settings.hq_webhook_url:
                levels = self.settings.distributor_levels
                payload = {"alert": queries.describe(s, s.get(Alert, alert_id), levels)}
                outbox.add(s, WEBHOOK_KIND, payload, {f"a:{alert_id}"})

    # -- the loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.step()
            except Exception:
                # The database is away or refused the batch: nothing was committed, so
                # the same scans come back next time.
                log.exception("judging scans failed; retrying")
                stop.wait(self.settings.analyst_poll)
                continue
            if busy < self.settings.analyst_batch:
                stop.wait(self.settings.analyst_poll)


_FLAG = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == 'clone' then
  if not redis.call('HGET', KEYS[1], 's') then redis.call('HSET', KEYS[1], 's', 'clone') end
else
  redis.call('HSETNX', KEYS[1], 'fp', ARGV[1])
end
return 1
"""


@dataclass
class StepFacts:
    batches: dict[int, Batch]
    holders: dict[int, Dispatch | None]  # by scan id: the dispatch that gave the item away
    counts: dict[str, int]  # by serial: code_states.scan_count
    territories: dict[int, list[str]]  # by distributor id, filled as met
    distributors: dict[int, Distributor]  # the holders' receivers, by id


def redis_flagger(client, keys) -> Callable[[list[str], list[tuple[str, str]]], None]:
    """Tell Redis, where the hot path reads them, which codes are clones (field ``s``)
    and where codes were first checked (``fp``); only codes Redis knows."""
    from verify_api.redis_link import queue_script

    script = client.register_script(_FLAG)

    def flag(serials: list[str], firsts: list[tuple[str, str]] = ()) -> None:
        pipe = client.pipeline(transaction=False)
        for serial in serials:
            queue_script(pipe, script, [keys.code(serial)], ["clone"])
        for serial, region in firsts:
            queue_script(pipe, script, [keys.code(serial)], [region])
        pipe.execute()

    return flag
