"""Scans from real places judged by the worker's analyst: diversion, clone, unsold goods.

Real PostgreSQL, and the service once with Redis (the writer stores the stream,
then the analyst runs) and once on the database alone.
"""

import pytest
from sqlalchemy import select

from alerts import rules
from tests.verify_api.alerts.helpers import BEIJING, CHENGDU, SHENZHEN, URUMQI, judge, scan
from tests.verify_api.dispatch.chain import dispatch
from zhenma.db.models import Alert, AlertScan, CodeState, Scan

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def alerts(db) -> list[Alert]:
    with db.session() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def ship(client, chain, *legs):
    for minute, (sender, code, to) in enumerate(legs):
        response = dispatch(client, chain, sender, chain.scan(code, to, minute))
        assert response.status_code == 201, response.get_json()


def test_goods_scanned_outside_their_holders_territory_raise_one_diversion_alert(
    client, chain, db, analyst, alert_settings, mode
):
    carton = chain.carton(1)  # items 1 to 10
    ship(client, chain, ("HQ", carton, "ZD"), ("ZD", carton, "GD"))
    scan(client, chain.serial(1), SHENZHEN)  # GD holds it, Shenzhen is in Guangdong: fine
    scan(client, chain.serial(2), CHENGDU)  # Chengdu is Sichuan: diverted
    scan(client, chain.serial(5), ip="198.18.1.7")  # IP: Guangdong, no city; inside
    scan(client, chain.serial(6))  # no place at all
    assert judge(alert_settings, db, analyst, mode) == 4
    scan(client, chain.serial(2), ip="198.51.100.9")  # later, by IP: Chengdu again
    judge(alert_settings, db, analyst, mode)

    [alert] = alerts(db)
    assert (alert.kind, alert.reason, alert.serial) == ("diversion", "outside_territory",
                                                        chain.serial(2))  # fmt: skip
    assert (alert.region, alert.area, alert.place_source, alert.place_precision) == (
        "CN-510100", "CN-510000", "gps", "city",
    )  # fmt: skip
    assert alert.territory == "CN-440000" and alert.scan_count == 2
    with db.session() as s:
        placed = {r.serial: r for r in s.scalars(select(Scan))}
        assert s.scalars(select(AlertScan.region)).all() == ["CN-510100", "CN-510100"]
    assert (placed[chain.serial(1)].place_region, placed[chain.serial(1)].place_name) == (
        "CN-440300", "广东省 深圳市",
    )  # fmt: skip
    assert placed[chain.serial(5)].place_precision == "province"
    # The first check's place reaches the consumer: the API as a code, the page as a name.
    assert scan(client, chain.serial(1))["first_scan"]["place"] == "CN-440300"
    page = client.get(f"/verify/01/06901234567892/21/{chain.serial(1)}")
    assert "地点：广东省 深圳市" in page.get_data(as_text=True)
    assert placed[chain.serial(6)].place_source == "none"


def test_a_coarse_place_never_raises_but_a_clear_one_does_for_a_city_distributor(
    client, chain, db, analyst, alert_settings, mode
):
    ship(client, chain, ("HQ", chain.serial(3), "ZD"), ("ZD", chain.serial(3), "GD"),
         ("GD", chain.serial(3), "GZ"))  # fmt: skip
    scan(client, chain.serial(3), ip="198.18.1.7")  # Guangdong: GZ's or not? can't tell
    judge(alert_settings, db, analyst, mode)
    assert alerts(db) == []
    scan(client, chain.serial(3), ip="203.0.113.10")  # Guangzhou: inside
    judge(alert_settings, db, analyst, mode)
    assert alerts(db) == []
    scan(client, chain.serial(3), SHENZHEN)  # Shenzhen is not Guangzhou
    judge(alert_settings, db, analyst, mode)
    # (and 105 km from Guangzhou within seconds: a clone alert as well)
    assert sorted(a.kind for a in alerts(db)) == ["clone", "diversion"]
    [alert] = [a for a in alerts(db) if a.kind == "diversion"]
    with db.session() as s:
        from zhenma.db.models import Distributor

        holder = s.get(Distributor, alert.distributor_id)
        above = s.get(Distributor, alert.parent_distributor_id)
    assert (holder.code, above.code, alert.territory) == ("GZ", "GD", "CN-440100")


def test_a_scan_of_goods_never_dispatched_is_unsold_stock(
    client, chain, db, analyst, alert_settings, mode
):
    scan(client, chain.serial(11))  # HQ still holds it, wherever it is
    scan(client, chain.serial(11), BEIJING)
    judge(alert_settings, db, analyst, mode)  # both in one step: one alert, counting two
    [alert] = alerts(db)
    assert (alert.kind, alert.reason, alert.distributor_id, alert.scan_count) == (
        "unsold", "never_dispatched", None, 2,
    )  # fmt: skip
    scan(client, chain.serial(11))
    judge(alert_settings, db, analyst, mode)  # a later step adds to the alert there is
    [again] = alerts(db)
    with db.session() as s:
        scans = list(
            s.scalars(select(Scan).where(Scan.serial == chain.serial(11)).order_by(Scan.id))
        )
        attached = sorted(
            s.scalars(select(AlertScan.scan_id).where(AlertScan.alert_id == again.id))
        )
    assert (again.id, again.scan_count, again.first_scan_id) == (alert.id, 3, scans[0].id)
    assert attached == [x.id for x in scans]
    assert again.last_seen_at == max(x.scanned_at for x in scans)


def test_a_code_seen_in_far_apart_cities_is_a_clone_and_suspect_from_then_on(
    client, chain, db, analyst, alert_settings, mode
):
    ship(client, chain, ("HQ", chain.serial(4), "ZD"))  # ZD's territory is all of CN
    # By IP address only: the hot path cannot see these places, the analyst can.
    assert scan(client, chain.serial(4), ip="203.0.113.10")["verdict"] == "genuine_first_check"
    assert scan(client, chain.serial(4), ip="198.51.100.9")["verdict"] == "genuine_checked_before"
    judge(alert_settings, db, analyst, mode)
    [alert] = alerts(db)
    assert (alert.kind, alert.reason) == ("clone", "too_fast")
    answer = scan(client, chain.serial(4), URUMQI)
    assert (answer["verdict"], answer["reason"]) == ("suspect", "clone")
    judge(alert_settings, db, analyst, mode)
    [alert] = alerts(db)
    assert alert.scan_count == 2  # the scan that raised it, and the later one
    with db.session() as s:
        assert s.get(CodeState, chain.serial(4)).suspect_reason == "clone"
    page = client.get(f"/verify/01/06901234567892/21/{chain.serial(4)}?lang=en")
    assert "may have been copied onto fakes" in page.get_data(as_text=True)


def test_clone_rules_count_cities_and_scans(settings):
    s = settings.with_(clone_max_cities=3, clone_max_scans=20)
    assert rules.clone_reason(s, None, 5, 3, None) is None
    assert rules.clone_reason(s, None, 5, 4, None) == "too_many_cities"
    assert rules.clone_reason(s, None, 21, 1, None) == "too_often"
    assert rules.clone_reason(s, "far_apart", 2, 1, None) == "far_apart"
    assert rules.outside(["CN-440000"], "CN-510100")
    assert not rules.outside(["CN-440100"], "CN-440000")  # too coarse to decide
    assert not rules.outside(["CN-440000"], "CN")
    assert rules.outside(["CN"], "HK")
    assert not rules.outside(["CN"], None)
