"""What every `aws.*` check works with: the `AwsCheckContext` it evaluates (one account x region
inventory, AWS's own recommendations, the audit settings) and the one way its findings are built
(`AwsCheckContext.finding`), priced in USD from the dated list-price table in `prices`.

The checks live in `checks` (inventory), `idle_checks` (resources that bill but serve nothing)
and `native_checks` (AWS's recommendations), each importing this module; `checks.CHECKS` lists
them all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from finops_mcp.models import Finding
from finops_mcp.money import HOURS_PER_MONTH
from finops_mcp.money import money as _money
from finops_mcp.providers.aws.commitments import Commitments
from finops_mcp.providers.aws.inventory import Inventory
from finops_mcp.providers.aws.optimization import RightsizingAnswer
from finops_mcp.providers.aws.prices import CURRENCY, RegionPrices, prices_for
from finops_mcp.providers.base import Check, FindingOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

HIGH_MONTHLY = Decimal(100)


class AwsFindingOptions(FindingOptions, total=False):
    """The keywords of `Check.finding` an AWS check may set beyond the context's defaults."""

    region: str | None  # default: the unit's region (None: account-wide)
    currency: str  # default: USD


@dataclass(frozen=True)
class AwsCheckContext:
    """What an AWS check evaluates: one account x region inventory, and the audit settings."""

    inventory: Inventory
    now: datetime
    required_tags: tuple[str, ...] = ()
    snapshot_max_age_days: int = 90
    rightsizing: RightsizingAnswer | None = None  # aws.rightsizing.*: the unit's recommendations
    commitments: Commitments | None = None  # aws.commitment.*: the account's (account-wide unit only)
    min_utilization: float = 90.0
    min_coverage: float = 80.0

    @property
    def scope(self) -> str:
        return f"aws:{self.inventory.account_id}"

    @property
    def prices(self) -> RegionPrices:
        return prices_for(self.inventory.region)

    def days_since(self, when: datetime | None) -> int | None:
        return None if when is None else max(0, (self.now - when).days)

    def price_note(self) -> str:
        return f" Priced at the {self.prices.basis()}."

    def finding(
        self,
        check: Check[Any],
        resource_id: str,
        detail: str,
        cost: Decimal,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Unpack[AwsFindingOptions],
    ) -> Finding:
        """`check.finding` in this account's scope, in the unit's region and in USD unless
        `options` say otherwise; the resource name defaults to its `Name` tag."""
        defaults: AwsFindingOptions = {"region": self.inventory.region, "currency": CURRENCY}
        return check.finding(
            scope=self.scope,
            resource_id=resource_id,
            resource_name=name if name is not None else (tags or {}).get("Name"),
            detail=detail,
            cost=cost,
            tags=tags,
            **(defaults | options),
        )


def money(value: Decimal) -> str:
    return _money(value, CURRENCY)


def hourly(rate: Decimal) -> Decimal:
    """An hourly rate as a monthly cost."""
    return rate * HOURS_PER_MONTH
