"""The traps a newcomer fell into: a busy port, a lost outbox, fragments, tracebacks, logs."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.enums import PartnerType
from core.log_context import request_id_var
from core.settings import LogFormat, Settings
from gateway.cli import main
from gateway.demo_runtime import RunningDemo, demo_settings
from gateway.demo_wave import DemoSale
from gateway.observability import configure_logging
from gateway.progress import Progress
from gateway.walkthrough import curl_command, purchase_steps


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No running demo recorded, no database configured, an empty working directory."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.delenv("PRAKERJA_DATABASE_URL", raising=False)
    monkeypatch.delenv("PRAKERJA_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_second_demo_finds_the_port_busy_before_touching_anything(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        monkeypatch.setenv("PRAKERJA_PORT", str(occupant.getsockname()[1]))
        assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "is in use" in err
    assert "PRAKERJA_PORT" in err
    # No cluster, no master key: nothing was started or generated.
    assert not (isolated / ".prakerja").exists()


def test_outbox_elsewhere_says_where_it_looked_and_makes_no_cluster(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox"]) == 2
    err = capsys.readouterr().err
    assert str(isolated / ".prakerja" / "pgdata") in err
    assert "running-demo.json" in err
    assert "Traceback" not in err
    assert not (isolated / ".prakerja" / "pgdata").exists()


def test_a_failing_command_answers_without_a_traceback(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {
        **os.environ,
        "XDG_STATE_HOME": str(isolated / "state"),
        # Nothing listens on port 1: the command fails to connect.
        "PRAKERJA_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "outbox"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "prakerja-gateway outbox failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_printed_requests_are_whole_documents_that_run_in_a_shell() -> None:
    sale = DemoSale("1234567890123456", "C-1", "SCH-1", 500000, "LP-0001")
    steps = purchase_steps(sale)
    command = curl_command("http://127.0.0.1:18731", steps[1])
    assert command.startswith("REDEEM_CODE=$(curl -s -w")
    assert "http://127.0.0.1:18731/graphql" in command
    # The shell turns the printed argument back into the JSON body, filling in the variables.
    body_argument = command.split(" -d ", 1)[1].split(" | tee", 1)[0]
    shell = subprocess.run(
        ["/bin/bash", "-c", f"printf %s {body_argument}"],
        env={"PAYMENT_TOKEN": "pt-1", "OTP": "123456"},
        capture_output=True,
        text=True,
        check=True,
    )
    body = json.loads(shell.stdout)
    assert body["query"].startswith("mutation Authorize(")
    assert "redeemCode" in body["query"]
    assert body["variables"] == {"input": {"paymentToken": "pt-1", "otp": "123456"}}
    assert steps[0].caller is PartnerType.PLATFORM
    assert steps[-1].variables["input"] == {
        "redeemCode": "$REDEEM_CODE",
        "sequence": 999,
        "score": 85,
    }


def test_text_access_lines_keep_method_path_status_and_duration() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", LogFormat.TEXT)
    stream = io.StringIO()
    root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    token = request_id_var.set("req-1")
    try:
        logging.getLogger("gateway.access").info(
            "request", extra={"method": "POST", "path": "/graphql", "status": 200, "ms": 4.2}
        )
    finally:
        request_id_var.reset(token)
        root.handlers[:], root.level = handlers, level
        logging.getLogger("uvicorn.access").disabled = False
    line = stream.getvalue()
    for field in ("method=POST", "path=/graphql", "status=200", "ms=4.2", "request_id=req-1"):
        assert field in line


def test_progress_is_plain_lines_off_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("seeding", 100, stream=stream) as progress:
        for _ in range(100):
            progress.advance()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines[0].startswith("seeding: 0/100")
    assert lines[-1].startswith("seeding: 100/100 (100%)")
    assert len(lines) == 11


def test_progress_gives_each_named_step_its_line_off_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("seeding", 10, stream=stream) as progress:
        progress.advance(0.5, "partners and catalog")
        progress.advance(0.25, "indexes set aside")
        progress.advance(9.25, "figures")
    lines = stream.getvalue().splitlines()
    assert [line.split(" s ", 1)[-1] for line in lines[1:]] == [
        "partners and catalog",
        "indexes set aside",
        "figures",
    ]
    assert lines[-1].startswith("seeding: 10/10 (100%)")


def test_the_walkthrough_keys_secrets_with_the_running_demos_master_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from another directory, `demo --walkthrough` writes its clients' secrets keyed
    with the demo's master key, or the demo refuses them (invalid_client)."""
    demo_dir = tmp_path / "demo"
    demo_dir.mkdir()
    (demo_dir / "master.key").write_text("the-demo-key")
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRAKERJA_MASTER_KEY", raising=False)
    settings = Settings(data_dir=elsewhere)
    running = RunningDemo(
        pid=1, data_dir=str(demo_dir), database_url="postgresql://x/y", base_url="http://x"
    )
    assert settings.resolved_master_key() != b"the-demo-key"
    assert demo_settings(settings, running).resolved_master_key() == b"the-demo-key"
    # An operator's explicit key is kept.
    keyed = Settings(data_dir=elsewhere, master_key="explicit")
    assert demo_settings(keyed, running).resolved_master_key() == b"explicit"
