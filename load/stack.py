"""The whole stack, private to a run: PostgreSQL, Redis, gunicorn, the worker, the order system.

Everything listens on free loopback ports and lives in the run's folder, so a run
never touches the developer's own services and two runs never meet. Each process
is started in its own session (so a Ctrl-C at the terminal reaches only the run
script, which then stops them in order) and ``Stack.stop`` ends exactly what was
started, by pid or process group, whatever happened before.

* PostgreSQL: ``initdb`` and ``pg_ctl`` from /usr/lib/postgresql/*/bin, as the
  ``postgres`` user when we are root (``runuser``), directly otherwise. Its data
  directory is a private temporary folder rather than the run folder, because the
  ``postgres`` user must be able to reach it (pytest's and many users' folders are
  private to their owner). Production durability: fsync and synchronous commit on.
* Redis: ``appendonly yes``, ``appendfsync always``, no RDB snapshots,
  ``noeviction``: a restart loses nothing it acknowledged (docs/verify.md).
* gunicorn: ``-c python:verify_api.gunicorn_conf``; ``GUNICORN_WORKERS`` and
  ``GUNICORN_THREADS`` from the environment, as in production.
* ``zhenma worker``: the scan writer, the outbox deliverer and the alert analyst.
* The order system: ``load.order_system.OrderSystem`` in a thread of this process.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .order_system import OrderSystem

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

# Settings of a load run that differ from the production defaults, each for a reason
# that only holds for a bounded run (docs/load.md). The caller's environment wins.
RUN_DEFAULTS = {
    # A failed delivery is retried after at most this many seconds (production: an
    # hour), so a run's order-system outage is over within seconds of the system's return.
    "ZHENMA_OUTBOX_BACKOFF_MAX": "5",
    # A killed worker's leased events go to the next one after this (production 60 s);
    # it must exceed the order timeout.
    "ZHENMA_ORDER_TIMEOUT": "5",
    "ZHENMA_OUTBOX_LEASE": "15",
    # A killed writer's unacknowledged scans are taken over after this (production 30 s).
    "ZHENMA_WORKER_CLAIM_IDLE_MS": "10000",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wait_port(port: int, proc: subprocess.Popen | None, name: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} before listening on {port}")
        if listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name}: nothing listens on {port} after {seconds:.0f} s")


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, grace: float = 20):
    """End a process we started and its process group (it was started in its own session)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    found = [p for p in found if p.parts[-3].isdigit()]
    if not found:
        raise RuntimeError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/pg_ctl)")
    return max(found, key=lambda p: int(p.parts[-3])).parent


class Postgres:
    def __init__(self, log: Path):
        self.port = free_port()
        self.bin = _pg_bin()
        self.home = Path(tempfile.mkdtemp(prefix="zhenma-load-pg-"))
        self.data = self.home / "data"
        self.log = log
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.home, "postgres", "postgres")
            self.home.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/zhenma"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        # A session of its own: the postmaster pg_ctl leaves behind must not get the
        # terminal's Ctrl-C; the run script stops it in order.
        return subprocess.run(
            cmd,
            check=check,
            capture_output=True,
            text=True,
            cwd=self.home,
            start_new_session=True,
            timeout=120,
        )

    def start(self) -> None:
        fresh = not self.data.exists()
        if fresh:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-instructions",
            )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.home / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            self._options(),
            "start",
        )
        if fresh:
            self._run(
                "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "zhenma"
            )

    def _options(self) -> str:
        # No Unix socket (loopback TCP only); production durability left at its defaults.
        return f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''"

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every session is cut, the server is back when it returns."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.home / "server.log"),
            "-w",
            "-t",
            "60",
            "-m",
            "fast",
            "-o",
            self._options(),
            "restart",
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.data.exists() and self.postmaster_pid():
            result = self._run(
                "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop", check=False
            )
            pid = self.postmaster_pid()
            if result.returncode != 0 and pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        server_log = self.home / "server.log"
        if server_log.exists():
            shutil.copyfile(server_log, self.log)
        shutil.rmtree(self.home, ignore_errors=True)


class Redis:
    def __init__(self, folder: Path, log: Path):
        self.port = free_port()
        self.folder = folder
        self.log = log
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "no",
            "--logfile",
            str(self.log),
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, start_new_session=True)
        wait_port(self.port, self.proc, "redis-server")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.proc, sig)


