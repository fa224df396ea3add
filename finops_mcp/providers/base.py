"""The small interface every provider implements, and the plain data it exchanges with the engine.

A provider answers for one scope at a time; the service layer (finops_mcp/service.py) fans the
scopes out, caches, merges, ranks, compares periods and builds the reports. Provider methods are
blocking (they run in the fan-out pool) and receive a `CallContext` for cancellation, billed
request counting and retries. They raise `ScopeFailure` (or their SDK's errors, mapped by
`classify_error`) for failures confined to the scope.

Audit checks are small declarative units (`Check`): everything about a check in one place (id,
title, category, severity ladder, what it needs collected, the settings that tune it, the
permissions it uses) plus an `evaluate` function over a provider-specific context object, which
builds its findings with `check.finding(...)`. Each has its own test; docs/checks.md is held to
the catalog by tests/unit/test_check_catalog.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypedDict, TypeVar, runtime_checkable

from finops_mcp.engine.context import CallContext
from finops_mcp.models import CheckCategory, CostBasis, CostFilters, ErrorCode, Finding, Severity
from finops_mcp.periods import Span

CtxT = TypeVar("CtxT")


@dataclass(frozen=True)
class Scope:
    """Where data comes from: `aws:<account>`, `azure:<subscription>`, `focus:<dataset>`..."""

    provider: str
    kind: str  # the prefix of `id`: aws, azure, azure-mg, gcp, gcp-project, focus
    key: str  # account id, subscription id, dataset name...
    name: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class Filters:
    """Normalized filters (sorted tuples) so equal requests hash and cache equally."""

    services: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.services or self.accounts or self.regions or self.tags)

    @classmethod
    def from_model(cls, model: CostFilters | None) -> Filters:
        """The request's filters, deduplicated and sorted."""
        if model is None:
            return cls()
        return cls(
            services=tuple(sorted(set(model.services or ()))),
            accounts=tuple(sorted(set(model.accounts or ()))),
            regions=tuple(sorted(set(model.regions or ()))),
            tags=tuple(sorted((k, tuple(sorted(set(v)))) for k, v in (model.tags or {}).items())),
        )


@dataclass(frozen=True)
class CostQuery:
    """What one provider call must answer for one scope.

    `group_by` holds dimension names: service, account, region, resource, charge_category, or
    `tag:<key>`. Rows must carry exactly those keys (missing values as an empty string, which
    the report shows as '(none)'). For `granularity` daily/monthly every row carries the bucket
    start (the day, or the first day of the month); for total, `period_start` is None.

    `quantity` asks for each row's usage quantity too (`CostLine.quantity` / `unit`), where the
    source knows it in one unit for the whole row; providers that cannot leave it None.
    """

    span: Span
    granularity: str  # total | daily | monthly
    group_by: tuple[str, ...]
    cost_type: str  # billed | effective
    filters: Filters = Filters()
    quantity: bool = False


@dataclass(frozen=True)
class CostLine:
    keys: tuple[tuple[str, str], ...]  # ((dimension, value), ...) in group_by order
    cost: Decimal
    currency: str
    period_start: date | None = None
    quantity: Decimal | None = None  # usage quantity in `unit`, when asked for and known
    unit: str | None = None


@dataclass(frozen=True)
class ForecastLine:
    span: Span  # the forecast window (the whole period being forecast)
    amount: Decimal
    currency: str
    method: str


@dataclass(frozen=True)
class BudgetLine:
    """A budget as the provider knows it. The service computes status and percentages."""

    name: str
    period: str  # monthly | quarterly | annually | custom
    span: Span
    limit: Decimal | None
    actual: Decimal
    currency: str
    forecast: Decimal | None = None
    thresholds: tuple[float, ...] = ()  # percent of limit


@dataclass(frozen=True)
class AuditUnit:
    """One piece of audit work: a scope, optionally narrowed to a region."""

    scope: Scope
    region: str | None = None

    def __str__(self) -> str:
        return f"{self.scope.id}/{self.region}" if self.region else self.scope.id


