"""The `aws.*` checks of resources that bill by the hour but serve nothing: a load balancer with
no registered target, a NAT gateway that moved no bytes and an RDS DB instance with no connection
over the last 14 days (both from CloudWatch metrics the inventory gathers in one batched
`GetMetricData` request per region, see `inventory`).

Each is a `Check` over an `AwsCheckContext` (see `check_context`), priced at its hourly list price
(`cost_basis: list_price`).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from finops_mcp.models import Finding, Severity
from finops_mcp.providers.aws import inventory as inv
from finops_mcp.providers.aws.check_context import HIGH_MONTHLY, AwsCheckContext, hourly, money
from finops_mcp.providers.aws.prices import (
    PRICE_TABLE_VERSION,
    RDS_INSTANCE_HOUR_US_EAST_1,
    RDS_STORAGE_GB_MONTH,
)
from finops_mcp.providers.base import Check, Ladder

# ------------------------------------------------------------------------ aws.elb.idle_load_balancer


def evaluate_idle_load_balancer(ctx: AwsCheckContext) -> Iterator[Finding]:
    for lb in ctx.inventory.load_balancers:
        if lb.registered_targets:
            continue
        rate = ctx.prices.load_balancer_hour.get(lb.kind, ctx.prices.load_balancer_hour["application"])
        cost = hourly(rate)
        detail = (
            f"{lb.kind} load balancer {lb.name!r} has no registered targets; its hourly charge alone is "
            f"{rate} USD: {money(cost)} per month." + ctx.price_note()
        )
        yield ctx.finding(IDLE_LOAD_BALANCER, lb.id, detail, cost, name=lb.name, tags=lb.tags)


IDLE_LOAD_BALANCER: Check[AwsCheckContext] = Check(
    id="aws.elb.idle_load_balancer",
    title="Load balancer without targets",
    description="Application, network and gateway load balancers whose target groups hold no registered "
    "target (or that have none), and classic load balancers with no instance.",
    resource_type="load_balancer",
    severity="medium",
    cost_basis="list_price",
    recommendation="Delete it if nothing routes through it any more (check DNS records pointing at it "
    "first).",
    evaluate=evaluate_idle_load_balancer,
    needs=frozenset({inv.LOAD_BALANCERS}),
    permissions=inv.ELB_PERMISSIONS,
)


# ------------------------------------------------------------------------ aws.ec2.idle_nat_gateway


def evaluate_idle_nat_gateway(ctx: AwsCheckContext) -> Iterator[Finding]:
    cost = hourly(ctx.prices.nat_gateway_hour)
    for nat in ctx.inventory.nat_gateways:
        if nat.state != "available" or nat.bytes_14d is None or nat.bytes_14d > 0:
            continue
        age = ctx.days_since(nat.created)
        observed = inv.NAT_WINDOW_DAYS if age is None else min(inv.NAT_WINDOW_DAYS, age)
        young = age is not None and age < inv.NAT_WINDOW_DAYS
        window = f"in the {age} days since it was created" if young else f"in the last {observed} days"
        detail = (
            f"NAT gateway moved no bytes {window} (CloudWatch {' + '.join(inv.NAT_METRICS)}); its hourly "
            f"charge is {ctx.prices.nat_gateway_hour} USD: {money(cost)} per month." + ctx.price_note()
        )
        severity: Severity = "low" if young else "medium"
        yield ctx.finding(IDLE_NAT_GATEWAY, nat.id, detail, cost, severity=severity, tags=nat.tags)


IDLE_NAT_GATEWAY: Check[AwsCheckContext] = Check(
    id="aws.ec2.idle_nat_gateway",
    title="Idle NAT gateway",
    description="Available NAT gateways with no traffic over the last 14 days (CloudWatch "
    "BytesOutToDestination + BytesInFromDestination); low severity when younger than 14 days.",
    resource_type="nat_gateway",
    severity="medium",
    cost_basis="list_price",
    recommendation="Delete it (and release its Elastic IP) if no private subnet routes through it; "
    "consider VPC endpoints for AWS-service traffic.",
    evaluate=evaluate_idle_nat_gateway,
    needs=frozenset({inv.NAT_GATEWAYS}),
    permissions=("ec2:DescribeNatGateways", "cloudwatch:GetMetricData"),
)


# ------------------------------------------------------------------------ aws.rds.idle_instance


def evaluate_idle_database(ctx: AwsCheckContext) -> Iterator[Finding]:
    for db in ctx.inventory.databases:
        if db.status != "available" or db.max_connections_14d is None or db.max_connections_14d > 0:
            continue
        age = ctx.days_since(db.created)
        if age is not None and age < inv.RDS_WINDOW_DAYS:
            continue  # too young to call idle
        rate = RDS_INSTANCE_HOUR_US_EAST_1.get(db.instance_class)
        storage = RDS_STORAGE_GB_MONTH * db.storage_gb * (2 if db.multi_az else 1)
        compute = hourly(rate) * (2 if db.multi_az else 1) if rate is not None else None
        cost = storage + (compute or Decimal(0))
        priced = (
            f"{db.instance_class} {'Multi-AZ ' if db.multi_az else ''}at {rate} USD per hour plus "
            f"{db.storage_gb} GB of storage: {money(cost)} per month (MySQL/PostgreSQL us-east-1 list "
            f"prices, table {PRICE_TABLE_VERSION})"
            if compute is not None
            else f"{db.storage_gb} GB of storage: {money(cost)} per month; {db.instance_class} is not in "
            "the price table, its instance hours are not counted"
        )
        detail = (
            f"{db.engine} DB instance {db.id!r} had no connection in the last {inv.RDS_WINDOW_DAYS} days "
            f"(CloudWatch DatabaseConnections, daily maximum 0): {priced}."
        )
        yield ctx.finding(IDLE_DATABASE, db.arn, detail, cost, name=db.id, tags=db.tags)


IDLE_DATABASE: Check[AwsCheckContext] = Check(
    id="aws.rds.idle_instance",
    title="Idle RDS DB instance",
    description="Available RDS DB instances older than 14 days with no connection over the last 14 days "
    "(CloudWatch DatabaseConnections daily maximum, every instance of the region in one batched "
    "GetMetricData request); instances without datapoints are not judged. Priced at the instance-hour "
    "list price (Multi-AZ twice) plus General Purpose storage.",
    resource_type="rds_instance",
    severity="medium",
    cost_basis="list_price",
    recommendation="Take a final snapshot and delete it, or stop it (RDS restarts a stopped instance after "
    "7 days) while you find its owner.",
    evaluate=evaluate_idle_database,
    ladder=Ladder(((HIGH_MONTHLY, "high"),), "medium"),
    needs=frozenset({inv.DATABASES}),
    permissions=("rds:DescribeDBInstances", "cloudwatch:GetMetricData"),
)
