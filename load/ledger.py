"""What the Locust processes write and the run script reads back: one ledger file per process.

A line per request, tab-separated, so the run script can tell after the run what
the service answered, when, and to which tagged scan:

    R  start(epoch s)  ms  name  endpoint  status  ok  tag  verdict  serial  note
    D  time(epoch s)   scan_id  dispatch_id

``R``: every request. ``tag`` is the unique tag the request's User-Agent carried
(for scans; the scan id of the first scan of a dispatch upload), ``verdict`` the
answer's verdict or error code, ``ok`` whether the answer was the expected one
(Locust's success), ``note`` e.g. ``degraded:redis-unavailable`` or ``throttled``.
``D``: each dispatch scan the service accepted (answered 201, or 200 within a
list, or as a duplicate of an earlier try), with the ``dispatch_id`` it was given.

``claim`` hands out chunks of the seeded supply across every user and process.
"""

import fcntl
import os
import secrets
from pathlib import Path

AGENT = "zhenma-load/1"  # the User-Agent is AGENT + " " + tag


def agent(tag: str) -> str:
    return f"{AGENT} {tag}"


def tag_of(user_agent: str | None) -> str | None:
    if not user_agent or not user_agent.startswith(AGENT + " "):
        return None
    return user_agent[len(AGENT) + 1 :]


def _clean(value) -> str:
    return "" if value is None else str(value).replace("\t", " ").replace("\n", " ")


class Ledger:
    """Appends lines to ``records/ledger-<pid>-<random>.tsv``; buffered, flushed often."""

    def __init__(self, folder: Path):
        self.folder = folder / "records"
        self.path: Path | None = None
        self._lines: list[str] = []
        self._file = None

    def request(
        self, start, ms, name, endpoint, status, ok, tag="", verdict="", serial="", note=""
    ) -> None:
        fields = (
            f"{start:.3f}",
            f"{ms:.1f}",
            name,
            endpoint,
            status,
            int(bool(ok)),
            tag,
            verdict,
            serial,
            note,
        )
        self._add("R\t" + "\t".join(_clean(f) for f in fields))

    def dispatched(self, at: float, scan_id: str, dispatch_id) -> None:
        self._add(f"D\t{at:.3f}\t{_clean(scan_id)}\t{_clean(dispatch_id)}")

    def _add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) >= 500:
            self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        if self._file is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.path = self.folder / f"ledger-{os.getpid()}-{secrets.token_hex(3)}.tsv"
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write("\n".join(self._lines) + "\n")
        self._file.flush()
        self._lines = []

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None


def read(folder: Path):
    """Every line of every ledger of a run: ("R", fields...) and ("D", ...) tuples."""
    for path in sorted((folder / "records").glob("ledger-*.tsv")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if (parts[0] == "R" and len(parts) == 11) or (parts[0] == "D" and len(parts) == 4):
                    yield parts


def claim(folder: Path, kind: str) -> int:
    """The next unused chunk number of ``kind``, across every user and Locust process."""
    (folder / "claims").mkdir(exist_ok=True)
    fd = os.open(folder / "claims" / kind, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.pread(fd, 32, 0).strip()
        number = int(raw or b"0")
        os.pwrite(fd, str(number + 1).encode().ljust(32), 0)
        return number
    finally:
        os.close(fd)  # closing releases the lock