COST_MEASURE = "estimated monthly cost"


@dataclass(frozen=True)
class Ladder:
    """How a check grades severity from one measure: the first step whose threshold the value
    reaches, else `otherwise`. `steps` run from the highest threshold down. A ladder on the
    estimated monthly cost (`COST_MEASURE`) is applied by `Check.finding` itself."""

    steps: tuple[tuple[Decimal | int, Severity], ...]
    otherwise: Severity
    measure: str = COST_MEASURE

    def grade(self, value: Decimal | float | int) -> Severity:
        for threshold, severity in self.steps:
            if value >= threshold:
                return severity
        return self.otherwise

    def describe(self) -> str:
        steps = ", ".join(f"`{sev}` from {threshold:,}" for threshold, sev in self.steps)
        return f"{steps}, else `{self.otherwise}` (by {self.measure})"


@dataclass(frozen=True)
class Param:
    """A named, documented threshold of a check: the `Settings` field (`FINOPS_<NAME>`) that sets
    it. Its default is the setting's default, so there is one value to document and test."""

    setting: str  # a Settings field name, e.g. "aws_snapshot_max_age_days"
    description: str

    @property
    def env(self) -> str:
        return f"FINOPS_{self.setting.upper()}"

    @property
    def default(self) -> Any:
        from finops_mcp.settings import Settings

        info = Settings.model_fields[self.setting]
        return info.get_default(call_default_factory=True)


class FindingOptions(TypedDict, total=False):
    """The keywords of `Check.finding` a provider context's `finding` passes through unchanged
    (each provider's context fills in the scope, region and currency its own way)."""

    severity: Severity | None
    cost_basis: CostBasis | None
    resource_type: str | None
    source: str | None


@dataclass(frozen=True)
class Check(Generic[CtxT]):
    """A declarative audit check: stable id, what it finds, how it grades and prices it, what it
    needs and may call, and how to evaluate it.

    `evaluate` receives the provider's check context (inventory, data connection, settings...)
    and yields `Finding`s built with `finding(...)`. Keep it a pure function of that context so it
    can be tested alone. `needs` names what the provider must collect for it (inventory kinds,
    recommenders); `permissions` the read permissions that takes, each listed in the provider's
    least-privilege policy (docs/providers/<provider>.md).
    """

    id: str  # <provider>.<service>.<condition>
    title: str
    description: str
    resource_type: str
    severity: Severity
    cost_basis: CostBasis
    recommendation: str
    evaluate: Callable[[CtxT], Iterable[Finding]] = field(compare=False, repr=False)
    category: CheckCategory = "waste"
    ladder: Ladder | None = None
    needs: frozenset[str] = frozenset()
    params: tuple[Param, ...] = ()
    permissions: tuple[str, ...] = ()
    source: str | None = None  # the cloud API its findings come from (native recommendation checks)

    @property
    def provider(self) -> str:
        return self.id.split(".", 1)[0]

    def describe(self) -> dict[str, Any]:
        """The check's declaration as JSON (the finops://checks resource, `finops-mcp-server checks`)."""
        ladder = self.ladder
        return {
            "id": self.id,
            "provider": self.provider,
            "title": self.title,
            "description": self.description,
            "resource_type": self.resource_type,
            "severity": self.severity,
            "category": self.category,
            "cost_basis": self.cost_basis,
            "recommendation": self.recommendation,
            "severity_ladder": None
            if ladder is None
            else {
                "measure": ladder.measure,
                "steps": [{"from": float(t), "severity": sev} for t, sev in ladder.steps],
                "otherwise": ladder.otherwise,
            },
            "needs": sorted(self.needs),
            "settings": [
                {"name": p.env, "default": _jsonable(p.default), "description": p.description}
                for p in self.params
            ],
            "permissions": list(self.permissions),
            "source": self.source,
        }

    def finding(
        self,
        *,
        scope: str,
        resource_id: str,
        detail: str,
        cost: Decimal,
        currency: str,
        region: str | None = None,
        resource_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        severity: Severity | None = None,
        cost_basis: CostBasis | None = None,
        resource_type: str | None = None,
        source: str | None = None,
    ) -> Finding:
        """A finding of this check. Severity: the one given, else the cost ladder's grade, else
        the check's; basis, resource type and source default to the check's."""
        if severity is None:
            cost_ladder = self.ladder is not None and self.ladder.measure == COST_MEASURE
            severity = self.ladder.grade(cost) if cost_ladder and self.ladder else self.severity
        return Finding(
            check=self.id,
            provider=self.provider,
            scope=scope,
            region=region,
            resource_id=resource_id,
            resource_type=resource_type or self.resource_type,
            resource_name=resource_name,
            detail=detail,
            estimated_monthly_cost=cost,
            cost_basis=cost_basis or self.cost_basis,
            currency=currency,
            severity=severity,
            category=self.category,
            recommendation=self.recommendation,
            tags=dict(tags or {}),
            source=source or self.source,
        )


