"""The dashboard in a real browser (Debian's headless chromium): a consumer's scan in
Chengdu, of goods shipped to the Guangdong distributor, becomes an alert that an HQ
admin logs in to see and acknowledges.

Reuses the verification page's browser test helpers (``tests/verify_api/test_browser.py``).
"""

import pytest
from sqlalchemy import select

from tests.verify_api.alerts.helpers import CHENGDU, judge
from tests.verify_api.alerts.test_alert_rules import ship
from tests.verify_api.test_browser import CHROMIUM, DRIVER, browser, server  # noqa: F401
from verify_api import hq_users
from zhenma.db.models import Alert

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("mode", ["database"], indirect=True),
]


def test_an_admin_logs_in_sees_the_alert_of_a_real_scan_and_acknowledges_it(
    server,  # noqa: F811  (the page test's live server fixture)
    client,
    chain,
    db,
    analyst,
    alert_settings,
    mode,
    tmp_path,
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    carton = chain.carton(1)
    ship(client, chain, ("HQ", carton, "ZD"), ("ZD", carton, "GD"))
    serial = chain.serial(2)
    with db.session() as s:
        hq_users.add(s, "zhao.min", "a long enough password", "admin", "赵敏")
    driver = browser(tmp_path, "zh-CN")
    try:
        # The consumer: the QR's page, the hidden code, then "share my location" from Chengdu.
        driver.get(f"{server}/01/06901234567892/21/{serial}")
        driver.find_element(By.ID, "hidden_code").send_keys(chain.issued.items[1].hidden_code)
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 10).until(lambda d: "暗码正确" in d.page_source)
        driver.execute_cdp_cmd(
            "Browser.grantPermissions", {"origin": server, "permissions": ["geolocation"]}
        )
        driver.execute_cdp_cmd(
            "Emulation.setGeolocationOverride",
            {"latitude": CHENGDU[0], "longitude": CHENGDU[1], "accuracy": 30},
        )
        driver.find_element(By.ID, "share").click()
        WebDriverWait(driver, 10).until(lambda d: "已查询 3 次" in d.page_source)
        judge(alert_settings, db, analyst, mode)  # the worker's turn

        # HQ: the dashboard asks for a login first.
        driver.get(f"{server}/hq/")
        assert "/hq/login" in driver.current_url
        driver.find_element(By.ID, "username").send_keys("zhao.min")
        driver.find_element(By.ID, "password").send_keys("a long enough password")
        driver.find_element(By.ID, "login").click()
        with db.session() as s:  # the worker raised it; what follows is the page's job
            assert s.scalars(select(Alert)).one().kind == "diversion"
        # The address changes when the navigation commits, before the new page is parsed:
        # wait for the row itself (a loaded machine showed the gap).
        row = WebDriverWait(driver, 10).until(
            lambda d: (
                d.current_url.endswith("/hq/") and d.find_elements(By.CSS_SELECTOR, "tr.alert-row")
            )
        )[0]
        assert serial in row.text and "串货" in row.text and "四川省 成都市" in row.text
        assert "GD 广东省代" in row.text and "广东省" in row.text
        assert row.find_element(By.CLASS_NAME, "state").text == "待处理"
        bar = driver.find_element(By.CSS_SELECTOR, "#chart g.bar")
        assert bar.get_attribute("data-area") == "CN-510000"
        row.find_element(By.CLASS_NAME, "note-acknowledge").send_keys("已联系广东省代")
        row.find_element(By.CSS_SELECTOR, "button.acknowledge").click()
        WebDriverWait(driver, 10).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "tr.alert-row .state").text == "已确认"
        )
        assert "已联系广东省代" in driver.find_element(By.CSS_SELECTOR, "tr.alert-row").text
    finally:
        driver.quit()
    with db.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.state, alert.acknowledged_by) == ("acknowledged", "user zhao.min")
