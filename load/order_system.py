"""A real HTTP server playing the order system, told how to misbehave, request by request.

It checks every request's signature as docs/dispatch.md tells a receiver to, and
records what arrived and what it accepted, in arrival order. ``script`` holds the
next answers: ``ok``, ``500``, ``400``, ``slow`` (answers late, within the
sender's timeout), ``timeout`` (takes the event, answers after the sender gave
up), ``hold`` (takes the event and waits until released). ``by_key`` holds answers
for one event; when neither has an answer it answers ``ok``. ``stop`` takes the
server down; ``start`` brings it up on the same port.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """The receiver's check, as documented (docs/dispatch.md)."""
    timestamp = headers.get("X-Zhenma-Timestamp", "")
    signature = headers.get("X-Zhenma-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(signature, "v1=" + expected.hexdigest())


@dataclass
class Arrival:
    seq: int
    key: str
    body: bytes
    signed: bool
    answer: str
    accepted_seq: int | None = None  # when it took the event (before answering 2xx)


class OrderSystem:
    def __init__(self, secret: str, port: int, slow: float, late: float):
        self.secret, self.port, self.slow, self.late = secret, port, slow, late
        self.script: deque[str] = deque()
        self.by_key: dict[str, deque[str]] = {}  # answers for one event, before the script
        self.arrivals: list[Arrival] = []
        self.held = threading.Event()
        self.release = threading.Event()
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events?source=zhenma"

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with owner._lock:
                    key = self.headers.get("Idempotency-Key", "")
                    if owner.by_key.get(key):
                        answer = owner.by_key[key].popleft()
                    else:
                        answer = owner.script.popleft() if owner.script else "ok"
                    arrival = Arrival(
                        next(owner._seq),
                        key,
                        body,
                        verify(owner.secret, self.headers, body),
                        answer,
                    )
                    owner.arrivals.append(arrival)
                if answer in ("500", "400"):
                    return self._answer(int(answer))
                if not arrival.signed:
                    return self._answer(401)
                with owner._lock:
                    arrival.accepted_seq = next(owner._seq)
                if answer == "slow":
                    time.sleep(owner.slow)
                elif answer == "timeout":
                    time.sleep(owner.late)
                elif answer == "hold":
                    owner.held.set()
                    owner.release.wait(30)
                self._answer(200)

            def _answer(self, status: int):
                payload = json.dumps({"status": status}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up or died: it will send again

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted_keys(self) -> set[str]:
        return {a.key for a in self.arrivals if a.accepted_seq is not None}
