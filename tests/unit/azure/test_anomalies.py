"""azure.anomaly.daily_cost over planted Cost Management data (the fake ARM executes the queries the
real SDK sends): a planted spike is found and names its meter (volume, not rate); a weekly batch,
a month-start fee and a reservation purchase are not reported; a subscription that refuses (403)
is a note for that subscription while another one answers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.periods import utc_today
from finops_mcp.providers.azure.anomalies import DAILY_ANOMALY
from finops_mcp.providers.base import AuditUnit, Scope
from tests.fakes.azure_arm import SUB_PROD, FakeArm, Record
from tests.unit.anomaly_days import ordinary_day

SUB = "33333333-3333-4333-8333-333333333333"  # holds the planted ledger only
METERS = {  # meter -> (service, unit price)
    "D4s v5": ("Virtual Machines", Decimal("0.20")),
    "Protected Instances": ("Backup", Decimal("10")),
    "100 RU/s": ("Azure Cosmos DB", Decimal("0.008")),
    "Data Stored": ("Azure Cosmos DB", Decimal("0.25")),
}


def spike_day(today: date) -> date:
    return ordinary_day(today - timedelta(days=6))


def planted(day: date, spike: date) -> dict[str, Decimal]:
    return {
        "D4s v5": Decimal(480 if day.weekday() == 6 else 120),  # a Sunday batch every week
        "Protected Instances": Decimal(900 if day.day == 1 else 30),  # a monthly fee on the 1st
        "100 RU/s": Decimal(1040 if day == spike else 40),  # the planted spike: 26x the RU, same price
        "Data Stored": Decimal(10),
    }


def record(day: date, meter: str, cost: Decimal, charge_type: str = "Usage") -> Record:
    service, price = METERS[meter]
    resource = f"/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.test/things/{meter[:4]}"
    return Record(
        day, SUB, service, "westeurope", resource.lower(), "microsoft.test/things", charge_type,
        cost, cost, meter=meter, quantity=cost / price,
    )  # fmt: skip


@pytest.fixture()
def planted_ledger(arm: FakeArm) -> Iterator[date]:
    today = utc_today()
    spike = spike_day(today)
    added: list[Record] = []
    day = today - timedelta(days=130)
    while day < today:
        added += [record(day, meter, cost) for meter, cost in planted(day, spike).items()]
        day += timedelta(days=1)
    added.append(record(spike - timedelta(days=2), "D4s v5", Decimal(5000), charge_type="Purchase"))
    arm.ledger.extend(added)
    yield spike
    arm.ledger[:] = [r for r in arm.ledger if r.subscription != SUB]


def unit(subscription: str) -> AuditUnit:
    return AuditUnit(Scope("azure", "azure", subscription, detail={"regions": ()}))


def test_the_planted_spike_is_found_with_its_meter_and_nothing_else(
    make_provider: Callable[..., Any], arm: FakeArm, planted_ledger: date
) -> None:
    provider = make_provider()
    arm.server.reset()
    ctx = CallContext()
    result = provider.audit(unit(SUB), [DAILY_ANOMALY], ctx)
    assert result.checks_run == ["azure.anomaly.daily_cost"]
    [found] = result.findings
    assert found.scope == f"azure:{SUB}" and found.resource_id.endswith("/services/Azure Cosmos DB")
    assert f"worst {planted_ledger}: 1,050.00 USD vs a baseline of 50.00 USD" in found.detail
    expected = (
        "Driver: meter 100 RU/s (service Azure Cosmos DB) up +1,000.00 USD (volume +1,000.00, rate +0.00)"
    )
    assert expected in found.detail
    assert found.estimated_monthly_cost == Decimal(1000) and found.severity == "high"
    bodies = [c.json() for c in arm.server.calls("POST", r"/Microsoft.CostManagement/query")]
    first = {
        str(b) for b in bodies if b["dataset"]["grouping"] == [{"type": "Dimension", "name": "ServiceName"}]
    }
    meters = [b for b in bodies if len(b["dataset"]["grouping"]) == 2]
    assert len(first) == 1 and meters  # one series query (its pages re-POST it), one meter query
    assert all(b["type"] == "AmortizedCost" for b in bodies)
    assert {str(b["dataset"]["filter"]) for b in meters} == {
        str({"and": [
            {"dimensions": {"name": "ChargeType", "operator": "In", "values": ["Usage"]}},
            {"dimensions": {"name": "ServiceName", "operator": "In", "values": ["Azure Cosmos DB"]}},
        ]})
    }  # fmt: skip


def test_a_refusing_subscription_is_a_note_and_another_answers(
    make_provider: Callable[..., Any], arm: FakeArm, planted_ledger: date
) -> None:
    provider = make_provider()
    arm.forbidden.add(SUB)
    refused = CallContext()
    result = provider.audit(unit(SUB), [DAILY_ANOMALY], refused)
    assert result.findings == [] and result.checks_run == []
    [note] = [n for n in refused.notes if "azure.anomaly.daily_cost did not run" in n]
    assert note.startswith(f"azure:{SUB}: ") and "(forbidden)" in note
    healthy = provider.audit(unit(SUB_PROD), [DAILY_ANOMALY], CallContext())  # flat ledger: nothing
    assert healthy.checks_run == ["azure.anomaly.daily_cost"] and healthy.findings == []
