"""The `focus.*` audit checks: each a `Check` over a `FocusCheckContext`, tested on its own.

Audit window: the 30 days ending at the latest charge day in the dataset (not today: exports lag
by a day or more, and a sample or an archived export may end long ago). When the dataset covers
fewer than those 30 days, costs are scaled to 30 days and the detail says so. `focus.cost_spike`
also reads the `spike_baseline_days` days before the window.

Cost used: EffectiveCost (amortized: usage covered by a commitment still counts; a file without
EffectiveCost uses BilledCost). Untagged cost and spikes consider usage rows only
(ChargeCategory 'Usage' or empty): taxes, credits, purchases and adjustments carry no resource
tags and are not usage anomalies. Spikes also leave out recurring and one-time charges
(ChargeFrequency 'Recurring' / 'One-Time', e.g. a monthly support fee on the 1st).

Region filter (the audit unit's region): applies to every check. Rows without a region (e.g. a
global savings plan's unused rows) are only seen when no region is requested.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from finops_mcp.models import Finding, Severity
from finops_mcp.money import money
from finops_mcp.periods import Span
from finops_mcp.providers.base import Check, FindingOptions, Ladder, Param
from finops_mcp.providers.focus.executor import Runner
from finops_mcp.providers.focus.loader import TABLE, tags_of
from finops_mcp.providers.focus.queries import (
    HIGH_DAILY_EXCESS,
    MONTH_DAYS,
    NOT_SCHEDULED,
    USAGE_ONLY,
    ZERO,
    Where,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

WINDOW_DAYS = 30


def audit_window(last_day: date) -> Span:
    """The 30 days ending at the dataset's latest charge day."""
    return Span(last_day - timedelta(days=WINDOW_DAYS - 1), last_day)


@dataclass(frozen=True)
class FocusCheckContext:
    """What a FOCUS check evaluates: one dataset's data over the audit window."""

    cursor: Runner  # where the queries run (local DuckDB or a warehouse)
    dataset: str
    window: Span
    data_start: date  # the dataset's first charge day
    regions: tuple[str, ...] = ()
    required_tags: tuple[str, ...] = ()
    spike_factor: float = 2.0
    spike_min_daily_cost: Decimal = Decimal(25)
    spike_baseline_days: int = 14
    min_utilization: float = 90.0  # focus.commitment_utilization: percent
    min_coverage: float = 80.0  # focus.commitment_coverage: percent

    @property
    def scope(self) -> str:
        return f"focus:{self.dataset}"

    @property
    def covered(self) -> Span:
        """The part of the window that has data (the window, unless the dataset starts inside it)."""
        return Span(max(self.window.start, self.data_start), self.window.end)

    @property
    def month_factor(self) -> Decimal:
        return MONTH_DAYS / self.covered.days

    def where(self, start: date | None = None) -> Where:
        w = Where.days(start or self.window.start, self.window.end)
        return w.among("region", self.regions)

    def region_of(self, row_region: str | None) -> str | None:
        if len(self.regions) == 1:
            return self.regions[0]
        return row_region or None

    def finding(
        self,
        check: Check[Any],
        resource_id: str,
        detail: str,
        cost: Decimal,
        currency: str,
        *,
        region: str | None = None,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        **options: Unpack[FindingOptions],
    ) -> Finding:
        """`check.finding` in this dataset's scope, in the audited region, else in `region` (the
        grouped row's only region, `ONE_REGION`)."""
        return check.finding(
            scope=self.scope,
            region=self.region_of(region),
            resource_id=resource_id,
            resource_name=name,
            detail=detail,
            cost=cost,
            currency=currency,
            tags=tags,
            **options,
        )


# A grouped row's region: the one its rows share, else NULL (the finding names no region).
ONE_REGION = "CASE WHEN count(DISTINCT region) = 1 THEN arg_max(region, charge_day) END AS region"


def _basis(ctx: FocusCheckContext) -> str:
    if ctx.covered.days == WINDOW_DAYS:
        return f"{ctx.window.start}..{ctx.window.end}"
    return f"{ctx.covered.start}..{ctx.covered.end}, {ctx.covered.days} days scaled to 30"


def _tags(value: Any) -> dict[str, str]:
    return tags_of(value)


# ---------------------------------------------------------------------------------------------
# focus.untagged_cost
# ---------------------------------------------------------------------------------------------

NO_RESOURCE = "(no resource id)"


