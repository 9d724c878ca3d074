"""Load tests of the whole system: Locust scenarios, a private stack, faults, and the counts.

``bash load/run.sh`` (``python -m load.run``) starts everything Zhenma runs on in
production, privately, on free loopback ports (``stack``): its own PostgreSQL and
Redis (persistent: AOF, fsync always), gunicorn with ``verify_api/gunicorn_conf.py``,
``zhenma worker``, and an order-system stand-in (``order_system``) that checks
signatures and records idempotency keys. It seeds a product, an activated batch,
distributors, device tokens and an HQ viewer through the project's own functions
(``seed``), drives the service with Locust (``locustfile``: consumers, counterfeits,
hidden-code checks and a guessing attack, warehouse devices, HQ reading alerts),
optionally breaks one part a third of the way in (``faults``), waits for the worker
to drain, and then checks that the numbers add up (``accounting``): every scan
answered 2xx stored exactly once, at most one first check per code, every accepted
dispatch delivered to the order system. ``summary.json`` and Locust's CSV and HTML
reports land in the run's folder; the exit status is the gate.

Locust runs only as a subprocess: it patches the standard library with gevent, so
nothing here (or in the tests) imports it besides ``locustfile``.

See docs/load.md for the options, the gate and the choices made.
"""
