"""An in-process provider with configurable scopes, latency and failures.

Used by the service unit tests and by `make bench` (fan-out efficiency): it implements the real
Provider protocol, sleeps `latency` seconds per call (cooperatively cancellable) and derives its
cost lines deterministically from the request, so expected totals can be computed independently.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import ErrorCode, Finding
from finops_mcp.periods import Span, bucket_of
from finops_mcp.providers.base import (
    AuditResult,
    AuditUnit,
    BudgetLine,
    Check,
    CostLine,
    CostQuery,
    ForecastLine,
    Scope,
)


@dataclass
class FakeInventory:
    scope: Scope
    region: str | None
    items: list[dict[str, Any]]


def _idle_disks(inv: FakeInventory) -> list[Finding]:
    return [
        Finding(
            check="fake.disk.idle",
            provider="fake",
            scope=inv.scope.id,
            region=inv.region,
            resource_id=item["id"],
            resource_type="disk",
            detail="idle disk",
            estimated_monthly_cost=Decimal(str(item["cost"])),
            cost_basis="list_price",
            currency="USD",
            severity="medium",
            recommendation="delete it",
        )
        for item in inv.items
        if item.get("idle")
    ]


def _untagged(inv: FakeInventory) -> list[Finding]:
    return [
        Finding(
            check="fake.tagging.untagged",
            provider="fake",
            scope=inv.scope.id,
            region=inv.region,
            resource_id=item["id"],
            resource_type="disk",
            detail="no tags",
            category="governance",
            estimated_monthly_cost=Decimal(str(item["cost"])),
            cost_basis="billed_last_30_days",
            currency="USD",
            severity="low",
            recommendation="tag it",
        )
        for item in inv.items
        if not item.get("tags")
    ]


IDLE = Check(
    "fake.disk.idle", "Idle disk", "An idle disk.", "disk", "medium", "list_price", "Delete it.", _idle_disks
)
UNTAGGED = Check(
    "fake.tagging.untagged",
    "Untagged",
    "No tags.",
    "disk",
    "low",
    "billed_last_30_days",
    "Tag it.",
    _untagged,
    category="governance",
)


@dataclass
class FakeProvider:
    name: ClassVar[str] = "fake"
    scope_ids: Sequence[str] = ("a", "b")
    latency: float = 0.0
    fail: dict[str, tuple[ErrorCode, bool]] = field(default_factory=dict)  # scope key -> (code, retryable)
    currency: dict[str, str] = field(default_factory=dict)  # scope key -> currency (default USD)
    regions: Sequence[str] = ("r1", "r2")
    services: Sequence[str] = ("compute", "storage", "network", "db", "ai")
    billed_api: str | None = "fake.cost"
    calls: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _enter(self, what: str, scope: Scope, ctx: CallContext) -> None:
        with self._lock:
            self.calls.append((what, scope.key))
        if self.latency:
            ctx.cancel.wait(self.latency)
        ctx.raise_if_cancelled()
        if scope.key in self.fail:
            code, retryable = self.fail[scope.key]
            raise ScopeFailure(code, f"{scope.key} refused ({code})", retryable=retryable)

    def scopes(self, ctx: CallContext) -> list[Scope]:
        return [Scope("fake", "focus", key) for key in self.scope_ids]

    @staticmethod
    def daily_cost(scope_key: str, service: str, day: date) -> Decimal:
        """The truth: a deterministic cost per (scope, service, day)."""
        base = (sum(map(ord, scope_key)) % 7 + 1) * (sum(map(ord, service)) % 5 + 1)
        return Decimal(base) + Decimal(day.day) / Decimal(100)

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
        self._enter("cost", scope, ctx)
        if self.billed_api:
            ctx.count_billed(self.billed_api)
        totals: dict[tuple[Any, ...], Decimal] = {}
        day = query.span.start
        while day <= query.span.end:
            for service in self.services:
                if query.filters.services and service not in query.filters.services:
                    continue
                keys = tuple(
                    (d, service if d == "service" else scope.key if d == "account" else "")
                    for d in query.group_by
                )
                bucket = bucket_of(day, query.granularity)
                totals[(keys, bucket)] = totals.get((keys, bucket), Decimal(0)) + self.daily_cost(
                    scope.key, service, day
                )
            day = date.fromordinal(day.toordinal() + 1)
        cur = self.currency.get(scope.key, "USD")
        return [CostLine(keys, cost, cur, bucket) for (keys, bucket), cost in totals.items()]

    def forecast(self, scope: Scope, query: CostQuery, ctx: CallContext) -> ForecastLine | None:
        self._enter("forecast", scope, ctx)
        return ForecastLine(
            Span(query.span.start, query.span.end),
            Decimal("1000"),
            self.currency.get(scope.key, "USD"),
            "fake",
        )

    def budgets(self, scope: Scope, today: date, ctx: CallContext) -> list[BudgetLine]:
        self._enter("budgets", scope, ctx)
        span = Span(today.replace(day=1), today)
        return [
            BudgetLine(f"{scope.key}-over", "monthly", span, Decimal(100), Decimal(150), "USD", Decimal(200)),
            BudgetLine(f"{scope.key}-fcst", "monthly", span, Decimal(100), Decimal(50), "USD", Decimal(120)),
            BudgetLine(
                f"{scope.key}-warn",
                "monthly",
                span,
                Decimal(100),
                Decimal(55),
                "USD",
                Decimal(90),
                (50.0, 100.0),
            ),
            BudgetLine(f"{scope.key}-ok", "monthly", span, Decimal(100), Decimal(10), "USD", Decimal(20)),
            BudgetLine(f"{scope.key}-nolimit", "monthly", span, None, Decimal(10), "USD"),
        ]

    def checks(self) -> list[Check[Any]]:
        return [IDLE, UNTAGGED]

    def audit_units(self, scope: Scope, regions: Sequence[str] | None, ctx: CallContext) -> list[AuditUnit]:
        return [AuditUnit(scope, r) for r in (regions or self.regions)]

    def audit(self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext) -> AuditResult:
        self._enter("audit", unit.scope, ctx)
        items = [
            {"id": f"{unit.scope.key}-{unit.region}-d1", "idle": True, "cost": 40, "tags": {"team": "x"}},
            {"id": f"{unit.scope.key}-{unit.region}-d2", "idle": True, "cost": 5},
            {"id": f"{unit.scope.key}-{unit.region}-d3", "idle": False, "cost": 70, "tags": {"team": "y"}},
        ]
        inv = FakeInventory(unit.scope, unit.region, items)
        findings = [f for c in checks for f in c.evaluate(inv)]
        return AuditResult(findings, [c.id for c in checks], [unit.region] if unit.region else [])

    def classify_error(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"scopes": list(self.scope_ids)}

    def close(self) -> None:
        pass
