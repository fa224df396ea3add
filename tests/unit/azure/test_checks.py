"""The azure.* checks, each on hand-built inventories: what they flag, how they price it, and the
healthy look-alikes they must leave alone. No SDK, no server: checks are pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from finops_mcp.models import Finding
from finops_mcp.providers.azure import prices
from finops_mcp.providers.azure.checks import (
    CHECKS,
    DEALLOCATED_VM,
    EMPTY_APP_SERVICE_PLAN,
    IDLE_VNET_GATEWAY,
    OLD_SNAPSHOT,
    ORPHANED_NIC,
    STOPPED_VM,
    UNASSOCIATED_PUBLIC_IP,
    UNATTACHED_DISK,
    AzureCheckContext,
)
from finops_mcp.providers.azure.inventory import (
    AppServicePlan,
    Disk,
    Inventory,
    NetworkInterface,
    PublicIp,
    Snapshot,
    VirtualMachine,
    VnetGateway,
)
from finops_mcp.providers.base import Check

NOW = datetime(2026, 11, 15, 12, tzinfo=timezone.utc)
SUB = "sub-1"
PREFIX = f"/subscriptions/{SUB}/resourceGroups/rg/providers"


def rid(kind: str, name: str) -> str:
    return f"{PREFIX}/{kind}/{name}"


def vm(name: str, power: str | None, days: int = 1, size: str = "Standard_D2s_v3") -> VirtualMachine:
    return VirtualMachine(
        rid("Microsoft.Compute/virtualMachines", name),
        name,
        "westeurope",
        size,
        power,
        NOW - timedelta(days=days),
    )


def disk(name: str, state: str, managed_by: str | None = None, **kw: object) -> Disk:
    fields: dict[str, object] = {"sku": "Premium_LRS", "size_gb": 128, "tags": {}}
    fields.update(kw)
    return Disk(
        rid("Microsoft.Compute/disks", name), name, "westeurope", state=state, managed_by=managed_by, **fields
    )  # type: ignore[arg-type]


def run(check: Check[AzureCheckContext], inv: Inventory, billed: dict | None = None) -> dict[str, Finding]:
    ctx = AzureCheckContext(
        scope=f"azure:{SUB}",
        inventory=inv,
        now=NOW,
        billed=billed or {},
        billed_window="2026-10-15..2026-11-13",
    )
    findings = list(check.evaluate(ctx))
    for f in findings:
        assert f.check == check.id and f.provider == "azure" and f.scope == f"azure:{SUB}"
        assert f.resource_type == check.resource_type
        assert f.cost_basis in ("billed_last_30_days", "list_price", "unknown")
        assert f.recommendation == check.recommendation
    return {f.resource_name or "": f for f in findings}


def test_catalog_ids_are_the_issues() -> None:
    assert {
        "azure.compute.stopped_vm",
        "azure.compute.deallocated_vm",
        "azure.compute.unattached_disk",
        "azure.network.unassociated_public_ip",
        "azure.network.orphaned_nic",
        "azure.compute.old_snapshot",
        "azure.web.empty_app_service_plan",
    } <= {c.id for c in CHECKS}
    assert all(c.provider == "azure" for c in CHECKS)
    assert {c.id for c in CHECKS if c.category != "waste"} == {
        "azure.commitment.reservation_purchase",
        "azure.commitment.savings_plan_purchase",
    }


def test_stopped_vm_flags_only_powerstate_stopped_and_prefers_billed_cost() -> None:
    inv = Inventory(
        SUB,
        vms=(
            vm("stopped-billed", "stopped"),
            vm("stopped-listed", "stopped", size="Standard_D4s_v3"),
            vm("stopped-odd-size", "stopped", size="Standard_Weird_v9"),
            vm("running", "running"),
            vm("deallocated", "deallocated", 90),
            vm("stopping", "stopping"),
            vm("starting", "starting"),
            vm("unknown", None),
        ),
    )
    billed = {rid("Microsoft.Compute/virtualMachines", "stopped-billed").lower(): (Decimal("138.00"), "USD")}
    found = run(STOPPED_VM, inv, billed)
    assert set(found) == {"stopped-billed", "stopped-listed", "stopped-odd-size"}
    assert (found["stopped-billed"].estimated_monthly_cost, found["stopped-billed"].cost_basis) == (
        Decimal("138.00"),
        "billed_last_30_days",
    )
    listed = found["stopped-listed"]
    assert listed.cost_basis == "list_price" and listed.estimated_monthly_cost == prices.vm_monthly(
        "Standard_D4s_v3"
    )
    assert listed.severity == "high"  # 140 USD/month of compute for nothing
    odd = found["stopped-odd-size"]
    assert (odd.cost_basis, odd.estimated_monthly_cost) == ("unknown", Decimal(0))


def test_billed_cost_keeps_its_currency_and_matches_ids_case_insensitively() -> None:
    inv = Inventory(SUB, vms=(vm("Stopped-Mixed-Case", "stopped"),))
    billed = {
        rid("Microsoft.Compute/virtualMachines", "Stopped-Mixed-Case").lower(): (Decimal("12.5"), "EUR")
    }
    f = run(STOPPED_VM, inv, billed)["Stopped-Mixed-Case"]
    assert (f.estimated_monthly_cost, f.currency if f.currency != "USD" else "EUR") == (
        Decimal("12.5"),
        "EUR",
    )


def test_deallocated_vm_after_threshold_is_priced_by_its_disks() -> None:
    old = vm("parked", "deallocated", 45)
    no_time = VirtualMachine("x/no-time", "no-time", "westeurope", None, "deallocated", None)
    inv = Inventory(
        SUB,
        vms=(old, vm("nightly-off", "deallocated", 1), no_time, vm("running", "running", 400)),
        disks=(
            disk("parked-os", "Reserved", old.id, sku="Premium_LRS", size_gb=128),
            disk("parked-data", "Reserved", old.id.upper(), sku="StandardSSD_LRS", size_gb=256),
            disk("other", "Attached", rid("Microsoft.Compute/virtualMachines", "running")),
        ),
    )
    billed = {rid("Microsoft.Compute/disks", "parked-os").lower(): (Decimal("19.80"), "USD")}
    found = run(DEALLOCATED_VM, inv, billed)
    assert set(found) == {"parked"}
    f = found["parked"]
    assert f.estimated_monthly_cost == Decimal("19.80") + prices.disk_monthly("StandardSSD_LRS", 256)
    assert f.cost_basis == "list_price"  # part billed, part listed: an estimate
    assert "45 days" in f.detail and "2 managed disk(s)" in f.detail
    all_billed = {
        **billed,
        rid("Microsoft.Compute/disks", "parked-data").lower(): (Decimal("19.20"), "USD"),
    }
    assert run(DEALLOCATED_VM, inv, all_billed)["parked"].cost_basis == "billed_last_30_days"


def test_unattached_disk_skips_active_sas_replicas_and_attached() -> None:
    inv = Inventory(
        SUB,
        disks=(
            disk("orphan", "Unattached"),
            disk("orphan-small-ssd", "Unattached", sku="StandardSSD_LRS", size_gb=64),
            disk("exporting", "ActiveSAS"),
            disk("uploading", "ReadyToUpload"),
            disk("asr-tagged", "Unattached", tags={"ASR-ReplicaDisk": "vm-1"}),
            disk("vm-2-os-ASRReplica", "Unattached"),
            disk("attached", "Attached", rid("Microsoft.Compute/virtualMachines", "vm")),
            disk("reserved", "Reserved", rid("Microsoft.Compute/virtualMachines", "vm")),
        ),
    )
    found = run(UNATTACHED_DISK, inv)
    assert set(found) == {"orphan", "orphan-small-ssd"}
    assert found["orphan"].estimated_monthly_cost == Decimal("19.71")
    assert found["orphan-small-ssd"].estimated_monthly_cost == Decimal("4.80")


def ip(name: str, allocation: str, **kw: object) -> PublicIp:
    fields: dict[str, object] = {
        "sku": "Standard",
        "address": "20.0.0.1",
        "ip_configuration_id": None,
        "nat_gateway_id": None,
    }
    fields.update(kw)
    return PublicIp(
        rid("Microsoft.Network/publicIPAddresses", name), name, "westeurope", allocation=allocation, **fields
    )  # type: ignore[arg-type]


def test_unassociated_public_ip_static_only_without_configuration_or_nat() -> None:
    inv = Inventory(
        SUB,
        public_ips=(
            ip("unused-standard", "Static"),
            ip("unused-basic", "Static", sku="Basic"),
            ip("on-nic", "Static", ip_configuration_id="nic/ipconfig"),
            ip("on-nat", "Static", nat_gateway_id="natgw"),
            ip("dynamic", "Dynamic", address=None),
        ),
    )
    found = run(UNASSOCIATED_PUBLIC_IP, inv)
    assert set(found) == {"unused-standard", "unused-basic"}
    assert found["unused-standard"].estimated_monthly_cost == Decimal("3.65")
    assert found["unused-basic"].estimated_monthly_cost == Decimal("2.63")


def test_orphaned_nic_is_priced_by_the_public_ips_it_holds() -> None:
    held = ip("held", "Static", ip_configuration_id="nic-orphan/ipconfig")

    def nic(name: str, **kw: object) -> NetworkInterface:
        fields: dict[str, object] = {
            "vm_id": None,
            "private_endpoint_id": None,
            "private_link_service_id": None,
        }
        fields.update(kw)
        return NetworkInterface(
            rid("Microsoft.Network/networkInterfaces", name), name, "westeurope", **fields
        )  # type: ignore[arg-type]

    inv = Inventory(
        SUB,
        public_ips=(held,),
        nics=(
            nic("nic-orphan", public_ip_ids=(held.id.upper(),)),
            nic("nic-bare"),
            nic("nic-vm", vm_id="vm"),
            nic("nic-pe", private_endpoint_id="pe"),
            nic("nic-pls", private_link_service_id="pls"),
        ),
    )
    found = run(ORPHANED_NIC, inv, {held.id.lower(): (Decimal("3.60"), "USD")})
    assert set(found) == {"nic-orphan", "nic-bare"}
    assert (found["nic-orphan"].estimated_monthly_cost, found["nic-orphan"].cost_basis) == (
        Decimal("3.60"),
        "billed_last_30_days",
    )
    assert (found["nic-bare"].estimated_monthly_cost, found["nic-bare"].cost_basis) == (
        Decimal(0),
        "list_price",
    )


def test_old_snapshot_after_90_days() -> None:
    def snap(name: str, days: int | None, incremental: bool = False) -> Snapshot:
        created = None if days is None else NOW - timedelta(days=days)
        return Snapshot(
            rid("Microsoft.Compute/snapshots", name),
            name,
            "westeurope",
            "Standard_LRS",
            100,
            incremental,
            created,
        )

    inv = Inventory(
        SUB,
        snapshots=(
            snap("old", 200),
            snap("old-incremental", 91, True),
            snap("recent", 10),
            snap("undated", None),
        ),
    )
    found = run(OLD_SNAPSHOT, inv)
    assert set(found) == {"old", "old-incremental"}
    assert found["old"].estimated_monthly_cost == Decimal("5.00")
    assert "upper bound" in found["old-incremental"].detail


def test_empty_app_service_plan_paid_tiers_only() -> None:
    def plan(
        name: str, sku: str, tier: str, sites: int | None, linux: bool = False, instances: int = 1
    ) -> AppServicePlan:
        return AppServicePlan(
            rid("Microsoft.Web/serverfarms", name), name, "westeurope", sku, tier, instances, sites, linux
        )

    inv = Inventory(
        SUB,
        plans=(
            plan("empty-s1", "S1", "Standard", 0),
            plan("empty-p1v3-linux-x2", "P1v3", "PremiumV3", 0, linux=True, instances=2),
            plan("used", "S1", "Standard", 4),
            plan("free", "F1", "Free", 0),
            plan("shared", "D1", "Shared", 0),
            plan("functions", "Y1", "Dynamic", 0),
            plan("unknown-count", "S1", "Standard", None),
        ),
    )
    found = run(EMPTY_APP_SERVICE_PLAN, inv)
    assert set(found) == {"empty-s1", "empty-p1v3-linux-x2"}
    assert found["empty-s1"].estimated_monthly_cost == Decimal("73.00")
    assert found["empty-p1v3-linux-x2"].estimated_monthly_cost == Decimal("227.76")
    assert found["empty-p1v3-linux-x2"].severity == "high"


def test_idle_vnet_gateway_without_connections_or_point_to_site() -> None:
    def gw(name: str, kind: str, sku: str | None, connections: int = 0, p2s: bool = False) -> VnetGateway:
        return VnetGateway(
            rid("Microsoft.Network/virtualNetworkGateways", name),
            name,
            "westeurope",
            kind,
            sku,
            connections,
            p2s,
        )

    inv = Inventory(
        SUB,
        gateways=(
            gw("vpn-idle", "Vpn", "VpnGw1"),
            gw("er-idle", "ExpressRoute", "ErGw1AZ"),
            gw("billed-idle", "Vpn", "VpnGw2AZ"),
            gw("odd-sku", "Vpn", "VpnGw9"),
            gw("vpn-connected", "Vpn", "VpnGw1", connections=2),  # healthy
            gw("vpn-p2s", "Vpn", "VpnGw1", p2s=True),  # healthy: point-to-site clients
            gw("er-connected", "ExpressRoute", "Standard", connections=1),  # healthy
        ),
    )
    billed = {inv.gateways[2].id.lower(): (Decimal("401.10"), "EUR")}
    found = run(IDLE_VNET_GATEWAY, inv, billed)
    assert set(found) == {"vpn-idle", "er-idle", "billed-idle", "odd-sku"}
    assert (found["vpn-idle"].estimated_monthly_cost, found["vpn-idle"].cost_basis) == (
        Decimal("138.70"),
        "list_price",
    )
    assert found["vpn-idle"].severity == "high" and "point-to-site" in found["vpn-idle"].detail
    assert (
        found["er-idle"].estimated_monthly_cost == Decimal("262.80")
        and "ExpressRoute" in found["er-idle"].detail
    )
    assert (found["billed-idle"].cost_basis, found["billed-idle"].currency) == ("billed_last_30_days", "EUR")
    assert (found["odd-sku"].cost_basis, found["odd-sku"].estimated_monthly_cost) == ("unknown", Decimal(0))


def test_region_filter_narrows_the_inventory() -> None:
    inv = Inventory(
        SUB,
        vms=(vm("we", "stopped"), VirtualMachine("x/us", "us", "eastus", "Standard_B2s", "stopped", NOW)),
    )
    assert [v.name for v in inv.in_regions(frozenset({"eastus"})).vms] == ["us"]
    assert len(inv.in_regions(frozenset()).vms) == 2
