"""PostgreSQL stopped (``pg_ctl stop -m fast``) and started again under concurrent catalog
reads and purchases against a real ``serve`` process: every answer is a normal one or a
JSON 503 (``SERVICE_UNAVAILABLE``, an error id, ``Retry-After``), the same gateway serves
again afterwards, and no purchase is lost or doubled (``bench/outage.py`` does the work)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bench.outage import run_outage

# Starts a PostgreSQL server and a gateway process of its own (see test_serve_process.py).
pytestmark = pytest.mark.xdist_group("own_servers")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_outage_under_load_gives_only_json_503s_and_loses_no_purchase(
    tmp_path: Path,
) -> None:
    report = await run_outage(
        tmp_path,
        port=_free_port(),
        participants=60,
        readers=2,
        buyers=2,
        before=2.0,
        down=3.0,
        after=4.0,
    )
    summary = "\n".join(report.lines())
    tally = report.tally
    assert report.failures == 0, summary
    assert tally.answers["down"]["unavailable"] > 0, summary
    assert tally.normal_after["catalog"] > 0 and tally.normal_after["purchase"] > 0, summary
    assert not report.gateway_restarted, summary
    assert tally.purchased, summary
    assert (report.lost, report.doubled, report.phantom, report.unanswered) == (0, 0, 0, 0), summary
    assert not tally.refused, summary
