"""The quickstarts run as written against a real gateway process: the Python files in
docs/quickstarts, and the curl and JavaScript (graphql-request) blocks of docs/quickstarts.md.

One ``serve`` process on a committed database of its own (another process must see the
seeded sale and installments), a client per partner type made as an operator would, and each
quickstart run as a user would run it: a subprocess with the environment the docs name. The
curl and JavaScript blocks are read out of the markdown (the page is the one copy): each
section's ``sh`` block runs in bash with the variables the page says to set, each ``js``
block after the page's token helper as ``quickstart.mjs`` under Node, with graphql-request
installed from the npm registry into a temporary directory (skipped, saying so, only where
``node`` or ``npm`` is missing).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
PAGE = QUICKSTARTS.parent / "quickstarts.md"
DUE_ITEMS = 3
# The payment partner of each way in: each pays a batch of its own.
PAYERS = {"python": "PP-001", "curl": "PP-002", "js": "PP-003"}
# The recipient card each platform run buys with (the Python one uses cards[0] and [1]).
CARDS = {"curl": 2, "js": 3}


@dataclass(frozen=True)
class Gateway:
    base_url: str
    database_url: str
    sale: Sale
    credentials: dict[str, tuple[str, str]]  # partner code -> client id, secret
    log: Path

    def log_tail(self) -> str:
        return "\n--- server log ---\n" + "\n".join(self.log.read_text().splitlines()[-40:])


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
        sale = await open_sale(database, recipients=4)
        credentials: dict[str, tuple[str, str]] = {}
        async with database.sessionmaker() as session:
            for code, partner_type in (
                ("DP-001", PartnerType.PLATFORM),
                (sale.provider_code, PartnerType.TRAINING_PROVIDER),
                ("PP-001", PartnerType.PAYMENT_PARTNER),
                ("PP-002", PartnerType.PAYMENT_PARTNER),
                ("PP-003", PartnerType.PAYMENT_PARTNER),
                # Trusted documents: programme management registers them for DP-002's client.
                ("PMO", PartnerType.PROGRAM_MANAGEMENT),
                ("DP-002", PartnerType.PLATFORM),
                ("DISNAKER-1101", PartnerType.REGIONAL_OFFICE),
            ):
                issued = await create_client(
                    session,
                    Origin(operator="tests"),
                    partner_code=code,
                    scopes=sorted(allowed_scopes(partner_type)),
                    master_key=TEST_MASTER_KEY.encode(),
                    name="quickstart",
                )
                credentials[code] = (issued.client_id, issued.client_secret or "")
            for payer in PAYERS.values():
                await add_due_installments(session, payer, DUE_ITEMS)
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
    # The server's log, shown beside a failing quickstart's output.
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(f"{base}/readyz", within=60)
        yield Gateway(base, url, sale, credentials, log_path)
    finally:
        log.close()
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


# --- the curl and JavaScript blocks of docs/quickstarts.md ----------------------------------

BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)


def _page_blocks() -> tuple[str, dict[str, dict[str, str]]]:
    """The page's JavaScript token helper, and each partner section's ``sh`` and ``js`` block
    by the section's partner code."""
    intro, *sections = re.split(r"^## ", PAGE.read_text(), flags=re.M)
    helper = next(body for language, body in BLOCK.findall(intro) if language == "js")
    blocks: dict[str, dict[str, str]] = {}
    for section in sections:
        title = section.splitlines()[0]
        code = re.search(r"\(([A-Z0-9-]+)\)", title)
        if code is None:
            continue
        found: dict[str, str] = {}
        for language, body in BLOCK.findall(section):
            found.setdefault(language, body)
        blocks[code[1]] = found
    return helper, blocks


HELPER, BLOCKS = _page_blocks()
TOKEN_VARIABLES = {
    "DP-001": "PLATFORM_TOKEN",
    "LP-0001": "TRAINING_PROVIDER_TOKEN",
    "PP-001": "PAYMENT_PARTNER_TOKEN",
    "DISNAKER-1101": "REGIONAL_OFFICE_TOKEN",
    "PMO": "PROGRAM_MANAGEMENT_TOKEN",
}


def test_the_page_has_a_curl_and_a_javascript_block_per_partner_type() -> None:
    assert "connect()" in HELPER
    assert set(BLOCKS) == set(TOKEN_VARIABLES)
    for code, found in BLOCKS.items():
        assert {"sh", "js"} <= set(found), code


