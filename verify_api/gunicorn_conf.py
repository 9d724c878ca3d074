"""Production gunicorn settings: ``gunicorn -c python:verify_api.gunicorn_conf wsgi:app``.

Sync workers, one per core (2 on the 2-core machines we run on). Each request is
short and CPU-bound (parse, HMAC, one Redis call, JSON), so a process per core
keeps both cores busy without thread switching, and a slow client cannot starve
others the way a single keep-alive connection can pin a gthread worker (measured:
gthread put every persistent connection on one worker and halved throughput).
More workers than cores gained nothing. Put nginx (or a load balancer) in front
for TLS, keep-alive and slow clients, as gunicorn's docs advise for sync workers.
Every setting can be overridden with GUNICORN_* variables below.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = "sync"
backlog = 2048
timeout = 30
graceful_timeout = 20
# An access log line costs more than a verification's Redis call; the scans
# table is the record of what was checked. Turn it on with GUNICORN_ACCESSLOG=-.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Let workers import the app after forking: each opens its own database pool and
# Redis connection, and nothing is shared by accident.
preload_app = False
