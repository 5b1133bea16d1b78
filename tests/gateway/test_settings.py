"""A wrong setting stops start-up with a message naming the variable."""

from __future__ import annotations

import pytest

from core.settings import SettingsError, load_settings
from gateway.cli import main


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