def _token(gateway: Gateway, partner: str) -> str:
    client_id, secret = gateway.credentials[partner]
    answer = httpx.post(
        f"{gateway.base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _user_environment(gateway: Gateway) -> dict[str, str]:
    """A user's shell: ``prakerja-gateway`` on PATH, pointed at this gateway's database (the
    demo's phone, ``outbox --otp``, reads it)."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("PRAKERJA_")
    }
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    environment["PRAKERJA_DATABASE_URL"] = gateway.database_url
    return environment


def _answers(output: str) -> list[dict[str, object]]:
    """Every JSON object printed (curl prints its answers back to back, without newlines)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, object]] = []
    at = 0
    while (at := output.find("{", at)) != -1:
        try:
            value, at = decoder.raw_decode(output, at)
        except ValueError:
            at += 1
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _curl(
    gateway: Gateway,
    section: str,
    partner: str,
    *,
    refusals: tuple[str, ...] = (),
    cwd: Path | None = None,
    **variables: str,
) -> list[dict[str, object]]:
    """Runs a section's curl block in bash as the page says to; every GraphQL answer it
    printed must be free of errors, but for the ``refusals`` the page shows on purpose."""
    environment = _user_environment(gateway)
    environment.update(
        BASE=gateway.base_url, **{TOKEN_VARIABLES[section]: _token(gateway, partner)}, **variables
    )
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", BLOCKS[section]["sh"]],  # noqa: S607 (a user's bash)
        env=environment,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr + gateway.log_tail()
    answers = [a for a in _answers(done.stdout) if "data" in a or "errors" in a]
    codes = [
        error["extensions"]["code"]  # type: ignore[index]
        for answer in answers
        for error in answer.get("errors", [])  # type: ignore[attr-defined]
    ]
    assert codes == list(refusals), (section, answers)
    return answers


def _data(answers: list[dict[str, object]], field: str) -> object:
    for answer in answers:
        data = answer.get("data")
        if isinstance(data, dict) and field in data:
            return data[field]
    raise AssertionError(f"no answer has {field}: {answers}")


def test_curl_platform_then_provider_walk_a_purchase_to_its_certificate(
    gateway: Gateway,
) -> None:
    sold = _curl(
        gateway,
        "DP-001",
        "DP-001",
        CARD_NUMBER=gateway.sale.cards[CARDS["curl"]],
        COURSE_CODE=gateway.sale.course_code,
        SCHEDULE_CODE=gateway.sale.schedule_code,
    )
    authorized: Any = _data(sold, "authorizePurchase")
    assert authorized["status"] == "SUCCESS"
    trained = _curl(
        gateway, "LP-0001", gateway.sale.provider_code, REDEEM_CODE=authorized["redeemCode"]
    )
    completed: Any = _data(trained, "submitCompletions")
    result = completed["results"][0]
    assert result["errors"] == [], result
    assert result["certificate"]["status"] == "VALID"


def _batches_create(gateway: Gateway) -> None:
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


def test_curl_payment_partner_pays_an_item(gateway: Gateway) -> None:
    _batches_create(gateway)
    payer = PAYERS["curl"]
    ready = httpx.post(
        f"{gateway.base_url}/graphql",
        json={
            "query": "{ disbursementBatches(status: READY, first: 1) { edges { node { "
            "items(first: 1) { edges { node { endToEndId } } } } } } }"
        },
        headers={"Authorization": f"Bearer {_token(gateway, payer)}"},
        timeout=30,
    ).json()
    batch = ready["data"]["disbursementBatches"]["edges"][0]["node"]
    end_to_end_id = batch["items"]["edges"][0]["node"]["endToEndId"]
    answers = _curl(
        gateway,
        "PP-001",
        payer,
        CARD_NUMBER=gateway.sale.cards[CARDS["curl"]],
        END_TO_END_ID=end_to_end_id,
    )
    acknowledged: Any = _data(answers, "acknowledgeBatch")
    assert acknowledged["status"] == "ACKNOWLEDGED"
    reported: Any = _data(answers, "reportDisbursementResults")
    assert reported["results"] == [
        {"endToEndId": end_to_end_id, "outcome": "APPLIED", "errors": []}
    ]


def test_curl_regional_office_registers(gateway: Gateway) -> None:
    answers = _curl(gateway, "DISNAKER-1101", "DISNAKER-1101")
    registered: Any = _data(answers, "registerParticipant")
    assert registered["channel"] == "OFFLINE"
    registrants: Any = _data(answers, "registrants")
    assert registrants["edges"]


