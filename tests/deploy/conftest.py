"""The loopback cluster (deploy/local/cluster.py), built once per xdist worker and shared by
every module of ``tests/deploy`` (they share the ``deploy_cluster`` xdist group, so one
worker runs them all): building it (initdb, seed, pg_basebackup, three gateways) is the slow
part, and each module leaves it as it found it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.cluster import Cluster

# Long enough that a test pausing the replica's replay still finds it usable for reads of
# clients with nothing pending; the fault tests stop the replica instead, which the monitor
# sees at its next sample whatever the bound.
MAX_LAG_SECONDS = "60"


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="prakerja-cluster-"))
    running = Cluster(
        base,
        gateways=3,
        participants=200,
        gateway_env_extra={"PRAKERJA_READ_REPLICA_MAX_LAG_SECONDS": MAX_LAG_SECONDS},
    )
    try:
        running.up()
        yield running
    finally:
        running.down()
        if not os.environ.get("PRAKERJA_KEEP_CLUSTER_DIR"):
            shutil.rmtree(base, ignore_errors=True)
