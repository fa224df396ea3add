"""`AwsCheckContext.finding`, the one builder of every aws.* finding: the context's defaults
(account scope, the unit's region, USD, the `Name` tag as name) and what a check may override."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from finops_mcp.providers.aws.check_context import AwsCheckContext, AwsFindingOptions
from finops_mcp.providers.aws.checks import UNATTACHED_VOLUME as CHECK  # graded high from 100 USD
from finops_mcp.providers.aws.inventory import Inventory

CTX = AwsCheckContext(
    inventory=Inventory(account_id="111122223333", region="eu-west-1"),
    now=datetime(2026, 11, 20, tzinfo=timezone.utc),
)


def test_defaults_come_from_the_context_and_the_check() -> None:
    f = CTX.finding(CHECK, "thing-1", "Idle.", Decimal("150"), tags={"Name": "web", "team": "data"})
    assert (f.check, f.scope, f.region) == ("aws.ebs.unattached_volume", "aws:111122223333", "eu-west-1")
    assert (f.resource_id, f.resource_name, f.resource_type) == ("thing-1", "web", "ebs_volume")
    assert (f.currency, f.cost_basis, f.source) == ("USD", "list_price", None)
    assert f.severity == "high" and f.estimated_monthly_cost == Decimal("150")  # graded by the cost ladder
    assert f.tags == {"Name": "web", "team": "data"} and f.detail == "Idle."
    cheap = CTX.finding(CHECK, "thing-2", "Idle.", Decimal("5"))
    assert cheap.severity == "medium" and cheap.resource_name is None and cheap.tags == {}


def test_a_check_overrides_name_region_currency_and_the_rest() -> None:
    options: AwsFindingOptions = {
        "region": "us-west-2",
        "currency": "EUR",
        "severity": "low",
        "cost_basis": "recommender",
        "resource_type": "other_thing",
        "source": "Cost Explorer",
    }
    f = CTX.finding(
        CHECK, "thing-1", "Idle.", Decimal("150"), name="given", tags={"Name": "tagged"}, **options
    )
    assert (f.resource_name, f.region, f.currency, f.severity) == ("given", "us-west-2", "EUR", "low")
    assert (f.cost_basis, f.resource_type, f.source) == ("recommender", "other_thing", "Cost Explorer")
    account_wide = CTX.finding(CHECK, "account-thing", "Idle.", Decimal(0), region=None)
    assert account_wide.region is None and account_wide.scope == "aws:111122223333"