@pytest.fixture(scope="module")
def node_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with graphql-request and graphql installed from the npm registry."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("the JavaScript quickstarts need node and npm on PATH; not found here")
    directory = tmp_path_factory.mktemp("js-quickstarts")
    (directory / "package.json").write_text('{"name": "quickstarts", "private": true}\n')
    installed = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "graphql-request",
            "graphql",
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return directory


def _node(gateway: Gateway, project: Path, section: str, partner: str, **variables: str) -> str:
    """Runs the page's token helper and a section's JavaScript block as ``quickstart.mjs``."""
    script = project / "quickstart.mjs"
    script.write_text(HELPER + "\n" + BLOCKS[section]["js"])
    client_id, secret = gateway.credentials[partner]
    environment = _user_environment(gateway)
    environment.update(
        PRAKERJA_BASE_URL=gateway.base_url, CLIENT_ID=client_id, CLIENT_SECRET=secret, **variables
    )
    done = subprocess.run(
        ["node", script.name],  # noqa: S607 (the user's node)
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr + gateway.log_tail()
    return done.stdout


def test_javascript_platform_then_provider_walk_a_purchase_to_its_certificate(
    gateway: Gateway, node_project: Path
) -> None:
    cli, _ = _cli(gateway.database_url)
    sold = _node(
        gateway,
        node_project,
        "DP-001",
        "DP-001",
        CARD_NUMBER=gateway.sale.cards[CARDS["js"]],
        COURSE_CODE=gateway.sale.course_code,
        SCHEDULE_CODE=gateway.sale.schedule_code,
        OTP_COMMAND=f"{cli} outbox --otp",
    )
    redeem = re.search(r"^REDEEM_CODE=(\S+)$", sold, re.M)
    assert redeem is not None, sold
    assert "enrollments, " in sold
    trained = _node(
        gateway, node_project, "LP-0001", gateway.sale.provider_code, REDEEM_CODE=redeem[1]
    )
    assert "status: 'VALID'" in trained, trained
    assert "errors: []" in trained, trained


def test_javascript_payment_partner_pays_a_batch(gateway: Gateway, node_project: Path) -> None:
    _batches_create(gateway)
    paid = _node(gateway, node_project, "PP-001", PAYERS["js"])
    assert paid.strip().splitlines()[-1] == "COMPLETED", paid


def test_javascript_regional_office_registers(gateway: Gateway, node_project: Path) -> None:
    counted = _node(gateway, node_project, "DISNAKER-1101", "DISNAKER-1101")
    assert "channel: 'OFFLINE'" in counted, counted
    assert "REGISTERED" in counted, counted


def test_curl_trusted_documents_register_call_by_id_and_refuse(
    gateway: Gateway, tmp_path: Path
) -> None:
    client_id, _ = gateway.credentials["DP-002"]
    answers = _curl(
        gateway,
        "PMO",
        "PMO",
        refusals=("DOCUMENT_NOT_REGISTERED",),
        cwd=tmp_path,
        PLATFORM_TOKEN=_token(gateway, "DP-002"),
        PLATFORM_CLIENT_ID=client_id,
    )
    registered: Any = _data(answers, "registerDocument")
    document = (tmp_path / "courses.graphql").read_bytes()
    assert registered["documentId"] == "sha256:" + hashlib.sha256(document).hexdigest()
    by_id = [a for a in answers if isinstance(a.get("data"), dict) and "courses" in a["data"]]
    assert len(by_id) == 3  # POST, GET and Apollo's hash
    assert all(len(a["data"]["courses"]["edges"]) == 5 for a in by_id)  # type: ignore[index]


def test_javascript_calls_a_registered_document_by_id(gateway: Gateway, node_project: Path) -> None:
    client_id, _ = gateway.credentials["DP-002"]
    document = "query Courses { courses(first: 5) { edges { node { code title price } } } }\n"
    registered = httpx.post(
        f"{gateway.base_url}/graphql",
        json={
            "query": "mutation($c: String!, $d: String!) "
            "{ registerDocument(clientId: $c, document: $d) { documentId } }",
            "variables": {"c": client_id, "d": document},
        },
        headers={"Authorization": f"Bearer {_token(gateway, 'PMO')}"},
        timeout=30,
    ).json()["data"]["registerDocument"]
    printed = _node(
        gateway, node_project, "PMO", "DP-002", DOCUMENT_ID=registered["documentId"]
    ).splitlines()
    answers = [json.loads(line) for line in printed]
    assert len(answers) == 2
    assert all(len(a["data"]["courses"]["edges"]) == 5 for a in answers), answers
