"""``prakerja-gateway certificates rotate-key``: certificates signed before the rotation still
verify (the JWKS keeps the retired key, ``POST /certificates/verify``, the offline example
script), new ones carry the new kid, and the rotation is audited. Committed data: the
command runs in its own process-like transaction, as an operator would run it."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from core.db import migrate
from core.db.database import Database
from gateway.cli import main
from gateway.seed import seed_database
from tests.support.certificates import item, submit, trained
from tests.support.databases import DatabaseFactory
from tests.support.gateway import TEST_MASTER_KEY, Tokens, make_client


@pytest.fixture(scope="module")
async def live_database(databases: DatabaseFactory) -> AsyncIterator[Database]:
    url = await databases.create("certificate_key")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_database(url, participants=200)
    database = Database.connect(url, pool_size=4)
    yield database
    await database.dispose()


def _part(jwt: str, index: int) -> dict:
    segment = jwt.split(".")[index]
    decoded: dict = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return decoded


async def _offline(
    http: httpx.AsyncClient, jwt: str, tmp_path: Path, repo_root: Path, name: str
) -> subprocess.CompletedProcess[str]:
    """The example script, given only the published JWKS and status lists."""
    (tmp_path / f"{name}.jwt").write_text(jwt)
    (tmp_path / "jwks.json").write_text((await http.get("/certificates/jwks.json")).text)
    lists = []
    for entry in _part(jwt, 1)["credentialStatus"]:
        response = await http.get(urlsplit(entry["statusListCredential"]).path)
        assert response.status_code == 200, response.text
        path = tmp_path / f"{name}-{entry['statusPurpose']}.jwt"
        path.write_text(response.text)
        lists += ["--status-list", str(path)]
    return await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            str(repo_root / "examples" / "verify_certificate.py"),
            str(tmp_path / f"{name}.jwt"),
            "--jwks",
            str(tmp_path / "jwks.json"),
            *lists,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


async def test_a_certificate_signed_before_a_rotation_still_verifies_and_new_ones_use_the_new_key(
    live_database: Database,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    repo_root: Path,
) -> None:
    async with make_client(live_database) as http:
        tokens = Tokens(http, live_database)
        sale, (first_code, second_code) = await trained(tokens, live_database, count=2)
        (before,) = await submit(tokens, sale.provider_code, [item(first_code)])
        old_jwt = before["certificate"]["credential"]
        old_kid = _part(old_jwt, 0)["kid"]

        monkeypatch.setenv("PRAKERJA_DATABASE_URL", live_database.url)
        monkeypatch.setenv("PRAKERJA_MASTER_KEY", TEST_MASTER_KEY)
        assert await asyncio.to_thread(main, ["certificates", "rotate-key"]) == 0

        (after,) = await submit(tokens, sale.provider_code, [item(second_code)])
        new_jwt = after["certificate"]["credential"]
        new_kid = _part(new_jwt, 0)["kid"]
        assert new_kid != old_kid

        published = (await http.get("/certificates/jwks.json")).json()["keys"]
        assert {old_kid, new_kid} <= {key["kid"] for key in published}

        for name, jwt, kid in (("old", old_jwt, old_kid), ("new", new_jwt, new_kid)):
            verified = (await http.post("/certificates/verify", json={"credential": jwt})).json()
            assert verified["valid"] is True and verified["kid"] == kid, verified
            offline = await _offline(http, jwt, tmp_path, repo_root, name)
            assert offline.returncode == 0 and offline.stdout.startswith("VALID"), offline

        # The old certificate's public answer is still the credential it was issued with.
        number = before["certificate"]["number"]
        served = await http.get(f"/certificates/{number}", headers={"accept": "application/vc+jwt"})
        assert served.text == old_jwt

    async with live_database.sessionmaker() as session:
        audited = (
            await session.execute(
                text(
                    "SELECT entity_id, before, after, detail FROM audit_log"
                    " WHERE action = 'certificate.key_rotated'"
                )
            )
        ).one()
    assert audited.entity_id == new_kid
    assert audited.before == {"active": old_kid}
    assert audited.after == {"active": new_kid, "retired": old_kid}
    assert audited.detail["operator"]
