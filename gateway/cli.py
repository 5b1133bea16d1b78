"""The ``prakerja-gateway`` command: demo, serve, migrate, seed, identity admin, certificate
keys, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.reset import reset_database
from core.db.urls import as_role
from core.settings import ENV_PREFIX, Settings, SettingsError, load_settings
from gateway.demo_runtime import (
    RunningDemo,
    demo_settings,
    port_in_use,
    record_path,
    recorded,
    running_demo,
)
from gateway.demo_wave import example_sale, open_demo_wave
from gateway.documents_cli import add_documents_commands
from gateway.embedded import EmbeddedPostgres
from gateway.identity_cli import (
    add_identity_commands,
    operator_origin,
    print_demo_clients,
    run_admin,
    walkthrough_clients,
)
from gateway.maintenance import prune_expired
from gateway.observability import configure_logging
from gateway.outbox import NoOtp, latest_messages, latest_otp
from gateway.progress import Progress
from gateway.walkthrough import WalkthroughFailed, print_purchase_commands, run_walkthrough


class CommandError(Exception):
    """A command cannot do what was asked; the message says why and what to do instead."""


@dataclass(frozen=True)
class DatabaseUrls:
    """Where a command connects: as the application (``prakerja_app``: serving, the worker,
    prune, batches) or as the schema's owner (migrations, the seed, administration)."""

    app: str
    owner: str


@contextlib.contextmanager
def database_urls(settings: Settings) -> Iterator[DatabaseUrls]:
    """The configured URLs, or the embedded server's for as long as the command runs."""
    configured = settings.database_url or settings.migration_database_url
    if configured is not None:
        # A migration Job may be given the owner's URL alone.
        yield DatabaseUrls(
            app=settings.database_url or configured,
            owner=settings.migration_database_url or configured,
        )
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    owner = embedded.start()
    try:
        # The embedded server trusts its own socket: the app role logs in without a password.
        yield DatabaseUrls(app=as_role(owner, APP_ROLE), owner=owner)
    finally:
        embedded.stop()


@contextlib.contextmanager
def owner_url(settings: Settings) -> Iterator[str]:
    with database_urls(settings) as urls:
        yield urls.owner


@contextlib.contextmanager
def app_url(settings: Settings) -> Iterator[str]:
    with database_urls(settings) as urls:
        yield urls.app


def _serve(settings: Settings, url: str, workers: int | None = None) -> None:
    from gateway.app import create_app, settle_heap
    from gateway.http_protocol import CoalescingHttpToolsProtocol
    from gateway.metrics import cleanup_multiprocess_directory, prepare_multiprocess_directory

    workers = workers or settings.workers
    # uvicorn shuts down gracefully on SIGTERM (stops accepting, lets in-flight requests
    # finish within the deadline, runs the lifespan's shutdown, which closes the pool) and
    # then re-raises the signal; with the default handler that kills the process before our
    # clean-up (the embedded server's stop) runs. As SystemExit it unwinds every ``finally``.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout_seconds,
        # One write per response instead of the headers' and the body's (about a tenth of
        # the server's CPU on a catalog page: bench/README.md).
        "http": CoalescingHttpToolsProtocol,
    }
    if workers == 1:
        prepare_multiprocess_directory(settings, workers=1)
        app = create_app(settings.model_copy(update={"database_url": url}))
        settle_heap()
        # One process drains before it stops (readiness first, see _DrainingServer); with
        # several workers uvicorn's own supervisor handles the signals.
        _DrainingServer(uvicorn.Config(app, **common), app, settings.shutdown_drain_seconds).run()
        return
    # Worker processes are spawned afresh and read their settings from the environment:
    # hand them this process's database (the embedded one included) and demo mode.
    os.environ[ENV_PREFIX + "DATABASE_URL"] = url
    os.environ[ENV_PREFIX + "DEMO"] = "true" if settings.demo else "false"
    prepare_multiprocess_directory(settings, workers=workers)
    try:
        uvicorn.run(
            "gateway.app:create_app_from_environment", factory=True, workers=workers, **common
        )
    finally:
        cleanup_multiprocess_directory()


