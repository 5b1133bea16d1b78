"""A wrong setting stops start-up with a message naming the variable."""

from __future__ import annotations

import pytest

from core.db.database import Database
from core.settings import SettingsError, load_settings
from gateway.cli import main
from tests.support.gateway import make_client


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PRAKERJA_PORT", "not-a-port"),
        ("PRAKERJA_PORT", "70000"),
        ("PRAKERJA_DATABASE_URL", "mysql://root@localhost/x"),
        ("PRAKERJA_LOG_LEVEL", "LOUD"),
        ("PRAKERJA_PUBLIC_BASE_URL", "gateway.example"),
    ],
)
def test_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_cli_refuses_to_start_with_a_wrong_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PRAKERJA_PORT", "x")
    assert main(["serve"]) == 2
    assert "PRAKERJA_PORT" in capsys.readouterr().err


def test_public_base_url_follows_host_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKERJA_PORT", "18731")
    assert load_settings().public_base_url == "http://127.0.0.1:18731"
    monkeypatch.setenv("PRAKERJA_HOST", "0.0.0.0")  # noqa: S104
    assert load_settings().public_base_url == "http://127.0.0.1:18731"
    monkeypatch.setenv("PRAKERJA_PUBLIC_BASE_URL", "https://gateway.example/")
    assert load_settings().public_base_url == "https://gateway.example"


async def test_discovery_and_tokens_follow_the_port(database: Database) -> None:
    async with make_client(database, port=18731) as http:
        discovery = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert discovery["issuer"] == "http://127.0.0.1:18731"
    assert discovery["token_endpoint"].startswith("http://127.0.0.1:18731/")
