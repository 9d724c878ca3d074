"""Failed HQ logins are throttled per user name and per client, in Redis or in the process."""

import pytest

from tests.verify_api.alerts.test_hq_access import PASSWORD, users

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def attempt(client, username, password, ip="10.1.2.3"):
    return client.post(
        "/hq/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_a_user_name_locks_after_five_wrong_passwords(app, db, chain, mode):
    users(db)
    client = app.test_client()
    for _ in range(5):
        assert attempt(client, "zhao.min", "not the password").status_code == 401
    locked = attempt(client, "Zhao.Min", PASSWORD)  # the right password, too late
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    assert "登录失败次数过多" in locked.get_data(as_text=True)
    # another user, from another client, is not affected
    assert attempt(client, "wang.li", PASSWORD, ip="10.9.9.9").status_code == 302


def test_a_client_locks_after_twenty_failures_whatever_the_names(app, db, chain, mode):
    users(db)
    client = app.test_client()
    for n in range(20):
        assert attempt(client, f"guess{n}", "not the password").status_code == 401
    assert attempt(client, "wang.li", PASSWORD).status_code == 429
    assert attempt(client, "wang.li", PASSWORD, ip="10.9.9.9").status_code == 302
