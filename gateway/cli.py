"""The ``prakerja-gateway`` command: demo, serve, migrate, seed, identity admin, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from core.db import migrate
from core.db.reset import reset_database
from core.settings import Settings, SettingsError, load_settings
from gateway.demo_wave import DemoSale, DemoWave, example_sale, open_demo_wave
from gateway.embedded import EmbeddedPostgres
from gateway.identity_cli import add_identity_commands, print_demo_clients
from gateway.maintenance import prune_expired
from gateway.observability import configure_logging
from gateway.outbox import latest_messages


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """The configured URL, or the embedded server's for as long as the command runs."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def _serve(settings: Settings, url: str) -> None:
    import uvicorn

    from gateway.app import create_app

    app = create_app(settings.model_copy(update={"database_url": url}))
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal; with the
    # default handler that kills the process before our clean-up (the embedded server's
    # stop) runs. Turned into SystemExit, the signal unwinds through every ``finally``.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        _serve(settings, url)
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        if args.revision.startswith("-") or args.downgrade:
            migrate.downgrade(url, args.revision)
        else:
            migrate.upgrade(url, args.revision)
    print(f"database at {args.revision}")
    return 0


def _seed(url: str, participants: int, force: bool) -> int:
    from gateway.seed import database_is_empty, seed_database

    if not asyncio.run(database_is_empty(url)):
        if not force:
            print("the database already has data; use --force to replace it", file=sys.stderr)
            return 2
        asyncio.run(reset_database(url))
    report = asyncio.run(seed_database(url, participants=participants))
    for table, count in sorted(report.counts.items()):
        print(f"{table:28} {count:>10,}")
    print(f"seeded in {report.seconds:.1f} s")
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings) as url:
        migrate.upgrade(url)
        return _seed(url, args.participants, args.force)


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    settings = settings.model_copy(update={"demo": True})
    with database_url(settings) as url:
        migrate.upgrade(url)
        from gateway.seed import database_is_empty

        if asyncio.run(database_is_empty(url)):
            print("seeding the demo programme (first start only)...")
            _seed(url, args.participants, force=False)
        wave = asyncio.run(open_demo_wave(url, datetime.now(UTC)))
        base = f"http://{settings.host}:{settings.port}"
        print(f"\nPrakerja gateway (demo) at {base}/graphql  (GraphiQL in a browser)")
        print_demo_clients(settings, url, settings.public_base_url)
        _print_walkthrough(asyncio.run(example_sale(url, wave.number)), wave)
        from gateway.worker import start_in_thread

        start_in_thread(settings, url)
        _serve(settings, url)
    return 0


def _print_walkthrough(sale: DemoSale, wave: DemoWave) -> None:
    print(f"Wave {wave.number} is open today. Walk a purchase through (see README, 'Demo'):")
    print(
        f'  1. as DP-001: startPurchase(input: {{cardNumber: "{sale.card_number}", '
        f'courseCode: "{sale.course_code}", scheduleCode: "{sale.schedule_code}", '
        f'platformUserId: "demo-{sale.card_number}", '
        f'invoiceCode: "INV-DEMO-{sale.card_number[-6:]}", amount: "{sale.price}"}})'
    )
    print("  2. read the OTP:  prakerja-gateway outbox   (in another terminal)")
    print("  3. as DP-001: authorizePurchase(input: {paymentToken: ..., otp: ...})")
    print(
        f"  4. as {sale.provider_code} (its credentials above): recordAttendance(input: "
        "{redeemCode: ..., sequence: 1}), then 2, 3, ... and 999 with a score\n"
    )


def cmd_prune(settings: Settings, args: argparse.Namespace) -> int:
    """Deletes expired idempotency keys, revoked-token and client-assertion records."""
    with database_url(settings) as url:
        pruned = asyncio.run(prune_expired(url))
    for table, count in pruned.counts.items():
        print(f"{table:28} {count:>10,} expired rows deleted")
    return 0


def cmd_outbox(settings: Settings, args: argparse.Namespace) -> int:
    """The demo's phone: prints the newest notifications (OTPs included)."""
    with database_url(settings) as url:
        for message in asyncio.run(latest_messages(url, limit=args.limit)):
            payload = " ".join(f"{key}={value}" for key, value in sorted(message.payload.items()))
            print(f"#{message.id} {message.created_at:%H:%M:%S} {message.template}: {payload}")
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """Delivers webhooks and participant notifications until stopped (SIGTERM, Ctrl-C)."""
    from gateway.worker import run_worker

    signal.signal(signal.SIGTERM, _exit_on_signal)
    with database_url(settings) as url, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings, url, once=args.once))
    return 0


def cmd_batches_create(settings: Settings, args: argparse.Namespace) -> int:
    """Makes the disbursement batches of what is due; safe to run twice (and at once)."""
    from gateway.batches_cli import make_batches

    with database_url(settings) as url:
        made = asyncio.run(make_batches(url))
    for batch in made:
        print(f"{batch.code:28} {batch.item_count:>8,} items {batch.control_sum:>18,} Rupiah")
    print(f"{len(made)} batch(es) made")
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
    demo.set_defaults(handler=cmd_demo)

    serve = commands.add_parser("serve", help="serve the API")
    serve.set_defaults(handler=cmd_serve)

    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.add_argument("revision", nargs="?", default="head")
    migrate_cmd.add_argument("--downgrade", action="store_true", help="go down to REVISION")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    seed = commands.add_parser("seed", help="load the deterministic demo programme")
    seed.add_argument("--participants", type=_positive_int, default=10_000)
    seed.add_argument("--force", action="store_true", help="replace existing data")
    seed.set_defaults(handler=cmd_seed)

    add_identity_commands(commands, _with_database_url)

    prune = commands.add_parser("prune", help="delete expired idempotency keys and revocations")
    prune.set_defaults(handler=cmd_prune)

    outbox = commands.add_parser("outbox", help="show the newest notifications (demo)")
    outbox.add_argument("--limit", type=_positive_int, default=10)
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

    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(handler=cmd_export_schema)
    return parser


def _with_database_url(
    handler: Callable[[Settings, str, argparse.Namespace], int],
) -> Callable[[Settings, argparse.Namespace], int]:
    """Adapts an identity command to run against the configured (or embedded) database."""

    def run(settings: Settings, args: argparse.Namespace) -> int:
        with database_url(settings) as url:
            return handler(settings, url, args)

    return run


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
    return int(handler(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
