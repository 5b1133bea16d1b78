"""The loopback cluster (deploy/local/cluster.py), built once per xdist worker and shared by
every test of ``tests/deploy`` that worker runs: building it (initdb, seed, pg_basebackup,
three gateways) is the slow part, and each test leaves it as it found it.

The modules carry the ``deploy_cluster`` xdist group so that one worker runs them all and
one cluster is built. But pytest-xdist 3.8 marks a group by rewriting ``item._nodeid``,
which pytest 9 no longer reads (``Node.nodeid`` comes from ``_id``). Under pytest 9 the
tests are therefore spread over the workers, and each worker that runs one builds its own
cluster (at most one per worker, thanks to the session scope). Every test passes either way.
"""

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
        # Enough registrants that the purchase loads of every test in the session find a
        # fresh card each (a quiet machine buys faster than a loaded one).
        participants=2000,
        gateway_env_extra={"PRAKERJA_READ_REPLICA_MAX_LAG_SECONDS": MAX_LAG_SECONDS},
    )
    try:
        running.up()
        yield running
    finally:
        running.down()
        if not os.environ.get("PRAKERJA_KEEP_CLUSTER_DIR"):
            shutil.rmtree(base, ignore_errors=True)
