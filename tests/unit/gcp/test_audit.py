"""run_finops_audit over the fake Compute / Recommender / Cloud Billing APIs with the real clients."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.models import RunAuditRequest
from finops_mcp.providers.gcp.checks import CHECKS
from finops_mcp.service import FinOpsService
from tests.fakes.gcp_estate import GcpEstate
from tests.fakes.http import Reply
from tests.unit.gcp.conftest import billing_scope, gcp_settings, project_scope


def test_billing_account_audit_fans_out_to_its_billing_enabled_projects(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    units = provider.audit_units(billing_scope(), None, CallContext())
    assert [str(u) for u in units] == [
        "gcp-project:alpha-prj",
        "gcp-project:beta-prj",
        "gcp-project:gamma-prj",
    ]
    regional = provider.audit_units(
        project_scope("alpha-prj"), ["us-central1", "europe-west1"], CallContext()
    )
    assert [str(u) for u in regional] == [
        "gcp-project:alpha-prj/us-central1",
        "gcp-project:alpha-prj/europe-west1",
    ]


def test_project_audit_finds_and_prices_waste(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider()
    ctx = CallContext()
    result = provider.audit(units_of(provider, "alpha-prj"), CHECKS, ctx)
    by = {(f.check, f.resource_name): f for f in result.findings}
    assert set(by) == {
        ("gcp.compute.idle_vm", "vm-running"),
        ("gcp.compute.idle_disk", "idle-disk"),
        ("gcp.compute.idle_address", "ip-idle"),
        ("gcp.compute.stopped_instance_disks", "vm-stopped"),
        ("gcp.compute.unattached_disk", "orphan-1"),
        ("gcp.compute.unattached_disk", "orphan-eu"),
        ("gcp.compute.unused_address", "ip-reserved"),
        ("gcp.compute.unused_address", "ip-global"),
        ("gcp.compute.old_snapshot", "snap-old"),
        ("gcp.rightsizing.machine_type", "vm-big"),
        ("gcp.rightsizing.cloudsql_idle", "sql-idle"),
        ("gcp.rightsizing.cloudsql_overprovisioned", "sql-big"),
        ("gcp.rightsizing.idle_image", "old-image"),  # kept over gcp.compute.unused_image (1.50)
        ("gcp.compute.unused_image", "stale-image"),
        ("gcp.commitment.usage", "general-purpose-e2-cud"),
        ("gcp.commitment.usage", "memory-optimized-cud"),
        ("gcp.commitment.usage", "general-purpose-n2-cud"),
    }
    image = by[("gcp.rightsizing.idle_image", "old-image")]
    assert "Also reported by gcp.compute.unused_image (1.50 USD/month)" in image.detail
    stale = by[("gcp.compute.unused_image", "stale-image")]
    assert (stale.estimated_monthly_cost, stale.cost_basis) == (Decimal("2.5"), "list_price")
    assert stale.region is None and "family web" in stale.detail and "deprecated" in stale.detail
    sql = by[("gcp.rightsizing.cloudsql_idle", "sql-idle")]
    assert sql.resource_id == "projects/alpha-prj/instances/sql-idle" and sql.region == "us-central1"
    assert sql.source == "Google Recommender google.cloudsql.instance.IdleRecommender"
    assert sql.estimated_monthly_cost == Decimal(80) and sql.cost_basis == "recommender"
    cud = by[("gcp.commitment.usage", "general-purpose-e2-cud")]
    assert cud.category == "commitment" and cud.estimated_monthly_cost == Decimal(120)
    assert by[("gcp.rightsizing.machine_type", "vm-big")].source.endswith("MachineTypeRecommender")
    assert by[("gcp.compute.idle_vm", "vm-running")].estimated_monthly_cost == Decimal("45.5")
    assert by[("gcp.compute.idle_disk", "idle-disk")].estimated_monthly_cost == Decimal(10)  # 20 per 60 days
    assert by[("gcp.compute.stopped_instance_disks", "vm-stopped")].estimated_monthly_cost == Decimal(
        "39.000"
    )
    assert all(f.scope == "gcp-project:alpha-prj" for f in result.findings)
    assert sorted(result.checks_run) == sorted(c.id for c in CHECKS)
    assert result.regions == ["europe-west1", "us-central1"]
    # recommender asked only where resources are; DISMISSED recommendations left out (filter)
    calls = estate.api.server.calls("GET", r"/projects/alpha-prj/locations/")
    assert {c.path.split("/")[5] for c in calls} == {
        "us-central1-a",
        "us-central1-b",
        "europe-west1-b",
        "us-central1",
        "europe-west1",  # Cloud SQL / committed use: every region of the project's Compute resources
        "global",
    }


def test_region_unit_only_sees_that_region(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider()
    (unit,) = provider.audit_units(project_scope("alpha-prj"), ["europe-west1"], CallContext())
    result = provider.audit(unit, CHECKS, CallContext())
    assert [(f.check, f.resource_name) for f in result.findings] == [
        ("gcp.compute.unattached_disk", "orphan-eu")
    ]
    assert result.regions == ["europe-west1"]


def test_recommender_refused_keeps_compute_findings(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider()
    ctx = CallContext()
    result = provider.audit(units_of(provider, "gamma-prj"), CHECKS, ctx)
    assert [f.resource_name for f in result.findings] == ["gamma-orphan"]
    assert (
        "gcp.compute.idle_disk" not in result.checks_run
        and "gcp.compute.unattached_disk" in result.checks_run
    )
    assert any("Recommender refused" in n for n in ctx.notes)
    asked = {"gcp.rightsizing.cloudsql_idle", "gcp.commitment.usage", "gcp.rightsizing.idle_image"}
    assert not asked & set(result.checks_run)  # (no running VM there: machine types never asked)
    assert any("roles/recommender.cloudsqlViewer" in n for n in ctx.notes)


def test_throttled_recommender_pages_are_retried(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider(max_retries=3)
    pattern = (
        r"/v1/projects/alpha-prj/locations/us-central1/recommenders/"
        r"google\.cloudsql\.instance\.IdleRecommender/recommendations"
    )
    estate.api.server.fault(
        "GET",
        pattern,
        Reply.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", {"Retry-After": "0"}),
        times=1,
    )
    ctx = CallContext(retry_policy=RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01))
    checks = [c for c in CHECKS if c.id == "gcp.rightsizing.cloudsql_idle"]
    result = provider.audit(units_of(provider, "alpha-prj"), checks, ctx)
    assert [f.resource_name for f in result.findings] == ["sql-idle"]
    assert len(estate.api.server.calls("GET", pattern)) >= 2


def test_configured_regions_are_where_regional_recommenders_are_asked(
    make_provider: Callable[..., Any], estate: GcpEstate
) -> None:
    provider = make_provider(gcp_recommender_regions=["asia-east1"])
    estate.api.server.reset()
    checks = [c for c in CHECKS if c.id == "gcp.commitment.usage"]
    result = provider.audit(units_of(provider, "alpha-prj"), checks, CallContext())
    assert result.findings == [] and result.checks_run == ["gcp.commitment.usage"]
    calls = estate.api.server.calls("GET", r"/projects/alpha-prj/")
    assert [c.path.split("/")[5] for c in calls] == ["asia-east1"]  # no Compute listing needed


async def test_a_project_that_answers_403_gives_a_partial_result(estate: GcpEstate, adc: None) -> None:
    service = FinOpsService(gcp_settings(estate))
    try:
        report = await service.run_audit(RunAuditRequest(checks=["gcp"]))
    finally:
        service.close()
    assert [(e.scope, e.code) for e in report.errors] == [("gcp-project:beta-prj", "forbidden")]
    assert {f.scope for f in report.findings} == {"gcp-project:alpha-prj", "gcp-project:gamma-prj"}
    assert report.summary.scopes_scanned == 3 and report.summary.estimated_monthly_waste > 0
    assert report.summary.by_check["gcp.compute.idle_vm"].count == 1


def units_of(provider: Any, project: str) -> Any:
    (unit,) = provider.audit_units(project_scope(project), None, CallContext())
    return unit


def test_compute_lists_are_paged(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    provider = make_provider()
    estate.api.server.reset()
    provider.audit(units_of(provider, "alpha-prj"), CHECKS, CallContext())
    disk_pages = estate.api.server.calls("GET", r"/projects/alpha-prj/aggregated/disks")
    assert len(disk_pages) == 4  # 7 disks, 2 per page
    assert [r.arg("pageToken") for r in disk_pages] == [None, "2", "4", "6"]
    cud = estate.api.server.calls(
        "GET", r"/alpha-prj/locations/us-central1/recommenders/google\.compute\.commitment"
    )
    assert [r.arg("pageToken") for r in cud] == [None, "2"]  # 3 recommendations, 2 per page
    images = estate.api.server.calls("GET", r"/compute/v1/projects/alpha-prj/global/images")
    assert [r.arg("pageToken") for r in images] == [None, "2", "4"]  # 5 images, 2 per page


def test_image_list_throttled_then_refused(make_provider: Callable[..., Any], estate: GcpEstate) -> None:
    import pytest

    provider = make_provider()
    estate.api.server.fault(
        "GET",
        r"/compute/v1/projects/alpha-prj/global/images",
        Reply.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", {"Retry-After": "1"}),
    )
    sleeps: list[float] = []
    ctx = CallContext(retry_policy=RetryPolicy(max_retries=3, sleep=sleeps.append))
    checks = [c for c in CHECKS if c.id == "gcp.compute.unused_image"]
    found = provider.audit(units_of(provider, "alpha-prj"), checks, ctx).findings
    assert {f.resource_name for f in found} == {"old-image", "stale-image"}  # without the recommender
    assert sleeps == [1.0]
    with pytest.raises(Exception) as info:  # the 403 project: its audit fails, as the scope's error
        provider.audit(units_of(provider, "beta-prj"), checks, CallContext())
    assert provider.classify_error(info.value) == ("forbidden", False)