def evaluate_untagged_cost(ctx: FocusCheckContext) -> Iterator[Finding]:
    if not ctx.required_tags:
        return
    where = ctx.where().add(USAGE_ONLY)
    required = tuple(dict.fromkeys(ctx.required_tags))
    # one 0/1 column per required tag: 1 where the row lacks it (missing or empty)
    flags = ", ".join(
        f"CASE WHEN COALESCE(tag_value(tags, ?), '') = '' THEN 1 ELSE 0 END AS m{i}"
        for i in range(len(required))
    )
    sql = f"""
        SELECT res_key, currency, SUM(effective_cost) AS cost, bool_or(no_id) AS no_id,
               arg_max(resource_name, charge_day) AS name, arg_max(resource_type, charge_day) AS rtype,
               arg_max(service, charge_day) AS service, {ONE_REGION}, arg_max(tags, charge_day) AS tags,
               {", ".join(f"max(m{i}) AS m{i}" for i in range(len(required)))}
        FROM (
            SELECT COALESCE(resource_id, '{NO_RESOURCE} ' || COALESCE(service, '(no service)')) AS res_key,
                   resource_id IS NULL AS no_id, resource_name, resource_type, service, region, charge_day,
                   tags, COALESCE(currency, '') AS currency, effective_cost, {flags}
            FROM {TABLE}
            WHERE {where.sql}
        ) AS usage_rows
        WHERE {" + ".join(f"m{i}" for i in range(len(required)))} > 0
        GROUP BY 1, 2
        HAVING SUM(effective_cost) > 0
        ORDER BY cost DESC, res_key
    """
    for row in ctx.cursor.rows(sql, [*required, *where.params]):
        key, currency, cost, no_id, name, rtype, service, region, tags = row[:9]
        missing = sorted(t for t, flag in zip(required, row[9:], strict=True) if flag)
        monthly = cost * ctx.month_factor
        what = f"usage rows of service {service!r} without a ResourceId" if no_id else f"resource {key}"
        detail = (
            f"Missing required tag(s) {', '.join(missing)}: {what} cost {money(cost, currency)} "
            f"(effective cost, {_basis(ctx)})."
        )
        yield ctx.finding(
            UNTAGGED_COST,
            key,
            detail,
            monthly,
            currency,
            region=region,
            name=None if no_id else name,
            tags=_tags(tags),
            resource_type="service" if no_id else (rtype or "resource"),
        )


UNTAGGED_COST: Check[FocusCheckContext] = Check(
    id="focus.untagged_cost",
    title="Cost without required tags",
    description="Resources whose usage cost in the last 30 days of data lacks a tag listed in "
    "FINOPS_REQUIRED_TAGS (missing or empty). Rows without a ResourceId are grouped per service.",
    resource_type="resource",
    severity="low",
    cost_basis="billed_last_30_days",
    recommendation="Add the missing tags (or a tag policy / tag inheritance) so this cost can be allocated.",
    evaluate=evaluate_untagged_cost,
    category="governance",
    ladder=Ladder(((HIGH_DAILY_EXCESS, "medium"),), "low"),
    params=(Param("required_tags", "Tag keys every resource must carry (empty: nothing to check)."),),
)


# ---------------------------------------------------------------------------------------------
# focus.cost_spike
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeDay:
    day: date
    cost: Decimal
    baseline: Decimal

    @property
    def excess(self) -> Decimal:
        return self.cost - self.baseline


def find_spikes(
    daily: dict[date, Decimal],
    window: Span,
    data_start: date,
    factor: Decimal,
    min_excess: Decimal,
    baseline_days: int,
) -> list[SpikeDay]:
    """Days of `window` whose cost > factor x the mean of the `baseline_days` days before AND whose
    excess over that mean >= min_excess. Days without a row cost 0; a day whose baseline would reach
    before the dataset's first day is not judged (no full baseline)."""
    spikes: list[SpikeDay] = []
    day = max(window.start, data_start + timedelta(days=baseline_days))
    while day <= window.end:
        cost = daily.get(day, ZERO)
        total = sum((daily.get(day - timedelta(days=i), ZERO) for i in range(1, baseline_days + 1)), ZERO)
        baseline = total / baseline_days
        if cost > factor * baseline and cost - baseline >= min_excess:
            spikes.append(SpikeDay(day, cost, baseline))
        day += timedelta(days=1)
    return spikes


