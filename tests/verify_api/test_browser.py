"""The verification page in a real browser: Debian's headless chromium against a real server.

Skipped where chromium is not installed (``scripts/setup`` installs it).
"""

import shutil
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from tests.verify_api.support import make_app
from zhenma.db.models import Scan

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="needs chromium and chromium-driver"),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def server(settings, db):
    app = make_app(settings)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join()
    httpd.server_close()
    app.extensions["zhenma.verify"].close()


def browser(tmp_path, language: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / ('chrome-' + language)}",
                 f"--lang={language}"):  # fmt: skip
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def test_page_shows_the_verdict_in_chinese_then_checks_the_hidden_code_and_location(
    server, issued, tmp_path, db
):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    item = issued.items[0]
    driver = browser(tmp_path, "zh-CN")
    try:
        driver.get(f"{server}/01/06901234567892/21/{item.serial}")  # the QR's URL: redirected
        assert "/verify/01/" in driver.current_url
        assert driver.find_element(By.CLASS_NAME, "verdict").text == "正品"
        assert "第一次查询" in driver.find_element(By.ID, "verdict-text").text
        driver.find_element(By.ID, "hidden_code").send_keys(item.hidden_code)
        driver.find_element(By.ID, "submit").click()
        WebDriverWait(driver, 10).until(lambda d: "暗码正确" in d.page_source)
        assert "已查询 2 次" in driver.find_element(By.ID, "count").text
        # Share my location: the browser's geolocation, granted and set through CDP.
        driver.execute_cdp_cmd(
            "Browser.grantPermissions", {"origin": server, "permissions": ["geolocation"]}
        )
        driver.execute_cdp_cmd(
            "Emulation.setGeolocationOverride",
            {"latitude": 23.1291, "longitude": 113.2644, "accuracy": 50},
        )
        share = driver.find_element(By.ID, "share")
        assert share.is_displayed()
        share.click()
        WebDriverWait(driver, 10).until(lambda d: "已查询 3 次" in d.page_source)
    finally:
        driver.quit()
    with db.session() as s:
        located = s.scalars(select(Scan).where(Scan.lat.is_not(None))).one()
        assert (located.lat, located.lng) == (23.1291, 113.2644)


def test_page_speaks_english_to_an_english_browser(server, issued, tmp_path):
    from selenium.webdriver.common.by import By

    driver = browser(tmp_path, "en-US")
    try:
        driver.get(f"{server}/01/06901234567892/21/{issued.forged()}")
        assert driver.find_element(By.CLASS_NAME, "verdict").text == "Counterfeit"
        assert "not issued by the brand" in driver.find_element(By.ID, "verdict-text").text
    finally:
        driver.quit()
