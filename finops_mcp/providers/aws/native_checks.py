"""The `aws.rightsizing.*` and `aws.commitment.*` checks: AWS's own recommendations (Cost
Optimization Hub, Compute Optimizer, Cost Explorer; see `optimization`) as findings, each priced
per month with AWS's own estimate and naming its `source` API.

Each hub recommendation lands in exactly one rightsizing check (`route`): Stop / Delete actions in
`aws.rightsizing.idle`, Graviton migrations in `aws.rightsizing.graviton`, the rest by resource
type. The provider de-duplicates them against the inventory checks (`base.one_per_resource`): a
stopped instance the hub says to delete is one finding, with the larger saving.

Purchase recommendations and coverage are category `commitment` (shown, not added to
`estimated_monthly_waste`: AWS advises rightsizing before buying commitments, so the two savings
overlap); unused commitments are `waste`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from finops_mcp.models import CheckCategory, CostBasis, Finding
from finops_mcp.money import money
from finops_mcp.providers.aws import optimization as opt
from finops_mcp.providers.aws.check_context import AwsCheckContext
from finops_mcp.providers.aws.commitments import Purchase, Utilization
from finops_mcp.providers.aws.optimization import Rightsizing
from finops_mcp.providers.base import Check, Param, native_check

HUB_PERMISSION = "cost-optimization-hub:ListRecommendations"
CO_PERMISSIONS = {
    "ec2_instance": "compute-optimizer:GetEC2InstanceRecommendations",
    "ebs_volume": "compute-optimizer:GetEBSVolumeRecommendations",
    "lambda_function": "compute-optimizer:GetLambdaFunctionRecommendations",
}
UTILIZATION = Param("commitment_min_utilization_pct", "Report commitments used less than this percent.")
COVERAGE = Param("commitment_min_coverage_pct", "Report eligible spend covered less than this percent.")
ROUTES = {
    "Ec2Instance": "ec2_instance",
    "Ec2AutoScalingGroup": "ec2_instance",
    "EbsVolume": "ebs_volume",
    "LambdaFunction": "lambda_function",
    "EcsService": "ecs_service",
    "RdsDbInstance": "rds_instance",
    "RdsDbInstanceStorage": "rds_instance",
    "AuroraDbClusterStorage": "rds_instance",
}
FALLBACK_CHECKS = frozenset(f"aws.rightsizing.{name}" for name in CO_PERMISSIONS)


def route(rec: Rightsizing) -> str:
    """The id of the one check that reports `rec`."""
    if rec.action in ("Stop", "Delete"):
        return "aws.rightsizing.idle"
    if rec.action == "MigrateToGraviton":
        return "aws.rightsizing.graviton"
    return f"aws.rightsizing.{ROUTES.get(rec.resource_type, 'other')}"


def _detail(rec: Rightsizing) -> str:
    change = f"{rec.current} -> {rec.recommended}" if rec.current or rec.recommended else rec.action
    parts = [
        f"{rec.source}: {rec.action} ({change}) saves ~{money(rec.monthly_saving, rec.currency)} per month"
    ]
    if rec.monthly_cost is not None:
        parts.append(f"of ~{money(rec.monthly_cost, rec.currency)} estimated monthly cost after the change")
    facts = []
    if rec.effort:
        facts.append(f"effort {rec.effort.lower()}")
    if rec.restart_needed is not None:
        facts.append("restart needed" if rec.restart_needed else "no restart")
    if rec.lookback_days:
        facts.append(f"{rec.lookback_days}-day lookback")
    text = " ".join(parts) + (f" ({', '.join(facts)})" if facts else "")
    return text + ", per AWS's own estimate."


def _rightsizing_check(
    name: str, title: str, what: str, recommendation: str, *, fallback: bool = False
) -> Check[AwsCheckContext]:
    check_id = f"aws.rightsizing.{name}"

    def evaluate(ctx: AwsCheckContext) -> Iterator[Finding]:
        answer = ctx.rightsizing
        if answer is None:
            return
        for rec in answer.recommendations:
            if route(rec) != check_id:
                continue
            yield ctx.finding(
                check,
                rec.resource_id or rec.recommendation_id,
                _detail(rec),
                rec.monthly_saving,
                tags=rec.tags,
                resource_type=None if name != "other" else rec.resource_type,
                currency=rec.currency,
                source=rec.source,
            )

    fallback_note = (
        " Where the hub is not enabled, Compute Optimizer's recommendations answer instead (a note says so)."
        if fallback
        else " Not available from the Compute Optimizer fallback (a note says so)."
    )
    check: Check[AwsCheckContext] = native_check(
        check_id,
        title,
        f"Cost Optimization Hub recommendations for {what}, priced with the hub's "
        "estimatedMonthlySavings." + fallback_note,
        {"idle": "resource", "graviton": "resource", "other": "resource"}.get(name, name),
        recommendation,
        evaluate,
        opt.HUB,
        (HUB_PERMISSION, *([CO_PERMISSIONS[name]] if fallback else [])),
        opt.HUB_SOURCE,
        category="waste",
    )
    return check


RIGHTSIZE_EC2 = _rightsizing_check(
    "ec2_instance",
    "EC2 instance to rightsize (AWS recommendation)",
    "EC2 instances and Auto Scaling groups (Rightsize, Upgrade, ScaleIn actions)",
    "Change the instance type (or the group's launch template) to the recommended one at a maintenance "
    "window; check the workload's peaks first.",
    fallback=True,
)
RIGHTSIZE_EBS = _rightsizing_check(
    "ebs_volume",
    "EBS volume to rightsize (AWS recommendation)",
    "EBS volumes (type, size, IOPS, throughput)",
    "Modify the volume as recommended (Elastic Volumes changes type, IOPS and throughput online).",
    fallback=True,
)
RIGHTSIZE_LAMBDA = _rightsizing_check(
    "lambda_function",
    "Lambda function memory to rightsize (AWS recommendation)",
    "Lambda functions (memory size)",
    "Set the function's memory to the recommended size and watch its duration.",
    fallback=True,
)
RIGHTSIZE_ECS = _rightsizing_check(
    "ecs_service",
    "ECS service to rightsize (AWS recommendation)",
    "ECS services on Fargate (task CPU and memory)",
    "Update the task definition's CPU / memory to the recommended sizes.",
)
RIGHTSIZE_RDS = _rightsizing_check(
    "rds_instance",
    "RDS database to rightsize (AWS recommendation)",
    "RDS DB instances and their storage, and Aurora cluster storage",
    "Modify the DB instance class or storage as recommended during a maintenance window.",
)
RIGHTSIZE_IDLE = _rightsizing_check(
    "idle",
    "Idle resource to stop or delete (AWS recommendation)",
    "idle resources of any type (Stop and Delete actions)",
    "Stop or delete the idle resource (snapshot or back it up first if its data may be needed).",
)
RIGHTSIZE_GRAVITON = _rightsizing_check(
    "graviton",
    "Workload to migrate to Graviton (AWS recommendation)",
    "migrations to Graviton (Arm) instance types (MigrateToGraviton action)",
    "Test the workload on the recommended Graviton type (Arm builds of its software), then migrate.",
)
RIGHTSIZE_OTHER = _rightsizing_check(
    "other",
    "Other resource to rightsize (AWS recommendation)",
    "resource types without a check of their own (e.g. DynamoDB tables, ElastiCache clusters)",
    "Apply the recommended configuration after checking the workload's needs.",
)


# ------------------------------------------------------------------------------- commitments


def _scope_window(ctx: AwsCheckContext) -> str:
    return ctx.commitments.window if ctx.commitments else ""


def _utilization_finding(
    check: Check[AwsCheckContext], ctx: AwsCheckContext, use: Utilization, api: str
) -> Finding:
    source = f"{opt.CE_SOURCE} {api}"
    detail = (
        f"{use.name or use.resource_id}{f' ({use.detail})' if use.detail else ''} was "
        f"{use.utilization_pct:.1f}% used over {_scope_window(ctx)} (threshold {ctx.min_utilization:g}%): "
        f"{money(use.unused_cost, 'USD')} of its {money(use.total_cost, 'USD')} commitment paid for "
        f"nothing ({source})."
    )
    return ctx.finding(
        check,
        use.resource_id,
        detail,
        use.unused_cost,
        name=use.name,
        region=use.region,
        severity="high" if use.utilization_pct < 50 else None,
        source=source,
    )


def evaluate_sp_utilization(ctx: AwsCheckContext) -> Iterator[Finding]:
    use = ctx.commitments.sp_utilization if ctx.commitments else None
    if use is not None and use.utilization_pct < Decimal(str(ctx.min_utilization)) and use.unused_cost > 0:
        yield _utilization_finding(SP_UTILIZATION, ctx, use, "GetSavingsPlansUtilization")


def evaluate_ri_utilization(ctx: AwsCheckContext) -> Iterator[Finding]:
    for use in ctx.commitments.ri_utilization if ctx.commitments else ():
        if use.utilization_pct < Decimal(str(ctx.min_utilization)) and use.unused_cost > 0:
            yield _utilization_finding(RI_UTILIZATION, ctx, use, "GetReservationUtilization")


def _commitment_check(
    name: str,
    title: str,
    description: str,
    recommendation: str,
    evaluate: Callable[[AwsCheckContext], Iterator[Finding]],
    need: str,
    permission: str,
    *,
    category: CheckCategory = "waste",
    basis: CostBasis = "billed_last_30_days",
    params: tuple[Param, ...] = (),
) -> Check[AwsCheckContext]:
    return native_check(
        f"aws.commitment.{name}",
        title,
        description,
        "savings_plan" if "savings_plans" in name else "reservation",
        recommendation,
        evaluate,
        need,
        (permission,),
        opt.CE_SOURCE,
        category=category,
        basis=basis,
        params=params,
    )


SP_UTILIZATION = _commitment_check(
    "savings_plans_utilization",
    "Savings Plans used below the threshold",
    "The account's Savings Plans utilization over the last 30 complete days (Cost Explorer "
    "GetSavingsPlansUtilization, filtered to the account) when below "
    "FINOPS_COMMITMENT_MIN_UTILIZATION_PCT; priced at the unused commitment. One billed request.",
    "Move eligible usage (any region / family for Compute Savings Plans) onto the commitment, and size the "
    "next purchase to the usage actually covered.",
    evaluate_sp_utilization,
    opt.CE_SP_UTILIZATION,
    "ce:GetSavingsPlansUtilization",
    params=(UTILIZATION,),
)
RI_UTILIZATION = _commitment_check(
    "ri_utilization",
    "Reservation used below the threshold",
    "Each reservation (GetReservationUtilization grouped by SUBSCRIPTION_ID, filtered to the account) "
    "used less than FINOPS_COMMITMENT_MIN_UTILIZATION_PCT over the last 30 complete days; priced at "
    "the cost of its unused hours. One billed request per page.",
    "Run matching instances on the reservation (type, platform, region, tenancy), exchange it (convertible "
    "RIs) or sell it on the RI Marketplace (standard EC2 RIs).",
    evaluate_ri_utilization,
    opt.CE_RI_UTILIZATION,
    "ce:GetReservationUtilization",
    params=(UTILIZATION,),
)


def evaluate_sp_coverage(ctx: AwsCheckContext) -> Iterator[Finding]:
    cov = ctx.commitments.sp_coverage if ctx.commitments else None
    if cov is None or cov.coverage_pct >= Decimal(str(ctx.min_coverage)) or cov.on_demand_cost <= 0:
        return
    source = f"{opt.CE_SOURCE} GetSavingsPlansCoverage"
    detail = (
        f"Savings Plans covered {cov.coverage_pct:.1f}% of {money(cov.total_cost, 'USD')} eligible spend "
        f"over {_scope_window(ctx)} (threshold {ctx.min_coverage:g}%): "
        f"{money(cov.on_demand_cost, 'USD')} ran at on-demand rates ({source}). This is the spend a "
        "commitment could cover, not the saving: see "
        "aws.commitment.savings_plans_purchase for AWS's estimate."
    )
    resource_id = f"savings-plans-coverage:{ctx.inventory.account_id}"
    yield ctx.finding(SP_COVERAGE, resource_id, detail, cov.on_demand_cost, region=None, severity="low")


SP_COVERAGE = _commitment_check(
    "savings_plans_coverage",
    "Savings Plans coverage below the threshold",
    "Share of Savings Plans-eligible spend (EC2, Fargate, Lambda) covered over the last 30 complete days "
    "(GetSavingsPlansCoverage, filtered to the account) when below FINOPS_COMMITMENT_MIN_COVERAGE_PCT; the "
    "amount is the on-demand spend left uncovered (category commitment: not counted as waste).",
    "Review aws.commitment.savings_plans_purchase and buy commitments for the steady part of the usage.",
    evaluate_sp_coverage,
    opt.CE_SP_COVERAGE,
    "ce:GetSavingsPlansCoverage",
    category="commitment",
    params=(COVERAGE,),
)


def _purchase_findings(
    check: Check[AwsCheckContext], ctx: AwsCheckContext, items: list[Purchase], api: str
) -> Iterator[Finding]:
    source = f"{opt.CE_SOURCE} {api}"
    for p in items:
        pct = f" ({p.saving_pct:.0f}% of the covered on-demand cost)" if p.saving_pct else ""
        upfront = f"; {money(p.upfront, p.currency)} upfront" if p.upfront else ""
        detail = (
            f"Buy {p.what}: saves ~{money(p.monthly_saving, p.currency)} per month{pct}{upfront}, per "
            f"{source} over the last 30 days of usage."
        )
        yield ctx.finding(
            check,
            p.resource_id,
            detail,
            p.monthly_saving,
            region=p.region,
            currency=p.currency,
            source=source,
        )


def evaluate_sp_purchase(ctx: AwsCheckContext) -> Iterator[Finding]:
    items = ctx.commitments.sp_purchases if ctx.commitments else []
    yield from _purchase_findings(SP_PURCHASE, ctx, items, "GetSavingsPlansPurchaseRecommendation")


def evaluate_ri_purchase(ctx: AwsCheckContext) -> Iterator[Finding]:
    items = ctx.commitments.ri_purchases if ctx.commitments else []
    yield from _purchase_findings(RI_PURCHASE, ctx, items, "GetReservationPurchaseRecommendation")


SP_PURCHASE = _commitment_check(
    "savings_plans_purchase",
    "Savings Plan to buy (AWS recommendation)",
    "Cost Explorer's Compute Savings Plans purchase recommendation for the account (1 year, no upfront, "
    "30-day lookback), priced with its EstimatedMonthlySavingsAmount (category commitment).",
    "Buy the recommended hourly commitment (or less, for headroom) after rightsizing.",
    evaluate_sp_purchase,
    opt.CE_SP_PURCHASE,
    "ce:GetSavingsPlansPurchaseRecommendation",
    category="commitment",
    basis="recommender",
)
RI_PURCHASE = _commitment_check(
    "ri_purchase",
    "Reservation to buy (AWS recommendation)",
    "Cost Explorer's reserved-instance purchase recommendations for RDS, ElastiCache, OpenSearch and "
    "Redshift (1 year, no upfront, 30-day lookback; EC2 is left to the Savings Plans recommendation), "
    "priced with their EstimatedMonthlySavingsAmount (category commitment). One billed request per "
    "service and page.",
    "Buy the recommended reservations for the steady part of the usage, after rightsizing.",
    evaluate_ri_purchase,
    opt.CE_RI_PURCHASE,
    "ce:GetReservationPurchaseRecommendation",
    category="commitment",
    basis="recommender",
)

NATIVE_CHECKS: tuple[Check[AwsCheckContext], ...] = (
    RIGHTSIZE_EC2,
    RIGHTSIZE_EBS,
    RIGHTSIZE_LAMBDA,
    RIGHTSIZE_ECS,
    RIGHTSIZE_RDS,
    RIGHTSIZE_IDLE,
    RIGHTSIZE_GRAVITON,
    RIGHTSIZE_OTHER,
    SP_UTILIZATION,
    RI_UTILIZATION,
    SP_COVERAGE,
    SP_PURCHASE,
    RI_PURCHASE,
)