def evaluate_cost_spike(ctx: FocusCheckContext) -> Iterator[Finding]:
    start = max(ctx.data_start, ctx.window.start - timedelta(days=ctx.spike_baseline_days))
    where = ctx.where(start).add(USAGE_ONLY).add(NOT_SCHEDULED)
    sql = f"""
        SELECT COALESCE(provider_name, '') AS provider, COALESCE(service, '') AS service,
               COALESCE(currency, '') AS currency, charge_day, SUM(effective_cost) AS cost
        FROM {TABLE} WHERE {where.sql}
        GROUP BY 1, 2, 3, 4
    """
    series: dict[tuple[str, str, str], dict[date, Decimal]] = {}
    for provider, service, currency, day, cost in ctx.cursor.rows(sql, where.params):
        series.setdefault((provider, service, currency), {})[day] = cost if cost is not None else ZERO
    factor = Decimal(str(ctx.spike_factor))
    for (provider, service, currency), daily in sorted(series.items()):
        spikes = find_spikes(
            daily, ctx.window, ctx.data_start, factor, ctx.spike_min_daily_cost, ctx.spike_baseline_days
        )
        if spikes:
            yield _spike_finding(ctx, provider, service, currency, spikes)


def _spike_finding(
    ctx: FocusCheckContext, provider: str, service: str, currency: str, spikes: Sequence[SpikeDay]
) -> Finding:
    worst = max(spikes, key=lambda s: (s.excess, s.day))
    ratio = f"{worst.cost / worst.baseline:.1f}x" if worst.baseline > 0 else "no baseline cost"
    label = f"{service or '(no service)'}" + (f" ({provider})" if provider else "")
    detail = (
        f"{label}: {len(spikes)} spike day(s) in {ctx.window.start}..{ctx.window.end} "
        f"(effective usage cost above {ctx.spike_factor:g}x the trailing {ctx.spike_baseline_days}-day mean "
        f"and at least {money(ctx.spike_min_daily_cost, currency)} over it); worst {worst.day}: "
        f"{money(worst.cost, currency)} vs baseline {money(worst.baseline, currency)} "
        f"({ratio}, +{money(worst.excess, currency)})."
    )
    last = spikes[-1]
    if last.day == ctx.window.end:
        estimate = last.excess * MONTH_DAYS
        detail += (
            f" Still elevated on {last.day}, the last day of data: estimate = that day's excess "
            f"{money(last.excess, currency)} x 30 days."
        )
    else:
        estimate = sum((s.excess for s in spikes), ZERO)
        detail += f" Ended by {ctx.window.end}: estimate = the total excess over the spike days."
    return ctx.finding(
        COST_SPIKE,
        service or "(no service)",
        detail,
        estimate,
        currency,
        name=label,
        severity=SPIKE_LADDER.grade(worst.excess),
    )


SPIKE_LADDER = Ladder(((HIGH_DAILY_EXCESS, "high"),), "medium", "the worst day's excess")

COST_SPIKE: Check[FocusCheckContext] = Check(
    id="focus.cost_spike",
    title="Daily cost spike",
    description="A service's daily usage cost above FINOPS_SPIKE_FACTOR x its trailing "
    "FINOPS_SPIKE_BASELINE_DAYS-day mean, by at least FINOPS_SPIKE_MIN_DAILY_COST, in the last 30 days "
    "of data.",
    resource_type="service",
    severity="medium",
    cost_basis="billed_last_30_days",
    recommendation="Find what changed on the spike day (new resources, traffic, a deployment, a pricing "
    "change) and confirm it is expected; add a budget alert if it is not.",
    evaluate=evaluate_cost_spike,
    category="anomaly",
    ladder=SPIKE_LADDER,
    params=(
        Param("spike_factor", "A day is a spike above this factor x its trailing baseline mean."),
        Param("spike_min_daily_cost", "A spike day must also exceed that mean by at least this amount."),
        Param("spike_baseline_days", "Days of the trailing baseline."),
    ),
)


# ---------------------------------------------------------------------------------------------
# focus.unused_commitment
# ---------------------------------------------------------------------------------------------


