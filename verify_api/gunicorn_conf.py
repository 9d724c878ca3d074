"""Production gunicorn settings: ``gunicorn -c python:verify_api.gunicorn_conf wsgi:app``.

Two workers (one per core on the 2-core machines we run on), ``gthread`` with 4
threads each, keep-alive off. Measured with ``bench/verify.py``:

* A scan is short CPU work around one Redis round trip, and while a worker waits
  for Redis's reply (longer when Redis must first get a core) a sync worker leaves
  its core idle. Threads let another request use it meanwhile (the wait releases
  the GIL): about 1.6x the verify throughput of 2 sync workers, at the same p99.
  8 threads gained nothing more; 4 sync workers did worse (more processes fighting
  for 2 cores).
* Keep-alive off: with persistent connections gthread can leave every connection
  on one worker and halve throughput (the shared PERFORMANCE-NOTES). Clients' keep-alive
  and TLS belong to nginx (or a load balancer) in front, as usual for gunicorn.

Every setting can be overridden with the GUNICORN_* variables below.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", 4))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 0))
backlog = 2048
timeout = 30
graceful_timeout = 20
# An access log line costs more than a verification's Redis call; the scans
# table is the record of what was checked. Turn it on with GUNICORN_ACCESSLOG=-.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Let workers import the app after forking: each opens its own database pool and
# Redis connections, and nothing is shared by accident.
preload_app = False
