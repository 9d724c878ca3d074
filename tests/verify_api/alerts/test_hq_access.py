"""HQ users: the CLI, logins that expire, and every route of the app walked for who may call it.

Each route is classified below as public, for HQ viewers, or for HQ admins; a new
route that is not classified fails the walk, so none is left open by omission.
"""

from datetime import timedelta

import pytest
from sqlalchemy import update

from distribution.times import now
from verify_api import hq_users
from verify_api.hq_session import COOKIE
from zhenma.db.models import HqSession

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.parametrize("mode", ["database"], indirect=True),
]

PUBLIC = {
    "resolver.description", "resolver.resolve", "resolver.resolve_slash", "api.openapi",
    "api.verify", "page.verify_page", "hq_login.login", "hq_login.logout", "static",
}  # fmt: skip
VIEWER = {
    "hq_alerts.alert_list", "hq_alerts.alert_csv", "hq_alerts.alert_show",
    "hq_alerts.alert_counts", "hq.distributor_list", "hq.distributor_show", "hq.token_list",
    "hq.epcis_events", "dispatch.item_custody", "hq.outbox_list", "hq.outbox_show",
    "hq_dashboard.dashboard",
}  # fmt: skip
ADMIN = {
    "hq_alerts.alert_act", "hq.distributor_add", "hq.token_add", "hq.token_revoke",
    "hq.outbox_replay", "dispatch.pack", "dispatch.dispatch_scans", "hq_dashboard.act",
}  # fmt: skip
PASSWORD = "a long enough password"


def users(db) -> None:
    with db.session() as s:
        hq_users.add(s, "wang.li", PASSWORD, "viewer", "王丽")
        hq_users.add(s, "zhao.min", PASSWORD, "admin", "赵敏")


def login(app, username: str):
    client = app.test_client()
    response = client.post("/hq/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.data
    token = client.get_cookie(COOKIE).value
    return client, {"X-CSRF-Token": hq_users.csrf_token(token)}


def urls(app):
    values = {"int": "1", "any": None, "default": "GD"}
    for rule in app.url_map.iter_rules():
        args = {}
        for name, converter in rule._converters.items():
            kind = type(converter).__name__
            if kind == "AnyConverter":
                args[name] = "acknowledge"
            else:
                args[name] = values["int"] if kind == "IntegerConverter" else values["default"]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, rule.build(args)[1]


def call(client, method: str, url: str, headers=None):
    body = {} if method != "GET" else None
    response = client.open(url, method=method, headers=headers or {}, json=body)
    response.get_data()
    response.close()  # a streamed answer (EPCIS) ends its request here, as a server would
    return response


def test_every_route_refuses_anonymous_and_wrong_role_access(app, db, chain):
    users(db)
    routes = list(urls(app))
    assert {e for e, _, _ in routes} == PUBLIC | VIEWER | ADMIN
    anonymous = app.test_client()
    viewer, viewer_csrf = login(app, "wang.li")
    admin, admin_csrf = login(app, "zhao.min")
    device = {"Authorization": f"Bearer {chain.tokens['GD']}"}
    for endpoint, method, url in routes:
        if endpoint in PUBLIC:
            continue
        where = f"{method} {url}"
        r = call(anonymous, method, url)
        if url.startswith("/hq/"):
            assert r.status_code == 302 and "/hq/login" in r.location, where
        else:
            assert r.status_code == 401, where
        r = call(viewer, method, url, viewer_csrf)
        if endpoint in ADMIN:
            assert r.status_code == 403, where
        else:
            assert r.status_code not in (401, 403) and r.status_code < 500, where
        if endpoint in VIEWER:
            assert call(anonymous, method, url, device).status_code == 403, where
        r = call(admin, method, url, admin_csrf)
        assert r.status_code not in (401, 403) and r.status_code < 500, (where, r.data)
        if method != "GET":  # the session cookie alone, without its CSRF token: refused
            assert call(admin, method, url).status_code == 403, where


def test_sessions_end_at_logout_expiry_and_password_change(app, db, chain):
    users(db)
    client, csrf = login(app, "zhao.min")
    assert client.get("/api/v1/alerts").status_code == 200
    assert client.get("/hq/").status_code == 200
    with db.session() as s:
        s.execute(update(HqSession).values(expires_at=now() - timedelta(seconds=1)))
    assert client.get("/api/v1/alerts").status_code == 401
    assert client.get("/hq/").location.startswith("/hq/login")
    client, csrf = login(app, "zhao.min")
    with db.session() as s:
        hq_users.set_password(s, "zhao.min", "another long password")
    assert client.get("/api/v1/alerts").status_code == 401
    bad = app.test_client().post("/hq/login", data={"username": "zhao.min", "password": PASSWORD})
    assert bad.status_code == 401 and "login-error" in bad.get_data(as_text=True)
    client = app.test_client()
    client.post("/hq/login", data={"username": "zhao.min", "password": "another long password"})
    csrf = {"csrf_token": hq_users.csrf_token(client.get_cookie(COOKIE).value)}
    assert client.post("/hq/logout", data=csrf).status_code == 302
    assert client.get_cookie(COOKIE) is None
    assert client.get("/api/v1/alerts").status_code == 401


def test_login_redirects_only_to_this_site(app, db, chain):
    users(db)
    client = app.test_client()
    form = {"username": "wang.li", "password": PASSWORD}
    r = client.post("/hq/login?next=//evil.example/x", data=form)
    assert r.location == "/hq/"
    r = client.post("/hq/login?next=/hq/%3Fkind%3Dclone", data=form)
    assert r.location == "/hq/?kind=clone"


def test_hq_user_commands_add_list_and_change_passwords(env, db, mode, monkeypatch, capsys):
    from zhenma.cli import main

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ZHENMA_HQ_PASSWORD", PASSWORD)
    assert main(["hq-user", "add", "li.na", "--role", "admin", "--name", "李娜"]) == 0
    assert main(["hq-user", "add", "li.na"]) == 4  # exists: a conflict
    monkeypatch.setenv("ZHENMA_HQ_PASSWORD", "short")
    assert main(["hq-user", "passwd", "li.na"]) == 1
    monkeypatch.setenv("ZHENMA_HQ_PASSWORD", "a new long password")
    assert main(["hq-user", "passwd", "li.na"]) == 0
    assert main(["hq-user", "list"]) == 0
    out = capsys.readouterr()
    assert "li.na\tadmin\t李娜" in out.out
    assert "at least 12 characters" in out.err
    with db.session() as s:
        user = hq_users.authenticate(s, "li.na", "a new long password")
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert hq_users.authenticate(s, "li.na", PASSWORD) is None
        assert hq_users.authenticate(s, "nobody", PASSWORD) is None
