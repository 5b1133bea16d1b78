"""The Grafana dashboard only charts metrics the gateway exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from gateway import metrics


def test_dashboard_queries_name_exported_metrics(repo_root: Path) -> None:
    dashboard = json.loads((repo_root / "deploy" / "grafana" / "prakerja-gateway.json").read_text())
    exported = {
        "prakerja_requests_total",
        "prakerja_request_duration_seconds_bucket",
        "prakerja_graphql_errors_total",
        "prakerja_db_pool_in_use",
        "prakerja_db_pool_kept",
        "prakerja_db_pool_waits_total",
        "prakerja_cache_lookups_total",
        "prakerja_rate_limited_total",
        "prakerja_outbox_backlog",
        "prakerja_outbox_oldest_age_seconds",
        "prakerja_query_cost_bucket",
        # Registered through metrics.register_collector by the compiled-read branch.
        "prakerja_compiled_fallbacks_total",
    }
    assert metrics.REQUESTS._name == "prakerja_requests"
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"prakerja_[a-z_]+", target["expr"]):
                assert name in exported, (panel["title"], name)