# How a cloud's own recommendation is graded: by the monthly saving it estimates.
BY_SAVING = Ladder(((Decimal(100), "high"), (Decimal(20), "medium")), "low")


def inventory_check(
    check_id: str,
    title: str,
    description: str,
    resource_type: str,
    severity: Severity,
    recommendation: str,
    evaluate: Callable[[CtxT], Iterable[Finding]],
    needs: Iterable[str],
    permissions: tuple[str, ...],
    *,
    basis: CostBasis,
    ladder: Ladder | None,
    category: CheckCategory = "waste",
    params: tuple[Param, ...] = (),
    source: str | None = None,
) -> Check[CtxT]:
    """A check over what the provider collects (`needs`: inventory kinds or the cloud's own
    answers, read with `permissions`). A provider fixes its usual basis and ladder once, e.g.
    `partial(inventory_check, basis="list_price", ladder=BY_COST)`."""
    return Check(
        id=check_id,
        title=title,
        description=description,
        resource_type=resource_type,
        severity=severity,
        cost_basis=basis,
        recommendation=recommendation,
        evaluate=evaluate,
        category=category,
        ladder=ladder,
        needs=frozenset(needs),
        params=params,
        permissions=permissions,
        source=source,
    )


def native_check(
    check_id: str,
    title: str,
    description: str,
    resource_type: str,
    recommendation: str,
    evaluate: Callable[[CtxT], Iterable[Finding]],
    need: str,
    permissions: tuple[str, ...],
    source: str,
    *,
    category: CheckCategory,
    basis: CostBasis = "recommender",
    params: tuple[Param, ...] = (),
    also_needs: tuple[str, ...] = (),
) -> Check[CtxT]:
    """A check over one of the cloud's own answers (`need`, read with `permissions`; `also_needs`:
    other kinds it needs collected), medium by default and graded by the saving, its findings
    naming the `source` API."""
    return inventory_check(
        check_id,
        title,
        description,
        resource_type,
        "medium",
        recommendation,
        evaluate,
        (need, *also_needs),
        permissions,
        basis=basis,
        ladder=BY_SAVING,
        category=category,
        params=params,
        source=source,
    )


