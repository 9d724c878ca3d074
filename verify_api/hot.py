"""The scan peak's route, ``POST /api/v1/verify``, answered as plain WSGI in front of Flask.

During a promotion nearly every request is this one. Flask's machinery around a
view (an app and a request context, matching the URL against every route of the
resolver, the page, the API and HQ, a ``Response`` object, the after-request
hooks) cost about as much CPU as the check itself (docs/verify.md, "Speed").
``HotRoute`` wraps ``app.wsgi_app`` and answers a well-formed request to this
route with the same functions the Flask view calls (``api.parse_body``,
``api.answer``) and the same headers (``cors.HEADERS``); the view stays the
reference, and tests compare the two answer for answer.

Everything else goes to Flask unchanged: other routes and methods, bodies that
are not plain ``application/json`` with a length within the limit, and bodies
that do not parse (Flask reads them again and answers its 4xx). A request is
handed over only *before* the check runs, never after, because the check records
a scan and must run once; an error raised by the check itself (throttled, a
malformed code, the database down while Redis is too) is turned into a response
by Flask's own error handlers, in a request context made for it. So errors keep
one shape and one code path, and only the common answer takes the short one.
"""

import io

from flask import Flask

from . import api, cors
from .errors import ApiError, language_of
from .extension import verify_service

PATH = "/api/v1/verify"


class HotRoute:
    def __init__(self, app: Flask, wrapped):
        self.app, self.wrapped = app, wrapped
        self.parts = app.extensions[verify_service.name]
        self.max_body = app.config["MAX_CONTENT_LENGTH"]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return self.wrapped(environ, start_response)
        length = environ.get("CONTENT_LENGTH", "")
        content_type = environ.get("CONTENT_TYPE", "")
        if (
            not length.isdigit()
            or int(length) > self.max_body
            or content_type.partition(";")[0].strip().lower() != "application/json"
        ):
            return self.wrapped(environ, start_response)
        data = environ["wsgi.input"].read(int(length))
        try:
            fields = api.parse_body(data)
        except ApiError:
            environ["wsgi.input"] = io.BytesIO(data)  # Flask reads it again and says why
            return self.wrapped(environ, start_response)
        try:
            text, extra = api.answer(
                self.parts,
                fields,
                environ.get("REMOTE_ADDR"),
                environ.get("HTTP_USER_AGENT", ""),
                language_of(environ),
            )
        except Exception as exc:
            return self._error(environ, start_response, exc)
        body = text.encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *extra,
                *cors.HEADERS,
            ],
        )
        return [body]

    def _error(self, environ, start_response, exc: Exception):
        """The response Flask would give had the view raised ``exc``."""
        environ["wsgi.input"] = io.BytesIO()
        with self.app.request_context(environ):
            response = self.app.make_response(self.app.handle_user_exception(exc))
            response = self.app.process_response(response)
        return response(environ, start_response)
