"""run_finops_audit over the fake Compute / Recommender / Cloud Billing APIs with the real clients."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.models import RunAuditRequest
from finops_mcp.providers.gcp.checks import CHECKS
from finops_mcp.service import FinOpsService
from tests.fakes.gcp_estate import GcpEstate
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
    }
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
    assert len(disk_pages) == 3  # 6 disks, 2 per page
    assert [r.arg("pageToken") for r in disk_pages] == [None, "2", "4"]