def evaluate_unused_commitment(ctx: FocusCheckContext) -> Iterator[Finding]:
    where = ctx.where().add("commitment_id IS NOT NULL").add("commitment_status IS NOT NULL")
    sql = f"""
        SELECT commitment_id, COALESCE(currency, '') AS currency,
               SUM(effective_cost) FILTER (WHERE lower(commitment_status) = 'unused') AS unused,
               SUM(effective_cost) AS total,
               count(DISTINCT charge_day) FILTER (WHERE lower(commitment_status) = 'unused') AS days,
               arg_max(commitment_name, charge_day) AS name,
               {ONE_REGION}
        FROM {TABLE} WHERE {where.sql}
        GROUP BY 1, 2
        HAVING SUM(effective_cost) FILTER (WHERE lower(commitment_status) = 'unused') > 0
        ORDER BY unused DESC, commitment_id
    """
    for cid, currency, unused, total, days, name, region in ctx.cursor.rows(sql, where.params):
        monthly = unused * ctx.month_factor
        share = unused / total if total and total > 0 else Decimal(1)
        detail = (
            f"Commitment discount {cid}: unused portion cost {money(unused, currency)} (effective cost, "
            f"{_basis(ctx)}; unused on {days} day(s)), {share * 100:.0f}% of its "
            f"{money(total, currency)} commitment cost in the window."
        )
        severity = UNUSED_LADDER.grade(share)
        yield ctx.finding(
            UNUSED_COMMITMENT, cid, detail, monthly, currency, region=region, name=name, severity=severity
        )


UNUSED_LADDER = Ladder(((Decimal("0.5"), "high"),), "medium", "the unused share of its cost")

UNUSED_COMMITMENT: Check[FocusCheckContext] = Check(
    id="focus.unused_commitment",
    title="Unused commitment discount",
    description="Reservations / savings plans / committed use discounts with unused capacity "
    "(CommitmentDiscountStatus 'Unused') in the last 30 days of data, per CommitmentDiscountId.",
    resource_type="commitment_discount",
    severity="medium",
    cost_basis="billed_last_30_days",
    recommendation="Move eligible workloads onto the commitment (instance family, region, scope), exchange "
    "or sell it where the provider allows, and size renewals to the usage actually covered.",
    evaluate=evaluate_unused_commitment,
    category="waste",
    ladder=UNUSED_LADDER,
)


# ---------------------------------------------------------------------------------------------
# focus.commitment_utilization / focus.commitment_coverage
# ---------------------------------------------------------------------------------------------

FOCUS_SOURCE = "FOCUS CommitmentDiscountId / CommitmentDiscountStatus columns"
UTILIZATION = Param("commitment_min_utilization_pct", "Report commitments used less than this percent.")
COVERAGE = Param("commitment_min_coverage_pct", "Report services covered less than this percent.")


def _pct_below(part: Decimal, rest: Decimal, threshold: Decimal) -> Decimal | None:
    """The percent `part` is of `part + rest` (used of a commitment's cost, covered of a service's
    usage), when some of it is `rest` and the percent is below `threshold`; else None."""
    total = part + rest
    if total <= 0 or rest <= 0:
        return None
    pct = part * 100 / total
    return pct if pct < threshold else None


def evaluate_commitment_utilization(ctx: FocusCheckContext) -> Iterator[Finding]:
    where = ctx.where().add("commitment_id IS NOT NULL").add("commitment_status IS NOT NULL")
    sql = f"""
        SELECT commitment_id, COALESCE(currency, '') AS currency,
               COALESCE(SUM(effective_cost) FILTER (WHERE lower(commitment_status) = 'used'), 0) AS used,
               COALESCE(SUM(effective_cost) FILTER (WHERE lower(commitment_status) = 'unused'), 0) AS unused,
               arg_max(commitment_name, charge_day) AS name,
               {ONE_REGION}
        FROM {TABLE} WHERE {where.sql}
        GROUP BY 1, 2
        ORDER BY unused DESC, commitment_id
    """
    threshold = Decimal(str(ctx.min_utilization))
    for cid, currency, used, unused, name, region in ctx.cursor.rows(sql, where.params):
        pct = _pct_below(used, unused, threshold)
        if pct is None:
            continue
        total = used + unused
        detail = (
            f"Commitment discount {cid} was {pct:.1f}% used over {_basis(ctx)} (threshold {threshold:g}%): "
            f"{money(unused, currency)} of its {money(total, currency)} commitment cost went unused "
            f"({FOCUS_SOURCE}; effective cost). That money is counted once, as waste, by "
            "focus.unused_commitment."
        )
        monthly = unused * ctx.month_factor
        severity: Severity | None = "high" if pct < 50 else None
        yield ctx.finding(
            COMMITMENT_UTILIZATION,
            cid,
            detail,
            monthly,
            currency,
            region=region,
            name=name,
            severity=severity,
        )


