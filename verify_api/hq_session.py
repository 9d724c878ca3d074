"""HQ logins in the browser: the login and logout pages, the session cookie, CSRF.

``SessionCookies`` is an ``hq_auth`` authenticator: a request with a live session
cookie is its user, an HQ principal with the user's role, so every HQ API view
(``@allow(hq("viewer"))``) admits a logged-in browser as it admits a bearer token.
A request that changes something with the cookie (any method but GET, HEAD,
OPTIONS) must also carry the session's CSRF token, as the form field
``csrf_token`` or the header ``X-CSRF-Token``; the cookie is also SameSite=Strict.

``page(role)`` guards HTML pages: without a session, a redirect to the login page.
"""

import hmac
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Request, g, redirect, render_template, request, url_for

from . import hq_auth, hq_users
from .client import describe
from .errors import ApiError, language
from .extension import verify_service

COOKIE = "zhenma_hq"
SAFE = ("GET", "HEAD", "OPTIONS")
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

bp = Blueprint("hq_login", __name__, url_prefix="/hq")


class SessionCookies:
    def __init__(self, db):
        self.db = db

    def authenticate(self, req: Request) -> hq_auth.Principal | None:
        token = req.cookies.get(COOKIE)
        if not token:
            return None
        with self.db.session() as s:
            user = hq_users.find(s, token)
            if user is None:
                raise hq_auth.unauthorized("your HQ session has ended; log in again")
            principal = hq_auth.Principal(kind="hq", name=f"user {user.username}", role=user.role)
        if req.method not in SAFE:
            given = req.headers.get("X-CSRF-Token") or req.form.get("csrf_token", "")
            if not hmac.compare_digest(given, hq_users.csrf_token(token)):
                raise ApiError(403, "csrf", "this form is stale or not ours; reload the page")
        g.hq_token = token
        return principal


def init_app(app: Flask) -> None:
    hq_auth.add_authenticator(app, SessionCookies(app.extensions[verify_service.name].db))

    @app.after_request
    def _no_cache(response):
        if request.path.startswith("/hq"):
            response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response


def csrf() -> str:
    return hq_users.csrf_token(g.hq_token) if "hq_token" in g else ""


def user_name() -> str:
    return hq_auth.current().name.removeprefix("user ")


def page(role: str):
    """An HTML page for HQ users of ``role`` (or higher); others are sent to log in."""
    rule = hq_auth.hq(role)

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            try:
                p = hq_auth.current()
            except ApiError as exc:
                if exc.status != 401:
                    raise
                return redirect(url_for("hq_login.login", next=request.full_path.rstrip("?")))
            if not rule(p):
                raise ApiError(
                    403, "forbidden", f"only {rule.__doc__} may do this; this is {p.name}"
                )
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("hq_dashboard.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    status = 200
    if request.method == "POST":
        parts = verify_service.parts
        username = request.form.get("username", "")
        # Throttle keys live beside the hidden-code ones; the "login:" prefix keeps them
        # apart (serials never hold a colon), and the client is the salted IP hash.
        who = "login:" + username.strip().lower()[:100]
        client = "login:" + describe(request.remote_addr, None, parts.ip_salt)["client"]
        wait = parts.login_throttle.locked(who, client)
        if wait:
            response = render_template("hq_login.html", lang=language(), error="locked")
            return response, 429, {"Retry-After": str(wait)}
        with parts.db.session() as s:
            user = hq_users.authenticate(s, username, request.form.get("password", ""))
            if user is not None:
                session = hq_users.start(s, user, parts.settings.hq_session_hours)
        if user is None:
            parts.login_throttle.failed(who, client)
        else:
            response = redirect(_next(request.args.get("next")))
            response.set_cookie(
                COOKIE,
                session.token,
                max_age=int(parts.settings.hq_session_hours * 3600),
                httponly=True,
                secure=request.is_secure,
                samesite="Strict",
                path="/",
            )
            return response
        error, status = "wrong", 401
    return render_template("hq_login.html", lang=language(), error=error), status


@bp.post("/logout")
def logout():
    token = request.cookies.get(COOKIE)
    if token:
        try:
            hq_auth.current()  # a logout form from elsewhere is refused (CSRF)
        except ApiError as exc:
            if exc.status != 401:  # 401: the session has ended anyway
                raise
        with verify_service.parts.db.session() as s:
            hq_users.end(s, token)
    response = redirect(url_for("hq_login.login"))
    response.delete_cookie(COOKIE, path="/")
    return response
