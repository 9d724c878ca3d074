"""One error shape at the boundary: ``{"error": {"code", "message"}}`` with the right status.

Every failure reaches a client through ``error_response``: our own ``ApiError``,
werkzeug's HTTP errors (404, 405, 413, ...) and, should one ever escape, any other
exception (logged, answered 500 in the same shape). A browser asking for a page
(not under ``/api/``) gets the same message as a small HTML page.
"""

import logging
from functools import lru_cache
from urllib.parse import parse_qs

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

from . import messages

log = logging.getLogger("zhenma.verify")

_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def language() -> str:
    """``?lang=`` when given, else the browser's Accept-Language; Chinese by default."""
    return language_of(request.environ)


def language_of(environ: dict) -> str:
    """``language`` for a WSGI environ (``hot`` has no Flask request)."""
    query = environ.get("QUERY_STRING")
    if query:  # most scans have none: skip parsing one
        wanted = parse_qs(query).get("lang", ("",))[0]  # the first, as ``request.args``
        if wanted in messages.LANGUAGES:
            return wanted
    return _best_language(environ.get("HTTP_ACCEPT_LANGUAGE", ""))


@lru_cache(maxsize=1024)  # browsers send a handful of distinct headers
def _best_language(header: str) -> str:
    accepted = parse_accept_header(header, LanguageAccept)
    return accepted.best_match(messages.LANGUAGES, default="zh")


def wants_html() -> bool:
    if request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def error_response(status: int, code: str, message: str, headers: dict | None = None):
    if wants_html():
        body = render_template(
            "error.html", lang=language(), status=status, code=code, message=message, t=messages.t
        )
        response = (body, status, {"Content-Type": "text/html; charset=utf-8"})
    else:
        response = (jsonify(error={"code": code, "message": message}), status)
    resp = _make(response)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def _make(response):
    from flask import make_response

    return make_response(response)


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        headers = {}
        if status == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        return error_response(status, _CODES.get(status, "http_error"), exc.description, headers)

    @app.errorhandler(OperationalError)
    def _database_down(exc: OperationalError):
        log.error("database unavailable: %s", exc.orig)
        return error_response(
            503, "unavailable", "the service cannot reach its database; try again soon",
            {"Retry-After": "5"},
        )  # fmt: skip

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "an unexpected error; it has been logged")
