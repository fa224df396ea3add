"""The `azure.*` audit checks: each a `Check` over an `AzureCheckContext` (one subscription's
inventory, already narrowed to the requested regions, plus what Cost Management billed each
resource over the last 30 days), tested on its own.

Pricing (every finding): the resource's own cost over the last 30 days from ONE Cost Management
query per subscription grouped by ResourceId (`billed_last_30_days`); when it has none (created
recently, or the query was not allowed), the list price table in `prices` (`list_price`, table
version in its docstring); `unknown` with 0 when neither applies (e.g. a VM size missing from the
table). Resource ids are compared lower-cased: ARM ids are case-insensitive and Cost Management
returns them in a different case than the resource APIs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from finops_mcp.models import CostBasis, Finding
from finops_mcp.providers.azure import prices
from finops_mcp.providers.azure.advice import AdvisorItem, ReservationAdvice, SavingsPlanAdvice
from finops_mcp.providers.azure.anomalies import DAILY_ANOMALY
from finops_mcp.providers.azure.inventory import Disk, Inventory, PublicIp
from finops_mcp.providers.azure.native_checks import NATIVE_CHECKS
from finops_mcp.providers.azure.reservations import ReservationUse
from finops_mcp.providers.base import Check, Ladder, Param, inventory_check

DEALLOCATED_DAYS = 30  # azure.compute.deallocated_vm: parked longer than this
OLD_SNAPSHOT_DAYS = 90  # azure.compute.old_snapshot: older than this
HIGH_MONTHLY = Decimal(100)
ASR_REPLICA_TAG = "asr-replicadisk"  # Azure Site Recovery tags its replica disks with this key
ZERO = Decimal(0)


@dataclass(frozen=True)
class Price:
    amount: Decimal
    basis: CostBasis
    currency: str
    note: str

    @staticmethod
    def total(parts: list[Price], empty: Price) -> Price:
        """The sum of several resources' prices (`empty` when there is none). Mixed bases give
        list_price (part billed, part listed: an estimate); unknown parts count 0 and do not
        change a known basis."""
        if not parts:
            return empty
        known = {p.basis for p in parts if p.basis != "unknown"}
        basis: CostBasis = known.pop() if len(known) == 1 else ("list_price" if known else "unknown")
        amount = sum((p.amount for p in parts), ZERO)
        return Price(amount, basis, parts[0].currency, "; ".join(p.note for p in parts))


@dataclass(frozen=True)
class AzureCheckContext:
    scope: str  # azure:<subscription id>
    inventory: Inventory
    now: datetime
    billed: Mapping[str, tuple[Decimal, str]] = field(default_factory=dict)  # lower id -> 30-day cost
    billed_window: str | None = None  # e.g. "2026-10-02..2026-10-31"; None: no billed costs
    deallocated_days: int = DEALLOCATED_DAYS
    snapshot_days: int = OLD_SNAPSHOT_DAYS
    advisor: tuple[AdvisorItem, ...] | None = None  # azure.advisor.*: Advisor's Cost recommendations
    reservations: tuple[ReservationAdvice, ...] | None = None  # azure.commitment.reservation_purchase
    savings_plans: tuple[SavingsPlanAdvice, ...] | None = None  # azure.commitment.savings_plan_purchase
    reservation_uses: tuple[ReservationUse, ...] | None = None  # azure.commitment.reservation_utilization
    min_utilization: float = 90.0  # percent

    def price(self, resource_id: str, list_price: Decimal | None, what: str = "list price") -> Price:
        """Billed cost over the last 30 days if Cost Management has any, else the list price."""
        billed = self.billed.get(resource_id.lower())
        if billed is not None:
            return Price(
                billed[0],
                "billed_last_30_days",
                billed[1],
                f"billed {billed[0]:.2f} {billed[1]} in {self.billed_window}",
            )
        if list_price is not None:
            return Price(
                list_price,
                "list_price",
                prices.PRICE_CURRENCY,
                f"{what} {list_price:.2f} USD/month (price table {prices.PRICE_TABLE_VERSION})",
            )
        return Price(ZERO, "unknown", prices.PRICE_CURRENCY, "no billed cost and no list price known")

    def disk_price(self, disk: Disk) -> Price:
        return self.price(disk.id, prices.disk_monthly(disk.sku, disk.size_gb), f"{disk.sku} disk list price")

    def ip_price(self, ip: PublicIp) -> Price:
        return self.price(
            ip.id, prices.public_ip_monthly(ip.sku), f"{ip.sku or 'Basic'} public IP list price"
        )

    def age_days(self, when: datetime | None) -> int | None:
        return None if when is None else (self.now - when).days


def _finding(
    check: Check[Any],
    ctx: AzureCheckContext,
    resource: Any,  # an inventory dataclass: id, name, location, tags
    detail: str,
    price: Price,
    resource_type: str | None = None,
) -> Finding:
    return check.finding(
        scope=ctx.scope,
        resource_type=resource_type,
        region=resource.location or None,
        resource_id=resource.id,
        resource_name=resource.name,
        detail=f"{detail} Estimate: {price.note}.",
        cost=price.amount,
        cost_basis=price.basis,
        currency=price.currency,
        tags=resource.tags,
    )


BY_COST = Ladder(((HIGH_MONTHLY, "high"),), "medium")
READ_BILLED = "Microsoft.CostManagement/query/action"  # the 30-day billed cost per resource (optional)


# A check over the subscription's inventory, priced by the resource's billed cost (Cost Management,
# hence READ_BILLED among its permissions) with the list price as fallback, graded by cost.
_inventory_check = partial(inventory_check, basis="billed_last_30_days", ladder=BY_COST)


# ---------------------------------------------------------------------------------------------


def evaluate_stopped_vm(ctx: AzureCheckContext) -> Iterator[Finding]:
    for vm in ctx.inventory.vms:
        if vm.power_state != "stopped":
            continue
        price = ctx.price(vm.id, prices.vm_monthly(vm.size), f"{vm.size} compute list price")
        detail = (
            f"VM {vm.name} ({vm.size or 'size unknown'}) is stopped but not deallocated "
            "(PowerState/stopped, e.g. shut down from inside the OS): its compute is still billed."
        )
        yield _finding(STOPPED_VM, ctx, vm, detail, price)


STOPPED_VM = _inventory_check(
    "azure.compute.stopped_vm",
    "Stopped (not deallocated) VMs",
    "VMs in PowerState/stopped: the guest OS is off but the VM still holds, and is billed "
    "for, its compute allocation. Only PowerState/deallocated stops compute billing.",
    "Microsoft.Compute/virtualMachines",
    "medium",
    "Deallocate it (Stop in the portal, or `az vm deallocate`) or delete it if unused.",
    evaluate_stopped_vm,
    ("vms",),
    ("Microsoft.Compute/virtualMachines/read", READ_BILLED),
)


def evaluate_deallocated_vm(ctx: AzureCheckContext) -> Iterator[Finding]:
    disks_by_vm: dict[str, list[Disk]] = {}
    for disk in ctx.inventory.disks:
        if disk.managed_by:
            disks_by_vm.setdefault(disk.managed_by.lower(), []).append(disk)
    for vm in ctx.inventory.vms:
        age = ctx.age_days(vm.state_since)
        if vm.power_state != "deallocated" or age is None or age < ctx.deallocated_days:
            continue
        disks = disks_by_vm.get(vm.id.lower(), [])
        none = Price(ZERO, "unknown", prices.PRICE_CURRENCY, "no managed disk of this VM found")
        price = Price.total([ctx.disk_price(d) for d in disks], none)
        detail = (
            f"VM {vm.name} has been deallocated for {age} days (since {vm.state_since:%Y-%m-%d}): no "
            f"compute cost, but its {len(disks)} managed disk(s) are still billed."
        )
        yield _finding(DEALLOCATED_VM, ctx, vm, detail, price)


DEALLOCATED_VM = _inventory_check(
    "azure.compute.deallocated_vm",
    "VMs deallocated for a long time",
    "VMs in PowerState/deallocated for more than FINOPS_AZURE_DEALLOCATED_VM_DAYS (30) days "
    "(time of the last "
    "provisioning operation): compute is free but their managed disks keep billing. The estimate is "
    "the cost of those disks.",
    "Microsoft.Compute/virtualMachines",
    "low",
    "If the VM is no longer needed, snapshot what matters and delete the VM and its disks; "
    "if it is parked, move its disks to Standard HDD.",
    evaluate_deallocated_vm,
    ("vms", "disks"),
    ("Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/disks/read", READ_BILLED),
    ladder=None,
    params=(Param("azure_deallocated_vm_days", "Report VMs deallocated for longer than this many days."),),
)


def _is_replica(disk: Disk) -> bool:
    """Azure Site Recovery replica disks: tagged ASR-ReplicaDisk (or named *-ASRReplica)."""
    return ASR_REPLICA_TAG in {k.lower() for k in disk.tags} or disk.name.lower().endswith("-asrreplica")


def evaluate_unattached_disk(ctx: AzureCheckContext) -> Iterator[Finding]:
    for disk in ctx.inventory.disks:
        # Only 'Unattached': ActiveSAS (being exported), ReadyToUpload/ActiveUpload and Reserved
        # (attached to a deallocated VM) are different states, and ASR replicas are managed by
        # Site Recovery.
        if disk.state != "Unattached" or disk.managed_by or _is_replica(disk):
            continue
        price = ctx.disk_price(disk)
        detail = f"Managed disk {disk.name} ({disk.sku}, {disk.size_gb} GiB) is not attached to any VM."
        yield _finding(UNATTACHED_DISK, ctx, disk, detail, price)


UNATTACHED_DISK = _inventory_check(
    "azure.compute.unattached_disk",
    "Unattached managed disks",
    "Managed disks in the Unattached state (skipping disks with an active SAS export and "
    "Azure Site Recovery replica disks): billed for their provisioned size with nothing using them.",
    "Microsoft.Compute/disks",
    "medium",
    "Snapshot it if the data matters (cheaper), then delete the disk.",
    evaluate_unattached_disk,
    ("disks",),
    ("Microsoft.Compute/disks/read", READ_BILLED),
)


def evaluate_unassociated_public_ip(ctx: AzureCheckContext) -> Iterator[Finding]:
    for ip in ctx.inventory.public_ips:
        # Dynamic addresses without an association hold no address and cost nothing.
        if (ip.allocation or "").lower() != "static" or ip.ip_configuration_id or ip.nat_gateway_id:
            continue
        detail = (
            f"Static public IP {ip.name} ({ip.address or 'no address shown'}, {ip.sku or 'Basic'} SKU) is "
            "not associated with any IP configuration or NAT gateway."
        )
        yield _finding(UNASSOCIATED_PUBLIC_IP, ctx, ip, detail, ctx.ip_price(ip))


UNASSOCIATED_PUBLIC_IP = _inventory_check(
    "azure.network.unassociated_public_ip",
    "Unassociated static public IPs",
    "Static public IP addresses with no IP configuration (NIC, load balancer, gateway) and "
    "no NAT gateway: reserved and billed hourly while unused.",
    "Microsoft.Network/publicIPAddresses",
    "low",
    "Delete the address if it is not reserved on purpose (e.g. an allow-listed IP).",
    evaluate_unassociated_public_ip,
    ("public_ips",),
    ("Microsoft.Network/publicIPAddresses/read", READ_BILLED),
    ladder=None,
)


def evaluate_orphaned_nic(ctx: AzureCheckContext) -> Iterator[Finding]:
    ips = {ip.id.lower(): ip for ip in ctx.inventory.public_ips}
    for nic in ctx.inventory.nics:
        if nic.vm_id or nic.private_endpoint_id or nic.private_link_service_id:
            continue
        attached = [ips[p.lower()] for p in nic.public_ip_ids if p.lower() in ips]
        free = Price(ZERO, "list_price", prices.PRICE_CURRENCY, "a network interface itself is free")
        price = Price.total([ctx.ip_price(ip) for ip in attached], free)
        extra = f" It still holds {len(attached)} public IP(s), billed." if attached else ""
        detail = f"Network interface {nic.name} is not attached to a VM or private endpoint.{extra}"
        yield _finding(ORPHANED_NIC, ctx, nic, detail, price)


ORPHANED_NIC = _inventory_check(
    "azure.network.orphaned_nic",
    "Orphaned network interfaces",
    "NICs attached to no VM, private endpoint or private link service. The NIC is free; "
    "the estimate is the public IPs it still holds (which the public IP check cannot see as unused).",
    "Microsoft.Network/networkInterfaces",
    "low",
    "Delete the NIC (and its public IP if nothing else needs that address).",
    evaluate_orphaned_nic,
    ("nics", "public_ips"),
    ("Microsoft.Network/networkInterfaces/read", "Microsoft.Network/publicIPAddresses/read", READ_BILLED),
    ladder=None,
    basis="list_price",
)


def evaluate_old_snapshot(ctx: AzureCheckContext) -> Iterator[Finding]:
    for snap in ctx.inventory.snapshots:
        age = ctx.age_days(snap.created)
        if age is None or age < ctx.snapshot_days:
            continue
        price = ctx.price(snap.id, prices.snapshot_monthly(snap.sku, snap.size_gb), "snapshot list price")
        kind = "incremental " if snap.incremental else ""
        bound = (
            " (incremental: the list price of its full size is an upper bound)" if snap.incremental else ""
        )
        detail = (
            f"{kind.capitalize() or ''}Snapshot {snap.name} ({snap.size_gb} GiB) is {age} days old{bound}."
        )
        yield _finding(OLD_SNAPSHOT, ctx, snap, detail, price)


OLD_SNAPSHOT = _inventory_check(
    "azure.compute.old_snapshot",
    "Old disk snapshots",
    "Managed disk snapshots older than FINOPS_AZURE_SNAPSHOT_MAX_AGE_DAYS (90) days, billed per GiB-month.",
    "Microsoft.Compute/snapshots",
    "low",
    "Delete snapshots nobody needs, or move retention to Azure Backup with a policy.",
    evaluate_old_snapshot,
    ("snapshots",),
    ("Microsoft.Compute/snapshots/read", READ_BILLED),
    ladder=None,
    params=(Param("azure_snapshot_max_age_days", "Report snapshots older than this many days."),),
)


def evaluate_empty_app_service_plan(ctx: AzureCheckContext) -> Iterator[Finding]:
    for plan in ctx.inventory.plans:
        tier = (plan.tier or "").lower()
        if plan.sites is None or plan.sites > 0 or tier in prices.FREE_PLAN_TIERS:
            continue
        listed = prices.plan_monthly(plan.sku_name, plan.linux, plan.instances)
        price = ctx.price(plan.id, listed, f"{plan.sku_name} x{plan.instances} plan list price")
        detail = (
            f"App Service plan {plan.name} ({plan.tier} {plan.sku_name}, {plan.instances} instance(s), "
            f"{'Linux' if plan.linux else 'Windows'}) hosts no apps but is billed per instance."
        )
        yield _finding(EMPTY_APP_SERVICE_PLAN, ctx, plan, detail, price)


EMPTY_APP_SERVICE_PLAN = _inventory_check(
    "azure.web.empty_app_service_plan",
    "Empty paid App Service plans",
    "App Service plans with no apps on a paid tier (Basic, Standard, Premium, Isolated, "
    "Elastic Premium): billed per instance whether or not anything runs. Free, Shared and consumption "
    "plans are skipped.",
    "Microsoft.Web/serverfarms",
    "medium",
    "Delete the plan, or scale it down to the Free tier if you keep it as a placeholder.",
    evaluate_empty_app_service_plan,
    ("plans",),
    ("Microsoft.Web/serverfarms/read", READ_BILLED),
)


def evaluate_balancer_without_backends(ctx: AzureCheckContext) -> Iterator[Finding]:
    for lb in ctx.inventory.balancers:
        if lb.backends:
            continue
        listed = prices.balancer_monthly(lb.kind, lb.sku)
        if listed == 0:
            continue  # a Basic load balancer costs nothing
        what = "load balancer" if lb.kind == "load_balancer" else "application gateway"
        price = ctx.price(lb.id, listed, f"{lb.sku} {what} list price")
        detail = f"{what.capitalize()} {lb.name} ({lb.sku or 'unknown SKU'}) has no backend in any pool."
        rtype = None if lb.kind == "load_balancer" else "Microsoft.Network/applicationGateways"
        yield _finding(BALANCER_WITHOUT_BACKENDS, ctx, lb, detail, price, rtype)


BALANCER_WITHOUT_BACKENDS = _inventory_check(
    "azure.network.balancer_without_backends",
    "Load balancer or application gateway without backends",
    "Load balancers (Standard / Gateway SKU) and application gateways whose backend pools hold "
    "no IP configuration and no address: billed by the hour while routing to nothing. Basic load "
    "balancers are free and skipped.",
    "Microsoft.Network/loadBalancers",
    "medium",
    "Delete it if nothing routes through it any more (check DNS records and front-end IPs "
    "first), or add the backends it is meant to serve.",
    evaluate_balancer_without_backends,
    ("load_balancers", "app_gateways"),
    ("Microsoft.Network/loadBalancers/read", "Microsoft.Network/applicationGateways/read", READ_BILLED),
)


def evaluate_idle_vnet_gateway(ctx: AzureCheckContext) -> Iterator[Finding]:
    for gw in ctx.inventory.gateways:
        if gw.connections or gw.point_to_site:
            continue
        kind = "ExpressRoute" if gw.gateway_type.lower() == "expressroute" else "VPN"
        listed = prices.gateway_monthly(gw.sku)
        price = ctx.price(gw.id, listed, f"{gw.sku} {kind} gateway list price")
        detail = (
            f"{kind} gateway {gw.name} ({gw.sku or 'unknown SKU'}) has no connection"
            + ("" if kind == "ExpressRoute" else " and no point-to-site client pool")
            + ": billed by the hour while carrying no traffic."
        )
        yield _finding(IDLE_VNET_GATEWAY, ctx, gw, detail, price)


IDLE_VNET_GATEWAY = _inventory_check(
    "azure.network.idle_vnet_gateway",
    "Virtual network gateway without connections",
    "VPN and ExpressRoute virtual network gateways that no connection (site-to-site, "
    "VNet-to-VNet, ExpressRoute circuit) names and, for VPN gateways, with no point-to-site client "
    "address pool: billed by the hour for the gateway SKU while carrying nothing. Connections are read "
    "in the gateway's subscription (a VNet-to-VNet connection kept in another subscription is not seen).",
    "Microsoft.Network/virtualNetworkGateways",
    "medium",
    "Delete the gateway if no site, VNet or circuit will connect to it again (its public IP "
    "too); otherwise connect what it was built for.",
    evaluate_idle_vnet_gateway,
    ("gateways",),
    (
        "Microsoft.Resources/subscriptions/resources/read",
        "Microsoft.Network/virtualNetworkGateways/read",
        "Microsoft.Network/connections/read",
        READ_BILLED,
    ),
)


CHECKS: tuple[Check[AzureCheckContext], ...] = (
    STOPPED_VM,
    DEALLOCATED_VM,
    UNATTACHED_DISK,
    UNASSOCIATED_PUBLIC_IP,
    ORPHANED_NIC,
    OLD_SNAPSHOT,
    EMPTY_APP_SERVICE_PLAN,
    BALANCER_WITHOUT_BACKENDS,
    IDLE_VNET_GATEWAY,
    *NATIVE_CHECKS,
)

# Resource types whose billed cost the checks can use (the ResourceId query is filtered to them).
PRICED_RESOURCE_TYPES: tuple[str, ...] = (
    "microsoft.compute/virtualmachines",
    "microsoft.compute/disks",
    "microsoft.compute/snapshots",
    "microsoft.network/publicipaddresses",
    "microsoft.web/serverfarms",
    "microsoft.network/loadbalancers",
    "microsoft.network/applicationgateways",
    "microsoft.network/virtualnetworkgateways",
)

# checks over the subscription's Cost Management data rather than its inventory (`azure.anomalies`)
ACCOUNT_WIDE: tuple[Check[Any], ...] = (DAILY_ANOMALY,)