COMMITMENT_UTILIZATION: Check[FocusCheckContext] = Check(
    id="focus.commitment_utilization",
    title="Commitment used below the threshold",
    description="Each CommitmentDiscountId whose used share of its effective cost (CommitmentDiscountStatus "
    "'Used' vs 'Unused') over the last 30 days of data is below FINOPS_COMMITMENT_MIN_UTILIZATION_PCT, "
    "with the unused part per month as its amount (category commitment: the same money is the waste "
    "focus.unused_commitment counts, so it is not added again).",
    resource_type="commitment_discount",
    severity="medium",
    cost_basis="billed_last_30_days",
    recommendation="Move eligible usage onto the commitment, exchange it where the provider allows, and size "
    "renewals to the usage actually covered.",
    evaluate=evaluate_commitment_utilization,
    category="commitment",
    ladder=Ladder(((Decimal(100), "high"), (Decimal(20), "medium")), "low"),
    params=(UTILIZATION,),
    source=FOCUS_SOURCE,
)


def evaluate_commitment_coverage(ctx: FocusCheckContext) -> Iterator[Finding]:
    where = ctx.where().add(USAGE_ONLY)
    sql = f"""
        SELECT COALESCE(provider_name, '') AS provider, service, COALESCE(currency, '') AS currency,
               COALESCE(SUM(effective_cost) FILTER (
                   WHERE commitment_id IS NOT NULL AND lower(COALESCE(commitment_status, 'used')) = 'used'
               ), 0) AS covered,
               COALESCE(SUM(effective_cost) FILTER (WHERE commitment_id IS NULL), 0) AS on_demand,
               count(DISTINCT commitment_id) AS commitments
        FROM {TABLE} WHERE {where.sql} AND service IS NOT NULL
        GROUP BY 1, 2, 3
        HAVING count(commitment_id) > 0
        ORDER BY on_demand DESC, provider, service
    """
    threshold = Decimal(str(ctx.min_coverage))
    for provider, service, currency, covered, on_demand, commitments in ctx.cursor.rows(sql, where.params):
        pct = _pct_below(covered, on_demand, threshold)
        if pct is None:
            continue
        total = covered + on_demand
        who = f"{provider} {service}".strip()
        detail = (
            f"{who}: commitments ({commitments}) covered {pct:.1f}% of {money(total, currency)} usage "
            f"over {_basis(ctx)} (threshold {threshold:g}%); {money(on_demand, currency)} ran without a "
            f"commitment discount ({FOCUS_SOURCE}). This is the spend a commitment could cover, not the "
            "saving."
        )
        resource_id = f"{provider or 'provider'}/{service}"
        monthly = on_demand * ctx.month_factor
        yield ctx.finding(
            COMMITMENT_COVERAGE, resource_id, detail, monthly, currency, name=service, resource_type="service"
        )


COMMITMENT_COVERAGE: Check[FocusCheckContext] = Check(
    id="focus.commitment_coverage",
    title="Service with commitment coverage below the threshold",
    description="Per provider and service where a commitment discount applies in the last 30 days of data: "
    "the share of usage cost covered by commitments (CommitmentDiscountId set) when below "
    "FINOPS_COMMITMENT_MIN_COVERAGE_PCT; the amount is the on-demand cost per month (category "
    "commitment: the spend a commitment could cover, not counted as waste).",
    resource_type="service",
    severity="low",
    cost_basis="billed_last_30_days",
    recommendation="Buy commitments (savings plans, reservations, committed use) for the steady part of the "
    "on-demand usage, after rightsizing; the provider's own purchase recommendation sizes them.",
    evaluate=evaluate_commitment_coverage,
    category="commitment",
    params=(COVERAGE,),
    source=FOCUS_SOURCE,
)


from finops_mcp.providers.focus.anomalies import DAILY_ANOMALY  # noqa: E402 (it types itself by this module)

CHECKS: tuple[Check[FocusCheckContext], ...] = (
    UNTAGGED_COST,
    COST_SPIKE,
    UNUSED_COMMITMENT,
    COMMITMENT_UTILIZATION,
    COMMITMENT_COVERAGE,
    DAILY_ANOMALY,
)
