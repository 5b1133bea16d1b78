"""The Python quickstarts in docs/quickstarts run as written against a real gateway process.

One ``serve`` process on a committed database of its own (another process must see the
seeded sale and installments), a client per partner type made as an operator would, and each
quickstart run as a user would run it: a subprocess with the environment the docs name.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from auth.admin import create_client
from auth.audit import Origin
from auth.scopes import allowed_scopes
from core.db import migrate
from core.db.actor import APP_ROLE
from core.db.database import Database
from core.db.urls import as_role
from core.enums import PartnerType
from tests.support.databases import DatabaseFactory
from tests.support.enrollment import Sale, open_sale
from tests.support.gateway import TEST_MASTER_KEY
from tests.support.installment_pool import add_due_installments

pytestmark = pytest.mark.xdist_group("own_servers")

QUICKSTARTS = Path(__file__).resolve().parents[2] / "docs" / "quickstarts"
DUE_ITEMS = 3


@dataclass(frozen=True)
class Gateway:
    base_url: str
    database_url: str
    sale: Sale
    credentials: dict[str, tuple[str, str]]  # partner code -> client id, secret


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(url: str, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} never answered 200")
        time.sleep(0.1)


@pytest.fixture(scope="module")
async def seeded(
    databases: DatabaseFactory,
) -> AsyncIterator[tuple[str, Sale, dict[str, tuple[str, str]]]]:
    from gateway.seed import seed_database

    url = await databases.create("quickstarts")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=50)
    database = Database.connect(url, pool_size=1)
    try:
        sale = await open_sale(database, recipients=2)
        credentials: dict[str, tuple[str, str]] = {}
        async with database.sessionmaker() as session:
            for code, partner_type in (
                ("DP-001", PartnerType.PLATFORM),
                (sale.provider_code, PartnerType.TRAINING_PROVIDER),
                ("PP-001", PartnerType.PAYMENT_PARTNER),
                ("DISNAKER-1101", PartnerType.REGIONAL_OFFICE),
            ):
                issued = await create_client(
                    session,
                    Origin(operator="tests"),
                    partner_code=code,
                    scopes=sorted(allowed_scopes(partner_type)),
                    name="quickstart",
                )
                credentials[code] = (issued.client_id, issued.client_secret or "")
            await add_due_installments(session, "PP-001", DUE_ITEMS)
            await session.commit()
    finally:
        await database.dispose()
    yield url, sale, credentials


@pytest.fixture(scope="module")
def gateway(
    seeded: tuple[str, Sale, dict[str, tuple[str, str]]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    url, sale, credentials = seeded
    port = _free_port()
    environment = {
        **os.environ,
        "PRAKERJA_DATABASE_URL": as_role(url, APP_ROLE),
        "PRAKERJA_DATA_DIR": str(tmp_path_factory.mktemp("quickstarts")),
        "PRAKERJA_PORT": str(port),
        "PRAKERJA_MASTER_KEY": TEST_MASTER_KEY,
        "PRAKERJA_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(f"{base}/readyz", within=60)
        yield Gateway(base, url, sale, credentials)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate(timeout=30)


def _cli(database_url: str) -> tuple[str, dict[str, str]]:
    """How a quickstart's user calls ``prakerja-gateway`` here, and its environment."""
    return (
        f"{shlex.quote(sys.executable)} -m gateway.cli",
        {**os.environ, "PRAKERJA_DATABASE_URL": database_url},
    )


def _run(gateway: Gateway, name: str, partner: str, **extra: str) -> str:
    client_id, secret = gateway.credentials[partner]
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PRAKERJA_")
    }
    environment.update(
        PRAKERJA_BASE_URL=gateway.base_url, CLIENT_ID=client_id, CLIENT_SECRET=secret, **extra
    )
    done = subprocess.run(
        [sys.executable, str(QUICKSTARTS / f"{name}.py")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_platform_then_provider_walk_a_purchase_to_its_certificate(gateway: Gateway) -> None:
    cli, _ = _cli(gateway.database_url)
    sold = _run(
        gateway,
        "digital_platform",
        "DP-001",
        CARD_NUMBER=gateway.sale.cards[0],
        COURSE_CODE=gateway.sale.course_code,
        SCHEDULE_CODE=gateway.sale.schedule_code,
        # The demo's phone, reading this gateway's database.
        OTP_COMMAND=f"env PRAKERJA_DATABASE_URL={shlex.quote(gateway.database_url)} "
        f"{cli} outbox --otp",
    )
    assert re.search(r"^course \S+ \d+ Rupiah: ", sold, re.M), sold
    assert re.search(r"^authorized INV-QS-\w+ SUCCESS$", sold, re.M), sold
    redeem = re.search(r"^REDEEM_CODE=(\S+)$", sold, re.M)
    assert redeem is not None, sold
    assert re.search(r"^enrollment INV-QS-\w+ SUCCESS ", sold, re.M), sold
    assert "certificates of our sales: " in sold

    trained = _run(gateway, "training_provider", gateway.sale.provider_code, REDEEM_CODE=redeem[1])
    assert f"signed in as {gateway.sale.provider_code} (TRAINING_PROVIDER)" in trained
    assert "attendance 999 recorded" in trained
    certificate = re.search(r"^certificate (\S+) VALID$", trained, re.M)
    assert certificate is not None, trained
    # The certificate the quickstart made is public, as the docs say.
    public = httpx.get(f"{gateway.base_url}/certificates/{certificate[1]}", timeout=10)
    assert public.status_code == 200


def test_payment_partner_pays_a_batch(gateway: Gateway) -> None:
    cli, cli_environment = _cli(gateway.database_url)
    made = subprocess.run(
        [*shlex.split(cli), "batches", "create"],
        env=cli_environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    paid = _run(gateway, "payment_partner", "PP-001", CARD_NUMBER=gateway.sale.cards[1])
    assert re.search(r"^account \*+\d{4} for \d{16}: verified=False", paid, re.M), paid
    assert f"paged through {DUE_ITEMS} items" in paid
    assert f"exported {DUE_ITEMS} items (X-Item-Count {DUE_ITEMS}" in paid
    assert re.search(r"^acknowledged \S+ ACKNOWLEDGED$", paid, re.M), paid
    assert re.search(r"^reported; batch \S+ COMPLETED$", paid, re.M), paid
    assert re.search(rf"^  PAID +{DUE_ITEMS} ", paid, re.M), paid


def test_regional_office_registers_and_counts(gateway: Gateway) -> None:
    first = _run(gateway, "regional_office", "DISNAKER-1101")
    assert re.search(r"^registered \d{6}\*+\d+ OFFLINE ", first, re.M), first
    assert "journey: 0 purchases, 0 completions" in first
    counted = re.search(r"^registrants: (\d+)$", first, re.M)
    assert counted is not None, first
    # A second run registers another person: the figures grow by one.
    second = _run(gateway, "regional_office", "DISNAKER-1101")
    assert f"registrants: {int(counted[1]) + 1}" in second
