"""Read-only by construction: non-read requests are refused before they leave the process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.providers.gcp.clients import ReadOnlyViolation, check_request, classify
from tests.fakes.gcp_estate import ACCOUNT, GcpEstate
from tests.fakes.http import Reply
from tests.unit.gcp.conftest import billing_scope

BQ = "https://bigquery.googleapis.com/bigquery/v2/projects/p"


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "https://compute.googleapis.com/compute/v1/projects/p/aggregated/disks", None),
        ("POST", f"{BQ}/queries", {"query": "SELECT 1", "useLegacySql": False}),
        ("POST", f"{BQ}/queries", {"query": "-- cost\n  WITH a AS (SELECT 1) SELECT * FROM a;"}),
        ("POST", f"{BQ}/jobs", {"configuration": {"query": {"query": "SELECT 1"}}}),
        ("POST", f"{BQ}/jobs/job_1/cancel", None),
    ],
)
def test_reads_and_select_queries_pass(method: str, url: str, body: Any) -> None:
    check_request(method, url, json.dumps(body).encode() if body is not None else None)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "https://billingbudgets.googleapis.com/v1/billingAccounts/A/budgets", {"displayName": "x"}),
        ("DELETE", "https://compute.googleapis.com/compute/v1/projects/p/zones/z/disks/d", None),
        ("PATCH", "https://billingbudgets.googleapis.com/v1/billingAccounts/A/budgets/b", {}),
        ("POST", "https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances/vm/stop", None),
        ("POST", f"{BQ}/queries", {"query": "DELETE FROM `p.d.t` WHERE TRUE"}),
        ("POST", f"{BQ}/queries", {"query": "SELECT 1; DROP TABLE `p.d.t`"}),
        ("POST", f"{BQ}/queries", {"query": "SELECT 1", "destinationTable": {"tableId": "x"}}),
        ("POST", f"{BQ}/jobs", {"configuration": {"load": {"sourceUris": ["gs://x"]}}}),
        ("POST", f"{BQ}/jobs", {"configuration": {"query": {"query": "SELECT 1", "destinationTable": {}}}}),
        ("POST", f"{BQ}/datasets", {"datasetReference": {"datasetId": "x"}}),
        ("PUT", f"{BQ}/datasets/d/tables/t", {}),
    ],
)
def test_writes_are_refused(method: str, url: str, body: Any) -> None:
    with pytest.raises(ReadOnlyViolation) as err:
        check_request(method, url, json.dumps(body).encode() if body is not None else None)
    assert err.value.code == "forbidden" and "read-only" in err.value.message


def test_real_clients_refuse_writes_before_sending(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    estate.api.server.reset()
    estate.bq.server.reset()
    budgets = provider.clients.budgets()
    with pytest.raises(ReadOnlyViolation):
        budgets.create_budget(
            request={"parent": f"billingAccounts/{ACCOUNT}", "budget": {"display_name": "x"}}
        )
    disks = provider.clients.compute("disks")
    with pytest.raises(ReadOnlyViolation):
        disks.delete(project="alpha-prj", zone="us-central1-a", disk="orphan-1")
    bq = provider.clients.bigquery("billing-admin-prj")
    with pytest.raises(ReadOnlyViolation):
        bq.query_and_wait("DELETE FROM `billing-admin-prj.billing_export.t` WHERE TRUE")
    with pytest.raises(ReadOnlyViolation):
        bq.create_dataset("billing-admin-prj.new_dataset")
    # only the OAuth token exchange (google-auth's own session) reached a server
    assert [r.path for r in estate.api.server.calls("POST")] in ([], ["/token"])
    assert estate.api.server.calls("DELETE") == []
    assert [r.path for r in estate.bq.server.calls()] == []


def test_throttling_is_retried_with_the_shared_policy(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    fault = estate.api.server.fault(
        "GET",
        rf"/v1/billingAccounts/{ACCOUNT}/budgets",
        Reply.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", {"Retry-After": "0"}),
    )
    try:
        ctx = CallContext(retry_policy=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02))
        lines = provider.budgets(billing_scope(), estate.today, ctx)
    finally:
        estate.api.server.faults.remove(fault)
    assert fault.seen >= 2 and {b.name for b in lines} >= {"monthly-total"}


def test_classify_maps_google_errors() -> None:
    from google.api_core import exceptions as gexc

    assert classify(gexc.Forbidden("no")) == ("forbidden", False)
    assert classify(gexc.PermissionDenied("no")) == ("forbidden", False)
    assert classify(gexc.Forbidden("slow", errors=[{"reason": "rateLimitExceeded"}])) == ("throttled", True)
    assert classify(gexc.TooManyRequests("x")) == ("throttled", True)
    assert classify(gexc.NotFound("x")) == ("not_found", False)
    assert classify(gexc.Unauthorized("x")) == ("auth", False)
    assert classify(gexc.ServiceUnavailable("x")) == ("upstream", True)
    assert classify(ValueError("x")) is None


def test_importing_the_provider_does_not_import_the_google_sdk() -> None:
    code = (
        "import finops_mcp.providers.gcp.provider as m, sys; "
        "m.GcpProvider(__import__('finops_mcp.settings').settings.load_settings()); "
        "import finops_mcp.providers.gcp.checks; "
        "assert 'google.cloud' not in sys.modules and 'google.auth' not in sys.modules, "
        "[k for k in sys.modules if k.startswith('google')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
