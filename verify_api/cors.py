"""CORS for every response: the resolver, its linksets and the API are public, read by any origin.

Nothing here uses cookies or credentials, so ``*`` is the honest answer.
"""

from flask import Flask, request

EXPOSED = "Link, Location, Retry-After, X-Zhenma-Degraded"
HEADERS = (("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSED))


def init_app(app: Flask) -> None:
    @app.after_request
    def _cors(response):
        headers = response.headers
        for name, value in HEADERS:
            headers[name] = value
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = headers.get("Allow", "GET, HEAD, OPTIONS")
            headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language, Content-Type"
            headers["Access-Control-Max-Age"] = "86400"
        return response
