"""CORS for every response: the resolver, its linksets and the API are public, read by any origin.

Nothing here uses cookies or credentials, so ``*`` is the honest answer.
"""

from flask import Flask, request

EXPOSED = "Link, Location, Retry-After, X-Zhenma-Degraded"


def init_app(app: Flask) -> None:
    @app.after_request
    def _cors(response):
        headers = response.headers
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Expose-Headers"] = EXPOSED
        if request.method == "OPTIONS":
            headers["Access-Control-Allow-Methods"] = headers.get("Allow", "GET, HEAD, OPTIONS")
            headers["Access-Control-Allow-Headers"] = "Accept, Accept-Language, Content-Type"
            headers["Access-Control-Max-Age"] = "86400"
        return response