class _DrainingServer(uvicorn.Server):
    """On SIGTERM: /readyz says 503 first, and only after the drain delay does uvicorn stop
    accepting and finish what it has, so a load balancer moves traffic away without a
    single refused request (the same as a Kubernetes preStop sleep)."""

    def __init__(self, config: uvicorn.Config, app: Any, drain_seconds: float) -> None:
        super().__init__(config)
        self._app = app
        self._drain_seconds = drain_seconds
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_seconds <= 0 or self._draining or sig != signal.SIGTERM:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self._app.state.draining = True
        timer = threading.Timer(self._drain_seconds, super().handle_exit, (sig, frame))
        timer.daemon = True
        timer.start()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.demo and not settings.master_key:
        # A generated key differs per instance: a second instance could not decrypt the
        # first one's signing keys and every token request failed with a plain 500.
        raise CommandError(
            "PRAKERJA_MASTER_KEY is not set: outside demo mode the gateway will not generate "
            "one (every instance must share it). Set PRAKERJA_MASTER_KEY to a long random "
            "secret, the same on every instance, or run `prakerja-gateway demo`"
        )
    with app_url(settings) as url:
        _serve(settings, url, args.workers)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with owner_url(settings) as url:
        if args.revision.startswith("-") or args.downgrade:
            migrate.downgrade(url, args.revision)
        else:
            _migrate_with_progress(url, args.revision)
    print(f"database at {args.revision}")
    return 0


def _migrate_with_progress(url: str, revision: str) -> None:
    """Applies pending migrations one at a time, so long ones show where they are."""
    steps = migrate.pending_revisions(url, revision)
    if not steps:
        return
    with Progress("migrating", len(steps)) as progress:
        for step in steps:
            migrate.upgrade(url, step)
            progress.advance()


def _seed(
    url: str,
    participants: int,
    force: bool,
    scale: str = "demo",
    fraction: float = 1.0,
    jobs: int | None = None,
    *,
    phases: bool = True,
) -> int:
    """``phases``: list each step's seconds (what an operator timing a large seed reads; the
    demo's first start prints the counts alone)."""
    from gateway.seed import database_is_empty, seed_database, seed_full_database

    if not asyncio.run(database_is_empty(url)):
        if not force:
            print("the database already has data; use --force to replace it", file=sys.stderr)
            return 2
        asyncio.run(reset_database(url))
    from gateway.seed.seeder import PROGRESS_TOTAL

    with Progress("seeding", PROGRESS_TOTAL) as progress:

        def step(label: str, weight: float) -> None:
            progress.advance(weight, label)

        if scale == "full":
            report = asyncio.run(
                seed_full_database(url, fraction=fraction, on_step=step, jobs=jobs)
            )
        else:
            report = asyncio.run(
                seed_database(url, participants=participants, on_step=step, jobs=jobs)
            )
    for table, count in sorted(report.counts.items()):
        print(f"{table:28} {count:>10,}")
    for label, seconds in report.phases if phases else ():
        print(f"{label:40} {seconds:8.1f} s")
    print(f"seeded in {report.seconds:.1f} s")
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    with owner_url(settings) as url:
        migrate.upgrade(url)
        return _seed(url, args.participants, args.force, args.scale, args.fraction, args.jobs)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.model_copy(update={"demo": True})
    if args.walkthrough:
        return _walkthrough(settings)
    # Before anything touches the database or the credentials: a second demo on the same
    # port would otherwise print new secrets, fail to bind, and invalidate the first one's.
    _refuse_busy_port(settings)
    with database_urls(settings) as urls:
        url = urls.owner
        _migrate_with_progress(url, "head")
        from gateway.seed import database_is_empty

        if asyncio.run(database_is_empty(url)):
            print("seeding the demo programme (first start only)...")
            _seed(url, args.participants, force=False, phases=False)
        wave = asyncio.run(open_demo_wave(url, datetime.now(UTC)))
        base = settings.public_base_url
        print(f"\nPrakerja gateway (demo) at {base}/graphql  (the explorer in a browser)")
        print_demo_clients(settings, url, base)
        sale = asyncio.run(example_sale(url, wave.number))
        print(f"Wave {wave.number} is open today.")
        print_purchase_commands(base, sale, _own_command("outbox"))
        running = RunningDemo(
            pid=os.getpid(),
            data_dir=str(settings.data_dir.resolve()),
            database_url=url,
            base_url=base,
        )
        from gateway.worker import start_in_thread

        # The webhook and notification worker runs beside the demo, in-process, and stops
        # before the embedded database does.
        # Both serve as the application's role, as a deployment does; the demo's own set-up
        # above (migrations, seed, clients) ran as the owner.
        worker = start_in_thread(settings, urls.app)
        try:
            with recorded(running):
                _serve(settings, urls.app)
        finally:
            worker.stop()
    return 0


def _refuse_busy_port(settings: Settings) -> None:
    if not port_in_use(settings.host, settings.port):
        return
    running = running_demo()
    hint = (
        f"a demo is already running (process {running.pid}, data in {running.data_dir}); "
        "its printed credentials stay valid"
        if running is not None
        else "something else listens there"
    )
    raise CommandError(
        f"port {settings.port} on {settings.host} is in use: {hint}. Nothing was changed. "
        "Stop it, or choose another port: PRAKERJA_PORT=8001 prakerja-gateway demo"
    )


