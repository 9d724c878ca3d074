"""The verification service (Flask): the GS1 Digital Link resolver, the consumer page, the JSON API.

``create_app`` builds the app from ``Settings``; the parts, one module each:

* ``resolver``: Digital Link routes, linksets, ``/.well-known/gs1resolver``.
* ``page``: the consumer's verification page; ``api``: ``/api/v1``; ``openapi``.
* ``checks``: from scanned text to a verdict (no Flask in it).
* ``catalog``: batch and product facts, cached in memory and Redis; batch secrets.
* ``scans``: counting and recording scans (Redis script and stream, or the database).
* ``throttle``: wrong hidden codes; ``worker``: the stream-to-database writer.
* ``hot``: ``POST /api/v1/verify`` answered before Flask's request machinery.
* ``errors``, ``cors``, ``client``: the boundary.
"""

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from zhenma import config

from .extension import verify_service

__all__ = ["create_app", "verify_service"]


def create_app(settings: config.Settings | None = None) -> Flask:
    settings = settings or config.load()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.json.ensure_ascii = False  # Chinese product names stay readable
    app.json.sort_keys = False
    verify_service.init_app(app, settings)

    from . import api, cors, errors, page, resolver

    errors.init_app(app)
    cors.init_app(app)
    app.register_blueprint(resolver.bp)
    app.register_blueprint(page.bp)
    app.register_blueprint(api.bp)
    from . import dispatch, hq, hq_auth  # distributors, packing, dispatch (docs/dispatch.md)

    hq_auth.init_app(app)
    app.register_blueprint(dispatch.bp)
    app.register_blueprint(hq.bp)
    from . import hq_alerts, hq_dashboard, hq_session  # HQ users, alerts (docs/alerts.md)

    hq_session.init_app(app)
    for blueprint in (hq_session.bp, hq_alerts.bp, hq_dashboard.bp):
        app.register_blueprint(blueprint)
    from . import hot  # the scan peak's route without Flask's machinery (same answers)

    app.wsgi_app = hot.HotRoute(app, app.wsgi_app)
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app
