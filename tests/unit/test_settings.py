"""Settings validation (``core/settings.py``): what each field accepts, refuses and normalises."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Settings, SettingsError, load_settings


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgres://u@h/db"),
        ("", None),  # an empty variable means: the embedded server
    ],
)
def test_database_url_must_be_postgresql(given: str, kept: str | None) -> None:
    assert Settings(database_url=given).database_url == kept


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///x.db", "h:5432/db"])
def test_other_databases_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="postgresql"):
        Settings(database_url=url)


def test_public_base_url_is_absolute_and_loses_its_trailing_slash() -> None:
    assert Settings(public_base_url="https://gw.example/").public_base_url == "https://gw.example"
    with pytest.raises(ValidationError):
        Settings(public_base_url="gw.example")


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [("port", 1, 65535), ("db_pool_size", 1, 200), ("access_token_ttl_seconds", 60, 86400)],
)
def test_numeric_bounds_are_inclusive(field: str, low: int, high: int) -> None:
    assert getattr(Settings(**{field: low}), field) == low
    assert getattr(Settings(**{field: high}), field) == high
    for wrong in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            Settings(**{field: wrong})


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        Settings().port = 1  # type: ignore[misc]


def test_every_problem_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRAKERJA_PORT", "0")
    monkeypatch.setenv("PRAKERJA_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "PRAKERJA_PORT" in str(caught.value)
    assert "PRAKERJA_LOG_FORMAT" in str(caught.value)


def test_without_a_master_key_one_is_made_once_per_data_directory(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.resolved_master_key()
    assert len(first) >= 32
    assert settings.resolved_master_key() == first
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0  # readable by the owner only
    assert Settings(data_dir=tmp_path / "other").resolved_master_key() != first
    assert Settings(master_key="given", data_dir=tmp_path).resolved_master_key() == b"given"


def test_compiled_reads_is_read_under_its_former_name_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PRAKERJA_COMPILED_READS", raising=False)
    monkeypatch.setenv("PRAKERJA_CATALOG_FAST_PATH", "false")
    with pytest.warns(DeprecationWarning, match="PRAKERJA_COMPILED_READS"):
        assert load_settings().compiled_reads is False
    # The new name wins when both are set, without a warning about the old one.
    monkeypatch.setenv("PRAKERJA_COMPILED_READS", "true")
    assert load_settings().compiled_reads is True
    monkeypatch.delenv("PRAKERJA_CATALOG_FAST_PATH")
    monkeypatch.setenv("PRAKERJA_COMPILED_READS", "false")
    assert load_settings().compiled_reads is False