def _walkthrough(settings: Settings) -> int:
    """Runs a purchase through against the running demo, showing each request and answer."""
    running = running_demo()
    if running is None:
        raise CommandError(
            f"no running demo found (looked for {record_path()}): start "
            "`prakerja-gateway demo` in another terminal, then run this again"
        )
    url = running.database_url
    wave = asyncio.run(open_demo_wave(url, datetime.now(UTC)))
    sale = asyncio.run(example_sale(url, wave.number))
    clients = walkthrough_clients(
        demo_settings(settings, running), url, ("DP-001", sale.provider_code)
    )
    credentials = {
        client.partner_type: (client.client_id, client.client_secret) for client in clients
    }
    print(f"Walking a purchase through the demo at {running.base_url}")
    try:
        run_walkthrough(running.base_url, sale, credentials, lambda: asyncio.run(latest_otp(url)))
    except WalkthroughFailed as failed:
        raise CommandError(str(failed)) from None
    print("\nDone: started, authorized, redeemed, attended, post-tested.")
    return 0


def _own_command(subcommand: str) -> str:
    """How to call this program from any directory (the venv's bin is often not on PATH)."""
    program = Path(sys.argv[0])
    if program.name == "prakerja-gateway":
        return f"{shlex.quote(str(program.resolve()))} {subcommand}"
    return f"{shlex.quote(sys.executable)} -m gateway.cli {subcommand}"


def cmd_prune(settings: Settings, args: argparse.Namespace) -> int:
    """Deletes expired idempotency keys, revoked-token and client-assertion records."""
    with app_url(settings) as url:
        pruned = asyncio.run(prune_expired(url))
    for table, count in pruned.counts.items():
        print(f"{table:28} {count:>10,} expired rows deleted")
    return 0


def cmd_outbox(settings: Settings, args: argparse.Namespace) -> int:
    """The demo's phone: prints the newest notifications (OTPs included)."""
    with _outbox_database(settings) as url:
        try:
            if args.otp:
                print(asyncio.run(latest_otp(url)))
                return 0
            messages = asyncio.run(latest_messages(url, limit=args.limit))
        except NoOtp:
            raise CommandError(
                "no one-time password in the outbox yet: start a purchase first"
            ) from None
        except asyncpg.UndefinedTableError:
            raise CommandError(
                "that database has no notification outbox: it was never migrated. "
                "`prakerja-gateway demo` (or `migrate`) sets it up"
            ) from None
    for message in messages:
        payload = " ".join(f"{key}={value}" for key, value in sorted(message.payload.items()))
        print(f"#{message.id} {message.created_at:%H:%M:%S} {message.template}: {payload}")
    if not messages:
        print("the outbox is empty")
    return 0