class Service:
    """A command of ours (gunicorn, ``zhenma worker``), logging to a file of the run."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL to the process alone (not its group): as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        stop_process(self.proc)


class Stack:
    """Start with ``start()``, always ``stop()`` (in a ``finally``)."""

    def __init__(self, folder: Path, target: str = "zhenma"):
        self.folder = folder
        self.target = target  # "zhenma", or "hello" to calibrate Locust on a hello-world
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.postgres: Postgres | None = None
        self.redis: Redis | None = None
        self.order: OrderSystem | None = None
        self.worker: Service | None = None
        self.gunicorn: Service | None = None
        self.web_port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.order_secret = secrets.token_urlsafe(36)
        self.env: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHENMA_LOAD")}
        # Every process runs the code of this tree (a git worktree too), not the installed one.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
        for key, value in RUN_DEFAULTS.items():
            env.setdefault(key, value)
        env.update(
            ZHENMA_INSTANCE=str(self.folder / "instance"),
            ZHENMA_DATABASE_URL=self.postgres.url,
            ZHENMA_REDIS_URL=self.redis.url,
            ZHENMA_REDIS_PREFIX="zhenma:",
            ZHENMA_KEYRING=str(self.folder / "instance" / "keyring.zkr"),
            ZHENMA_KEYRING_PASSWORD=self.password,
            ZHENMA_IP_SALT=secrets.token_hex(16),
            # Every simulated consumer sends its own X-Forwarded-For, as nginx would.
            ZHENMA_PROXY_HOPS="1",
            ZHENMA_ORDER_URL=self.order.url,
            ZHENMA_ORDER_SECRET=self.order_secret,
            ZHENMA_VERIFY_BASE=env.get("ZHENMA_VERIFY_BASE", "https://verify.zhenma.example"),
            GUNICORN_BIND=f"127.0.0.1:{self.web_port}",
        )
        env.pop("GUNICORN_ACCESSLOG", None)  # production: no access log
        return env

    def start(self) -> None:
        """The data stores and the order system; then ``seed``, then ``start_services``."""
        if self.target == "hello":
            return
        self.postgres = Postgres(self.logs / "postgres.log")
        self.postgres.start()
        self.redis = Redis(self.folder / "redis", self.logs / "redis.log")
        self.redis.start()
        self.order = OrderSystem(self.order_secret, free_port(), slow=0.2, late=1.0)
        self.order.start()
        self.env = self._environment()

    def start_services(self) -> None:
        gunicorn = [str(VENV_BIN / "gunicorn"), "-c", "python:verify_api.gunicorn_conf"]
        if self.target == "hello":
            env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{self.web_port}"}
            self.gunicorn = Service(
                "gunicorn", [*gunicorn, "load.hello:app"], env, self.logs / "gunicorn.log"
            )
            self.gunicorn.start()
            wait_port(self.web_port, self.gunicorn.proc, "gunicorn")
            return
        self.worker = Service(
            "worker", [str(VENV_BIN / "zhenma"), "worker"], self.env, self.logs / "worker.log"
        )
        self.worker.start()
        self.gunicorn = Service(
            "gunicorn", [*gunicorn, "wsgi:app"], self.env, self.logs / "gunicorn.log"
        )
        self.gunicorn.start()
        wait_port(self.web_port, self.gunicorn.proc, "gunicorn")

    def gunicorn_workers(self) -> list[int]:
        import psutil

        try:
            return [c.pid for c in psutil.Process(self.gunicorn.proc.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def component_pids(self) -> dict[str, list[int]]:
        """Root pids of each part, for CPU accounting (their children are counted too)."""
        pids: dict[str, list[int]] = {}
        if self.gunicorn and self.gunicorn.proc and self.gunicorn.proc.poll() is None:
            pids["gunicorn"] = [self.gunicorn.proc.pid]
        if self.worker and self.worker.proc and self.worker.proc.poll() is None:
            pids["worker"] = [self.worker.proc.pid]
        if self.redis and self.redis.proc and self.redis.proc.poll() is None:
            pids["redis"] = [self.redis.proc.pid]
        if self.postgres and self.postgres.postmaster_pid():
            pids["postgres"] = [self.postgres.postmaster_pid()]
        return pids

    def stop(self) -> None:
        """Stop everything started, in the reverse order; never raises."""
        steps = [
            lambda: self.gunicorn and self.gunicorn.stop(),
            lambda: self.worker and self.worker.stop(),
            lambda: self.order and self.order.stop(),
            lambda: self.redis and self.redis.stop(),
            lambda: self.postgres and self.postgres.stop(),
        ]
        for step in steps:
            try:
                step()
            except Exception as exc:  # keep stopping the rest
                print(f"warning: while stopping: {exc}", file=sys.stderr)
