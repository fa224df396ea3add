"""get_cost with explain_change: the service orchestration over a real FOCUS export with planted
changes, and over a fake provider that cannot break down by resource (fallback, counting)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import GetCostRequest
from finops_mcp.providers.base import CostLine, CostQuery, Scope
from finops_mcp.providers.focus.provider import FocusProvider
from finops_mcp.service import FinOpsService
from finops_mcp.settings import load_settings
from tests.fakes.provider import FakeProvider
from tests.unit.focus.conftest import make_settings
from tests.unit.focus.planted import CURRENT, write_planted

D = Decimal


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> FinOpsService:
    base = write_planted(tmp_path_factory.mktemp("planted"))
    provider = FocusProvider(make_settings(focus_paths=[f"planted={base}/*"]))
    return FinOpsService(load_settings(), today=lambda: date(2024, 5, 6), providers={"focus": provider})


def request(**extra: Any) -> GetCostRequest:
    return GetCostRequest(start_date=CURRENT[0], end_date=CURRENT[1], explain_change=True, **extra)


async def test_planted_changes_are_the_top_drivers_with_kinds_amounts_and_rate(
    planted: FinOpsService,
) -> None:
    report = await planted.get_cost(request())
    assert report.previous_period is not None
    assert (report.previous_period.start, report.previous_period.end) == (date(2024, 3, 11), date(2024, 4, 7))
    assert report.drivers is not None
    top = [(d.dimension, d.key, d.kind, d.previous_cost, d.cost, d.change) for d in report.drivers]
    assert top == [
        ("service", "Amazon Bedrock", "new", D(0), D(840), D(840)),
        ("service", "Amazon S3", "up", D(1120), D(1904), D(784)),
        ("service", "Amazon Redshift", "gone", D(280), D(0), D(-280)),
        ("resource", "i-d", "new", D(0), D(140), D(140)),
        ("resource", "i-a", "up", D(280), D(370), D(90)),
    ]
    s3 = report.drivers[1]
    assert (s3.volume_effect, s3.rate_effect, s3.usage_unit) == (D(0), D(784), "GB-Mo")
    assert s3.previous_quantity == s3.quantity == D(11200)
    assert s3.change_pct == pytest.approx(70.0)
    ia = report.drivers[4]
    assert ia.within == {"service": "Amazon EC2"}
    assert (ia.volume_effect, ia.rate_effect) == (D(90), D(0))
    assert report.drivers[0].volume_effect is None  # new: no previous rate
    assert report.drivers_explained_pct == 100.0
    # the steady weekly and monthly patterns did not move
    assert {d.key for d in report.drivers}.isdisjoint({"AWS Lambda", "AWS Backup"})
    assert report.total - report.previous_total == sum(d.change for d in report.drivers)
    # FOCUS answers both periods of the deeper level in one scan
    assert any(
        "explain_change: 1 more cost query (service x resource for 1 scope(s))" in n
        for n in report.meta.notes
    )


async def test_drivers_serialise_within_budget_and_stay_bounded(planted: FinOpsService) -> None:
    report = await planted.get_cost(request(group_by=["resource"]))
    assert report.drivers is not None and len(report.drivers) <= 10
    assert any("no deeper level" in n for n in report.meta.notes)
    data = report.model_dump(mode="json")
    assert data["drivers"][0]["change"] == 840.0 and isinstance(data["drivers_explained_pct"], float)


async def test_account_breaks_down_by_service(planted: FinOpsService) -> None:
    report = await planted.get_cost(request(group_by=["account"]))
    assert report.drivers is not None
    assert [(d.dimension, d.key, d.within) for d in report.drivers[:2]] == [
        ("service", "Amazon Bedrock", {"account": "012345678901"}),
        ("service", "Amazon S3", {"account": "012345678901"}),
    ]


async def test_without_explain_change_the_report_has_no_drivers(planted: FinOpsService) -> None:
    report = await planted.get_cost(GetCostRequest(start_date=CURRENT[0], end_date=CURRENT[1]))
    assert report.drivers is None and report.drivers_explained_pct is None


def test_explain_change_needs_compare_previous() -> None:
    with pytest.raises(ValidationError, match="compare_previous"):
        GetCostRequest(explain_change=True, compare_previous=False)


@dataclass
class NoResourceProvider(FakeProvider):
    """Like Cost Explorer outside its 14-day resource window: 'resource' is an invalid query (refused
    before any billed request); 'region' splits each service 3:1 over r1 / r2."""

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
        if "resource" in query.group_by:
            raise ScopeFailure("invalid_query", "resource-level data only covers the last 14 days")
        if "region" not in query.group_by:
            return super().cost(scope, query, ctx)
        plain = super().cost(
            scope, CostQuery(query.span, query.granularity, ("service",), query.cost_type), ctx
        )
        lines = []
        for line in plain:
            service = dict(line.keys)["service"]
            for region, share in (("r1", D("0.75")), ("r2", D("0.25"))):
                lines.append(
                    CostLine((("service", service), ("region", region)), line.cost * share, line.currency)
                )
        return lines


async def test_a_scope_that_cannot_go_to_resource_falls_back_to_region_and_counts_requests(
    tmp_path: Path,
) -> None:
    fake = NoResourceProvider()
    svc = FinOpsService(load_settings(), today=lambda: date(2026, 11, 21), providers={"fake": fake})
    report = await svc.get_cost(GetCostRequest(period="last_month", explain_change=True))
    assert report.errors == []
    # 2 scopes x (current + previous) for the rows, then 2 x 2 at service x region; resource was
    # refused before any billed call
    assert report.meta.billed_requests == {"fake.cost": 8}
    assert any("service x region for 2 scope(s)" in n and "fake.cost 4" in n for n in report.meta.notes)
    assert report.drivers and all(d.provider == "fake" for d in report.drivers)
    again = await svc.get_cost(GetCostRequest(period="last_month", explain_change=True))
    assert again.meta.cached is True and again.drivers == report.drivers


async def test_a_scope_that_cannot_break_down_at_all_keeps_requested_level_drivers() -> None:
    @dataclass
    class Flat(FakeProvider):
        def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
            if len(query.group_by) > 1:
                raise ScopeFailure("invalid_query", f"cannot group by {query.group_by[1]}")
            return super().cost(scope, query, ctx)

    svc = FinOpsService(load_settings(), today=lambda: date(2026, 11, 21), providers={"fake": Flat()})
    report = await svc.get_cost(GetCostRequest(period="last_month", explain_change=True))
    assert report.errors == []  # the breakdown failing is a note, not a failed scope
    assert report.drivers and {d.dimension for d in report.drivers} == {"service"}
    assert any("drivers stay at the requested grouping: cannot group by" in n for n in report.meta.notes)