@contextlib.contextmanager
def _outbox_database(settings: Settings) -> Iterator[str]:
    """The configured database, else the running demo's, else this directory's own cluster.

    Never a new one: an empty cluster made here would only hide where the demo's data is.
    """
    if settings.database_url is not None:
        yield settings.database_url
        return
    running = running_demo()
    pgdata = settings.data_dir.resolve() / "pgdata"
    data_dir_chosen = ENV_PREFIX + "DATA_DIR" in os.environ
    if running is not None and (not data_dir_chosen or running.data_dir == str(pgdata.parent)):
        yield running.database_url
        return
    if not pgdata.exists():
        raise CommandError(
            f"no demo database found: no cluster at {pgdata} and no running demo recorded at "
            f"{record_path()}. Start `prakerja-gateway demo` first, or point this command "
            "at its data: PRAKERJA_DATA_DIR=/path/to/.prakerja (or PRAKERJA_DATABASE_URL)"
        )
    with owner_url(settings) as url:
        yield url


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Delivers webhooks and participant notifications until stopped (SIGTERM, Ctrl-C)."""
    from gateway.worker import run_worker

    signal.signal(signal.SIGTERM, _exit_on_signal)
    with app_url(settings) as url, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings, url, once=args.once))
    return 0


def cmd_batches_create(settings: Settings, args: argparse.Namespace) -> int:
    """Makes the disbursement batches of what is due; safe to run twice (and at once)."""
    from gateway.batches_cli import make_batches

    with app_url(settings) as url:
        made = asyncio.run(make_batches(url))
    for batch in made:
        print(f"{batch.code:28} {batch.item_count:>8,} items {batch.control_sum:>18,} Rupiah")
    print(f"{len(made)} batch(es) made")
    return 0


def cmd_certificates_rotate_key(settings: Settings, args: argparse.Namespace) -> int:
    """Retires the key that signs certificates and makes a new one (audited)."""
    from resolvers.certificates import keys

    origin = operator_origin()
    operator = origin.operator or "unknown"

    async def work(session: AsyncSession) -> keys.KeyRotation:
        return await keys.rotate(
            session,
            settings.resolved_master_key(),
            operator=operator,
            request_id=origin.request_id,
        )

    with owner_url(settings) as url:
        rotation = run_admin(url, work)
    print(f"certificates are signed with {rotation.activated} from now on")
    if rotation.retired is not None:
        print(
            f"retired {rotation.retired}: it signs nothing more and stays in "
            "/certificates/jwks.json, so what it signed still verifies"
        )
    return 0


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema.root import schema

    sdl = schema.as_str() + "\n"
    if args.output:
        Path(args.output).write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prakerja-gateway", description="The Kartu Prakerja partner gateway."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="embedded database, demo data, GraphiQL, serve")
    demo.add_argument("--participants", type=int, default=10_000)
    demo.add_argument(
        "--walkthrough",
        action="store_true",
        help="run a purchase through the running demo, showing each request and answer",
    )
    demo.set_defaults(handler=cmd_demo)

    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="worker processes (default: PRAKERJA_WORKERS, else 1)",
    )
    serve.set_defaults(handler=cmd_serve)

    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.add_argument("revision", nargs="?", default="head")
    migrate_cmd.add_argument("--downgrade", action="store_true", help="go down to REVISION")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    seed = commands.add_parser("seed", help="load the deterministic demo programme")
    seed.add_argument("--participants", type=_positive_int, default=10_000)
    seed.add_argument("--force", action="store_true", help="replace existing data")
    seed.add_argument(
        "--scale",
        choices=("demo", "full"),
        default="demo",
        help="demo: --participants registrants in the programme's proportions; full: the seed's "
        "15.9 million registrants (both generated in PostgreSQL)",
    )
    seed.add_argument(
        "--fraction",
        type=_fraction,
        default=1.0,
        help="with --scale full: load this share (0-1] of the full programme",
    )
    seed.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        help="connections the seed works over at once (default: the machine's cores)",
    )
    seed.set_defaults(handler=cmd_seed)

    add_identity_commands(commands, _with_database_url)
    add_documents_commands(commands, _with_database_url)

    prune = commands.add_parser("prune", help="delete expired idempotency keys and revocations")
    prune.set_defaults(handler=cmd_prune)

    outbox = commands.add_parser("outbox", help="show the newest notifications (demo)")
    outbox.add_argument("--limit", type=_positive_int, default=10)
    outbox.add_argument("--otp", action="store_true", help="print only the newest OTP")
    outbox.set_defaults(handler=cmd_outbox)

    worker = commands.add_parser(
        "worker", help="deliver webhooks and notifications (run one or several)"
    )
    worker.add_argument("--once", action="store_true", help="deliver what is due, then stop")
    worker.set_defaults(handler=cmd_worker)

    batches = commands.add_parser("batches", help="disbursement batches")
    batch_commands = batches.add_subparsers(dest="batches_command", required=True)
    batches_create = batch_commands.add_parser(
        "create", help="make a batch per payment partner from the due installments"
    )
    batches_create.set_defaults(handler=cmd_batches_create)

    certificates = commands.add_parser("certificates", help="certificate credentials")
    certificate_commands = certificates.add_subparsers(dest="certificates_command", required=True)
    rotate_key = certificate_commands.add_parser(
        "rotate-key", help="retire the key that signs certificates and make a new one"
    )
    rotate_key.set_defaults(handler=cmd_certificates_rotate_key)

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(handler=cmd_export_schema)
    return parser


def _with_database_url(
    handler: Callable[[Settings, str, argparse.Namespace], int],
) -> Callable[[Settings, argparse.Namespace], int]:
    """Adapts an identity command to run against the configured (or embedded) database."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        with owner_url(settings) as url:
            return handler(settings, url, args)

    return run


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError("a fraction is in (0, 1]")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level.value, settings.log_format)
    handler = args.handler
    try:
        return int(handler(settings, args))
    except CommandError as refused:
        print(f"prakerja-gateway {args.command}: {refused}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as failure:
        # No command answers with a traceback: say what failed; the log keeps the trace.
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        print(
            f"prakerja-gateway {args.command} failed: {type(failure).__name__}: {failure}\n"
            "(PRAKERJA_LOG_LEVEL=DEBUG shows the trace)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