def one_per_resource(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per resource where a native recommendation (a finding with a `source`) and
    another `waste` finding name the same resource (provider, scope, resource id, case-insensitive):
    the larger monthly saving is kept (a tie keeps the native one), and its detail names the
    others, which are dropped, so no saving is counted twice. Other findings pass unchanged."""
    items = list(findings)
    groups: dict[tuple[str, str, str], list[int]] = {}
    for i, f in enumerate(items):
        if f.category == "waste" and f.resource_id:
            groups.setdefault((f.provider, f.scope, f.resource_id.lower()), []).append(i)
    drop: set[int] = set()
    for members in groups.values():
        if len(members) < 2 or not any(items[i].source for i in members):
            continue
        keep = max(members, key=lambda i: (items[i].estimated_monthly_cost, bool(items[i].source), -i))
        others = [items[i] for i in members if i != keep]
        also = "; ".join(f"{o.check} ({o.estimated_monthly_cost:,.2f} {o.currency}/month)" for o in others)
        kept = items[keep]
        items[keep] = kept.model_copy(
            update={"detail": f"{kept.detail} Also reported by {also}: counted once, here."}
        )
        drop.update(i for i in members if i != keep)
    return [f for i, f in enumerate(items) if i not in drop]


def _jsonable(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


@dataclass
class AuditResult:
    findings: list[Finding]
    checks_run: list[str]
    regions: list[str] = field(default_factory=list)

    def extend(self, other: AuditResult | None) -> AuditResult:
        """This result with `other`'s findings and checks run added (None adds nothing)."""
        if other is not None:
            self.findings += other.findings
            self.checks_run += other.checks_run
        return self


def checks_of(provider: str, checks: Sequence[Check[CtxT]]) -> list[Check[CtxT]]:
    """The checks among `checks` that belong to `provider`."""
    return [c for c in checks if c.provider == provider]


def needs_of(checks: Iterable[Check[Any]]) -> frozenset[str]:
    """Everything the checks need collected (inventory kinds, recommenders)."""
    return frozenset().union(*(c.needs for c in checks))


def run_checks(
    checks: Sequence[Check[CtxT]],
    context: CtxT,
    ctx: CallContext,
    regions: Iterable[str] = (),
    *,
    refused: Iterable[str] = (),
) -> AuditResult:
    """The one audit runner: each check evaluated on the context its provider built, stopping
    between checks when the call is cancelled. A check that needs something `refused` (say, a
    recommender the caller may not read) is not run, nor reported as run. The findings are
    de-duplicated across checks: one resource, one finding (`one_per_resource`)."""
    skip = frozenset(refused)
    findings: list[Finding] = []
    ran: list[str] = []
    for check in checks:
        if check.needs & skip:
            continue
        ctx.raise_if_cancelled()
        findings.extend(check.evaluate(context))
        ran.append(check.id)
    return AuditResult(findings=one_per_resource(findings), checks_run=ran, regions=list(regions))


@runtime_checkable
class Provider(Protocol):
    """What a cloud adapter implements. Construction must be cheap and must not call the cloud."""

    name: ClassVar[str]

    def scopes(self, ctx: CallContext) -> Sequence[Scope]:
        """The scopes this provider can answer for (may call the cloud, e.g. list accounts)."""
        ...

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]: ...

    def forecast(self, scope: Scope, query: CostQuery, ctx: CallContext) -> ForecastLine | None:
        """Forecast of the calendar month containing `query.span.end` (or None if unsupported)."""
        ...

    def budgets(self, scope: Scope, today: date, ctx: CallContext) -> list[BudgetLine]: ...

    def checks(self) -> Sequence[Check[Any]]: ...

    def audit_units(
        self, scope: Scope, regions: Sequence[str] | None, ctx: CallContext
    ) -> list[AuditUnit]: ...

    def audit(self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext) -> AuditResult: ...

    def classify_error(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        """Map an SDK exception to (code, retryable), or None to use the engine's defaults."""
        ...

    def describe(self) -> dict[str, Any]:
        """Configuration facts for the finops://providers resource (never secrets)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class PeriodsCost(Protocol):
    """Optional: a provider that answers one total-granularity CostQuery over several disjoint
    spans in a single query (FOCUS: one scan). The service uses it for `explain_change`'s deeper
    level (this period and the previous one); other providers get one cost() call per span."""

    def cost_periods(
        self, scope: Scope, query: CostQuery, spans: Sequence[Span], ctx: CallContext
    ) -> list[list[CostLine]]:
        """`query` over each of `spans` (its own `span` ignored): one list of lines per span."""
        ...


@runtime_checkable
class SpanAware(Protocol):
    """Optional: a provider that knows which days its data holds (FOCUS exports do).

    The service uses it to say when a period lies outside the data, to leave a previous period
    before the data's start unknown (null, not 0) and to report freshness (`meta.basis`)."""

    def data_span(self, scope: Scope, ctx: CallContext) -> Span | None:
        """First and last charge day of the scope's data; None when it holds no dated rows."""
        ...
