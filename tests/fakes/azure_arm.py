"""A fake Azure Resource Manager (and Entra ID token endpoint) for the Azure provider's tests.

Built on tests/fakes/http.py (HTTPS with a per-session CA, routes, request recording, faults) and
driven by the real azure-identity and azure-mgmt clients:

- Entra ID: OpenID discovery and the client-credentials token endpoint for one tenant, so
  `DefaultAzureCredential` signs in through its EnvironmentCredential path (AZURE_TENANT_ID,
  AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST); ARM routes refuse other tokens.
- An estate: management group `MG` holding subscriptions `SUB_PROD` and `SUB_DEV` (plus a child
  management group), VMs in every power state, disks (attached, unattached, ActiveSAS, ASR
  replica), public IPs (static/dynamic, associated or not, one on a NAT gateway), NICs (on a VM,
  orphaned with a public IP, on a private endpoint), snapshots (old, recent), App Service plans
  (empty paid, used, empty free, empty consumption) and budgets at both levels.
- Cost Management query/forecast executed over a daily cost ledger (`Record`), with groupings,
  filters, Daily granularity, column orders that change from page to page (clients must read by
  name), small pages chained by `nextLink` (re-POST the body), ActualCost vs AmortizedCost (a
  reservation purchase on the 1st, amortized daily), the `Meter` dimension and the
  `UsageQuantity` aggregation (a summed column of that name, as the Query API's QueryAggregation
  answers it: https://learn.microsoft.com/rest/api/cost-management/query/usage).
- Advisor `recommendations` (honors `$filter=Category eq 'Cost'`) and Consumption
  `reservationRecommendations` (legacy and modern kinds; honors the scope / lookBackPeriod / term
  clauses of `$filter`) per subscription, with the field names of the Advisor REST API 2025-01-01
  (ResourceRecommendationBase: impactedField, impactedValue, shortDescription, extendedProperties
  savingsAmount / annualSavingsAmount / savingsCurrency, resourceMetadata.resourceId) and the
  Consumption REST API 2024-08-01 (netSavings, costWithNoReservedInstances, recommendedQuantity,
  lookBackPeriod, term, scope).
- Virtual network gateways and connections, Resource Graph over Advisor, and savings plan (benefit)
  recommendations: tests/fakes/azure_native.py, installed here.
- Every list is paged by `nextLink` (2 items a page); `api-version` is accepted and ignored.
- `forbidden` holds subscription ids answering 403 AuthorizationFailed to everything;
  `advisor_forbidden` those answering 403 to Advisor only.

`expected_*` helpers compute the truth from the ledger for assertions.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from tests.fakes import azure_native
from tests.fakes.http import FakeHTTPServer, Reply, Request

TENANT = "7e3c1a52-0000-4000-8000-00000000a2e1"
CLIENT_ID = "0f1e2d3c-0000-4000-8000-0000000c11e7"
CLIENT_SECRET = "fake-client-secret-Zx9"
MG = "contoso-root"
SUB_PROD = "11111111-1111-4111-8111-111111111111"
SUB_DEV = "22222222-2222-4222-8222-222222222222"
SUBSCRIPTIONS = {SUB_PROD: "Contoso Production", SUB_DEV: "Contoso Dev"}
COST_PATH = r"/.+/providers/Microsoft\.CostManagement/(query|forecast)"
LIST_PAGE = 2
COST_PAGE = 4

_DIMENSIONS = {
    "servicename": "service",
    "subscriptionid": "subscription",
    "resourcelocation": "location",
    "resourceid": "resource_id",
    "chargetype": "charge_type",
    "resourcetype": "resource_type",
    "resourcegroupname": "resource_group",
    "meter": "meter",
    "reservationid": "reservation_id",
}


def rid(sub: str, provider_type: str, name: str, rg: str = "rg-app") -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{provider_type}/{name}"


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass(frozen=True)
class Record:
    """One day of one resource's cost, as Cost Management would group it."""

    day: date
    subscription: str
    service: str
    location: str
    resource_id: str  # lower-case, as Cost Management returns it
    resource_type: str
    charge_type: str
    actual: Decimal
    amortized: Decimal
    tags: dict[str, str] = field(default_factory=dict)
    resource_group: str = "rg-app"
    currency: str = "USD"
    meter: str = ""
    quantity: Decimal = Decimal(0)  # UsageQuantity, in the meter's unit
    reservation_id: str = ""  # the reservation (GUID) whose amortized cost this is

    def cost(self, kind: str) -> Decimal:
        return self.amortized if kind.lower() == "amortizedcost" else self.actual


class FakeArm:
    def __init__(self, today: date, days: int = 100) -> None:
        self.server = FakeHTTPServer(tls=True)
        self.today = today
        self.now = datetime.combine(today, time(12, 0), tzinfo=timezone.utc)
        self.forbidden: set[str] = set()
        self.tokens_issued = 0
        self.echo_token_requests = False  # see _token
        self.resources: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.budgets: dict[str, list[dict[str, Any]]] = {}
        self.advisor: dict[str, list[dict[str, Any]]] = {}
        self.reservation_recs: dict[str, list[dict[str, Any]]] = {}
        self.advisor_forbidden: set[str] = set()
        self.benefit_recs: dict[str, list[dict[str, Any]]] = {}
        self.benefit_forbidden: set[str] = set()
        self.graph_forbidden = False
        self.billing_forbidden = False
        self.ledger: list[Record] = []
        self._build_estate()
        azure_native.seed(self)
        self._build_ledger(days)
        self._routes()
        azure_native.routes(self)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ca_path(self) -> str:
        assert self.server.ca_path
        return self.server.ca_path

    def start(self) -> FakeArm:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def env(
        self, *, management_group: bool = False, subscriptions: Iterable[str] = (), billing: bool = False
    ) -> dict[str, str]:
        """Environment for a run against this fake: sign-in, CA bundle, ARM endpoint, scopes."""
        env = {
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": CLIENT_ID,
            "AZURE_CLIENT_SECRET": CLIENT_SECRET,
            "AZURE_AUTHORITY_HOST": self.url,
            "REQUESTS_CA_BUNDLE": self.ca_path,
            "FINOPS_PROVIDERS": "azure",
            "FINOPS_AZURE_ARM_ENDPOINT": self.url,
            "FINOPS_AZURE_MANAGEMENT_GROUP": MG if management_group else "",
            "FINOPS_AZURE_SUBSCRIPTION_IDS": ",".join(subscriptions),
            "FINOPS_AZURE_BILLING_ACCOUNT_ID": azure_native.BILLING_ACCOUNT if billing else "",
        }
        return env

    def calls(self, method: str | None = None, pattern: str | None = None) -> list[Request]:
        return self.server.calls(method, pattern)

    # ------------------------------------------------------------------ estate

    def _ago(self, days: int) -> str:
        return iso(self.now - timedelta(days=days))

    def _add(self, sub: str, kind: str, item: dict[str, Any]) -> None:
        self.resources.setdefault(sub, {}).setdefault(kind, []).append(item)

    def _vm(
        self, sub: str, name: str, size: str, power: str, since_days: int, location: str = "westeurope"
    ) -> str:
        vm_id = rid(sub, "Microsoft.Compute/virtualMachines", name)
        statuses = [
            {
                "code": "ProvisioningState/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "time": self._ago(since_days),
            },
            {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
        ]
        self._add(
            sub,
            "vms",
            {
                "id": vm_id,
                "name": name,
                "type": "Microsoft.Compute/virtualMachines",
                "location": location,
                "tags": {"team": "web"},
                "properties": {
                    "vmId": f"vm-{name}",
                    "hardwareProfile": {"vmSize": size},
                    "provisioningState": "Succeeded",
                    "instanceView": {"statuses": statuses},
                },
            },
        )
        return vm_id

    def _disk(
        self,
        sub: str,
        name: str,
        sku: str,
        size: int,
        state: str,
        managed_by: str | None = None,
        tags: dict[str, str] | None = None,
        location: str = "westeurope",
    ) -> str:
        disk_id = rid(sub, "Microsoft.Compute/disks", name)
        item: dict[str, Any] = {
            "id": disk_id,
            "name": name,
            "type": "Microsoft.Compute/disks",
            "location": location,
            "tags": tags or {},
            "sku": {"name": sku},
            "properties": {
                "diskSizeGB": size,
                "diskState": state,
                "timeCreated": self._ago(200),
                "creationData": {"createOption": "Empty"},
                "provisioningState": "Succeeded",
            },
        }
        if managed_by:
            item["managedBy"] = managed_by
        self._add(sub, "disks", item)
        return disk_id

    def _ip(
        self,
        sub: str,
        name: str,
        allocation: str,
        *,
        sku: str = "Standard",
        config: str | None = None,
        nat: str | None = None,
        address: str | None = "20.50.1.1",
    ) -> str:
        ip_id = rid(sub, "Microsoft.Network/publicIPAddresses", name)
        props: dict[str, Any] = {"publicIPAllocationMethod": allocation, "provisioningState": "Succeeded"}
        if address and (allocation == "Static" or config):
            props["ipAddress"] = address
        if config:
            props["ipConfiguration"] = {"id": config}
        if nat:
            props["natGateway"] = {"id": nat}
        self._add(
            sub,
            "ips",
            {
                "id": ip_id,
                "name": name,
                "type": "Microsoft.Network/publicIPAddresses",
                "location": "westeurope",
                "sku": {"name": sku, "tier": "Regional"},
                "properties": props,
            },
        )
        return ip_id

    def _nic(
        self,
        sub: str,
        name: str,
        *,
        vm: str | None = None,
        endpoint: str | None = None,
        public_ip: str | None = None,
    ) -> str:
        nic_id = rid(sub, "Microsoft.Network/networkInterfaces", name)
        config: dict[str, Any] = {"privateIPAddress": "10.0.0.4"}
        if public_ip:
            config["publicIPAddress"] = {"id": public_ip}
        props: dict[str, Any] = {
            "ipConfigurations": [
                {"id": f"{nic_id}/ipConfigurations/ipconfig1", "name": "ipconfig1", "properties": config}
            ]
        }
        if vm:
            props["virtualMachine"] = {"id": vm}
        if endpoint:
            props["privateEndpoint"] = {"id": endpoint}
        self._add(
            sub,
            "nics",
            {
                "id": nic_id,
                "name": name,
                "type": "Microsoft.Network/networkInterfaces",
                "location": "westeurope",
                "properties": props,
            },
        )
        return nic_id

    def _snapshot(self, sub: str, name: str, age_days: int, size: int, incremental: bool = False) -> str:
        snap_id = rid(sub, "Microsoft.Compute/snapshots", name)
        self._add(
            sub,
            "snapshots",
            {
                "id": snap_id,
                "name": name,
                "type": "Microsoft.Compute/snapshots",
                "location": "westeurope",
                "sku": {"name": "Standard_LRS"},
                "properties": {
                    "diskSizeGB": size,
                    "incremental": incremental,
                    "timeCreated": self._ago(age_days),
                    "creationData": {
                        "createOption": "Copy",
                        "sourceResourceId": "/subscriptions/x/disks/src",
                    },
                },
            },
        )
        return snap_id

    def _plan(self, sub: str, name: str, sku: str, tier: str, sites: int, *, linux: bool = False) -> str:
        plan_id = rid(sub, "Microsoft.Web/serverfarms", name)
        self._add(
            sub,
            "plans",
            {
                "id": plan_id,
                "name": name,
                "type": "Microsoft.Web/serverfarms",
                "location": "West Europe",
                "kind": "linux" if linux else "app",
                "sku": {"name": sku, "tier": tier, "size": sku, "capacity": 1},
                "properties": {
                    "numberOfSites": sites,
                    "numberOfWorkers": 1,
                    "reserved": linux,
                    "status": "Ready",
                },
            },
        )
        return plan_id

    def _balancer(self, sub: str, kind: str, name: str, sku: str, backends: int) -> str:
        """A load balancer ("lbs") or application gateway ("appgws") whose pools hold `backends`."""
        arm_type = (
            "Microsoft.Network/loadBalancers" if kind == "lbs" else "Microsoft.Network/applicationGateways"
        )
        lb_id = rid(sub, arm_type, name, "rg-net")
        if kind == "lbs":
            members = {
                "backendIPConfigurations": [{"id": f"{self.nic_vm}/ipConfigurations/ipconfig1"}] * backends
            }
            sku_json: dict[str, Any] = {"name": sku, "tier": "Regional"}
        else:
            members = {"backendAddresses": [{"ipAddress": f"10.0.0.{i + 4}"} for i in range(backends)]}
            sku_json = {"name": sku, "tier": sku, "capacity": 2}
        pool = {"id": f"{lb_id}/backendAddressPools/pool-1", "name": "pool-1", "properties": members}
        self._add(
            sub,
            kind,
            {
                "id": lb_id,
                "name": name,
                "type": arm_type,
                "location": "westeurope",
                "tags": {"team": "web"},
                # a load balancer's sku is top-level, an application gateway's is a property
                **({"sku": sku_json} if kind == "lbs" else {}),
                "properties": {
                    "provisioningState": "Succeeded",
                    "backendAddressPools": [pool],
                    **({"sku": sku_json} if kind == "appgws" else {}),
                },
            },
        )
        return lb_id

    def _budget(
        self,
        scope: str,
        name: str,
        amount: float,
        current: float,
        forecast: float,
        thresholds: dict[str, float],
    ) -> None:
        notifications = {
            f"n{i}": {
                "enabled": True,
                "operator": "GreaterThan",
                "threshold": value,
                "contactEmails": ["finops@example.com"],
                "thresholdType": kind,
            }
            for i, (kind, value) in enumerate(thresholds.items())
        }
        self.budgets.setdefault(scope.lower(), []).append(
            {
                "id": f"{scope}/providers/Microsoft.Consumption/budgets/{name}",
                "name": name,
                "type": "Microsoft.Consumption/budgets",
                "properties": {
                    "category": "Cost",
                    "amount": amount,
                    "timeGrain": "Monthly",
                    "timePeriod": {"startDate": "2025-01-01T00:00:00Z"},
                    "currentSpend": {"amount": current, "unit": "USD"},
                    "forecastSpend": {"amount": forecast, "unit": "USD"},
                    "notifications": notifications,
                },
            }
        )

    def _build_estate(self) -> None:
        p, d = SUB_PROD, SUB_DEV
        self.vm_running = self._vm(p, "vm-web-1", "Standard_D2s_v3", "running", 10)
        self.vm_stopped = self._vm(p, "vm-batch-stopped", "Standard_D4s_v3", "stopped", 20)
        self.vm_dealloc_old = self._vm(p, "vm-legacy-parked", "Standard_D2s_v3", "deallocated", 75)
        self.vm_dealloc_recent = self._vm(p, "vm-nightly-off", "Standard_D2s_v3", "deallocated", 2)
        self.vm_starting = self._vm(p, "vm-starting", "Standard_B2s", "starting", 0)
        self.vm_dev_stopped = self._vm(d, "vm-dev-stopped", "Standard_B2ms", "stopped", 5, location="eastus")

        self.disk_running_os = self._disk(p, "vm-web-1-os", "Premium_LRS", 128, "Attached", self.vm_running)
        self.disk_parked_os = self._disk(
            p, "vm-legacy-parked-os", "Premium_LRS", 128, "Reserved", self.vm_dealloc_old
        )
        self.disk_parked_data = self._disk(
            p, "vm-legacy-parked-data", "StandardSSD_LRS", 256, "Reserved", self.vm_dealloc_old
        )
        self.disk_unattached_billed = self._disk(p, "disk-orphan-premium", "Premium_LRS", 128, "Unattached")
        self.disk_unattached_listed = self._disk(
            p, "disk-orphan-ssd", "StandardSSD_LRS", 64, "Unattached", location="eastus"
        )
        self.disk_sas = self._disk(p, "disk-exporting", "Premium_LRS", 64, "ActiveSAS")
        self.disk_asr = self._disk(
            p, "vm-x-os-ASRReplica", "Standard_LRS", 128, "Unattached", tags={"ASR-ReplicaDisk": "vm-x"}
        )
        self.disk_dev_unattached = self._disk(
            d, "dev-scratch", "Standard_LRS", 512, "Unattached", location="eastus"
        )

        nic_vm = rid(p, "Microsoft.Network/networkInterfaces", "vm-web-1-nic")
        self.ip_unused_static = self._ip(p, "pip-unused", "Static", address="20.50.1.10")
        self.ip_on_vm = self._ip(p, "pip-web", "Static", config=f"{nic_vm}/ipConfigurations/ipconfig1")
        self.ip_dynamic_free = self._ip(p, "pip-dynamic", "Dynamic", sku="Basic")
        self.ip_nat = self._ip(p, "pip-nat", "Static", nat=rid(p, "Microsoft.Network/natGateways", "nat-1"))
        orphan_nic = rid(p, "Microsoft.Network/networkInterfaces", "nic-orphan")
        self.ip_on_orphan_nic = self._ip(
            p,
            "pip-on-orphan",
            "Static",
            config=f"{orphan_nic}/ipConfigurations/ipconfig1",
            address="20.50.1.20",
        )
        self.nic_vm = self._nic(p, "vm-web-1-nic", vm=self.vm_running, public_ip=self.ip_on_vm)
        self.nic_orphan = self._nic(p, "nic-orphan", public_ip=self.ip_on_orphan_nic)
        self.nic_endpoint = self._nic(
            p, "nic-pe-sql", endpoint=rid(p, "Microsoft.Network/privateEndpoints", "pe-sql")
        )

        self.snap_old = self._snapshot(p, "snap-before-upgrade", 200, 128)
        self.snap_recent = self._snapshot(p, "snap-nightly", 3, 128, incremental=True)

        self.plan_empty_paid = self._plan(p, "plan-empty-s1", "S1", "Standard", 0)
        self.plan_used = self._plan(p, "plan-web", "P1v3", "PremiumV3", 3, linux=True)
        self.plan_empty_free = self._plan(p, "plan-free", "F1", "Free", 0)
        self.plan_empty_consumption = self._plan(p, "plan-func", "Y1", "Dynamic", 0)

        self.lb_empty = self._balancer(p, "lbs", "lb-empty", "Standard", 0)
        self.lb_used = self._balancer(p, "lbs", "lb-web", "Standard", 1)
        self.lb_basic_empty = self._balancer(p, "lbs", "lb-basic", "Basic", 0)  # free: not reported
        self.appgw_empty = self._balancer(p, "appgws", "appgw-empty", "Standard_v2", 0)
        self.appgw_used = self._balancer(p, "appgws", "appgw-web", "WAF_v2", 2)
        vm, gw = "Microsoft.Compute/virtualMachines", "Microsoft.Network/virtualNetworkGateways"
        self.advice_rightsize = self._advice(
            p,
            self.vm_running,
            vm,
            "40.50",
            currentSku="Standard_D2s_v3",
            targetSku="Standard_B2s",
            regionId="westeurope",
        )
        # smaller than what the stopped VM billed: our azure.compute.stopped_vm finding is kept
        self.advice_shutdown = self._advice(p, self.vm_stopped, vm, "1.00", regionId="westeurope")
        self.advice_gateway = self._advice(
            p,
            rid(p, gw, "vgw-idle", "rg-net"),
            gw,
            "138.70",
            problem="Delete idle virtual network gateways",
            solution="Delete the idle gateway",
            type_id="c3ffe8d2-0000-4000-8000-000000000001",
        )
        self._advice(  # a reservation purchase: reported by azure.commitment.* instead
            p,
            f"/subscriptions/{p}",
            "Microsoft.Subscriptions/subscriptions",
            "300",
            term="P1Y",
            reservedResourceType="VirtualMachines",
            problem="Buy reserved instances",
        )
        self._advice(
            p, self.vm_running, vm, "0", category="HighAvailability", problem="Use availability zones"
        )
        self.advice_dev = self._advice(
            d, self.vm_dev_stopped, vm, "9999.00", regionId="eastus"
        )  # kept: larger
        self.reservation_legacy = self._reservation(
            p, "legacy", "Standard_D2s_v3", "westeurope", 2, "140.20", "90.10"
        )
        self.reservation_modern = self._reservation(
            p, "modern", "Standard_E4s_v5", "eastus", 1, "210.00", "130.00"
        )

        mg_scope = f"/providers/Microsoft.Management/managementGroups/{MG}"
        self._budget(f"/subscriptions/{p}", "prod-monthly", 1000, 1200.5, 1500, {"Actual": 80})
        self._budget(
            f"/subscriptions/{p}", "prod-platform", 5000, 1000, 6200, {"Actual": 90, "Forecasted": 100}
        )
        self._budget(f"/subscriptions/{d}", "dev-monthly", 500, 100, 200, {"Actual": 50})
        self._budget(mg_scope, "contoso-total", 10000, 8500, 9800, {"Actual": 80})

    def _build_ledger(self, days: int) -> None:
        """Daily cost of the estate (USD): (subscription, service, location, resource id, daily, tags)."""
        lines = [
            (SUB_PROD, "Virtual Machines", "westeurope", self.vm_running, "2.30", {"team": "web"}),
            (SUB_PROD, "Virtual Machines", "westeurope", self.vm_stopped, "4.60", {"team": "web"}),
            (SUB_PROD, "Storage", "westeurope", self.disk_running_os, "0.65", {"team": "web"}),
            (SUB_PROD, "Storage", "westeurope", self.disk_parked_os, "0.66", {}),
            (SUB_PROD, "Storage", "westeurope", self.disk_unattached_billed, "0.70", {"team": "data"}),
            (SUB_PROD, "Virtual Network", "westeurope", self.ip_unused_static, "0.12", {}),
            (SUB_PROD, "Azure App Service", "westeurope", self.plan_empty_paid, "2.43", {"team": "web"}),
            (SUB_PROD, "Storage", "westeurope", self.snap_old, "0.21", {"team": "data"}),
            (SUB_DEV, "Virtual Machines", "eastus", self.vm_dev_stopped, "1.99", {"team": "data"}),
            (SUB_DEV, "Storage", "eastus", self.disk_dev_unattached, "0.72", {}),
        ]
        start = self.today - timedelta(days=days)
        day = start
        while day < self.today:
            for sub, service, location, resource, daily, tags in lines:
                rtype = "/".join(resource.split("/providers/", 1)[1].split("/")[:2]).lower()
                amount = Decimal(daily)
                self.ledger.append(
                    Record(
                        day,
                        sub,
                        service,
                        location,
                        resource.lower(),
                        rtype,
                        "Usage",
                        amount,
                        amount,
                        dict(tags),
                    )
                )
            # A reservation bought on the 1st: ActualCost shows the purchase, AmortizedCost spreads it.
            reservation = rid(SUB_PROD, "Microsoft.Capacity/reservationOrders", "ri-1").lower()
            actual = Decimal("300.00") if day.day == 1 else Decimal(0)
            self.ledger.append(
                Record(
                    day,
                    SUB_PROD,
                    "Reservations",
                    "westeurope",
                    reservation,
                    "microsoft.capacity/reservationorders",
                    "Purchase",
                    actual,
                    Decimal("10.00"),
                    reservation_id=azure_native.RESERVATION_HALF_USED,
                )
            )
            day += timedelta(days=1)

    # ------------------------------------------------------------------ truth for assertions

    def expected_total(
        self,
        start: date,
        end: date,
        *,
        subs: Iterable[str] = (SUB_PROD, SUB_DEV),
        kind: str = "ActualCost",
        where: Callable[[Record], bool] | None = None,
    ) -> Decimal:
        wanted = set(subs)
        return sum(
            (
                r.cost(kind)
                for r in self.ledger
                if r.subscription in wanted and start <= r.day <= end and (where is None or where(r))
            ),
            Decimal(0),
        )

    # ------------------------------------------------------------------ HTTP

    def _routes(self) -> None:
        s = self.server
        s.route("GET", rf"/{TENANT}/v2\.0/\.well-known/openid-configuration", self._openid)
        s.route("POST", rf"/{TENANT}/oauth2/v2\.0/token", self._token)
        arm = self._arm
        s.route("GET", r"/subscriptions", arm(self._subscriptions))
        s.route(
            "GET",
            rf"/providers/Microsoft\.Management/managementGroups/{MG}/descendants",
            arm(self._descendants),
        )
        lists = {
            r"Microsoft\.Compute/virtualMachines": "vms",
            r"Microsoft\.Compute/disks": "disks",
            r"Microsoft\.Compute/snapshots": "snapshots",
            r"Microsoft\.Network/publicIPAddresses": "ips",
            r"Microsoft\.Network/networkInterfaces": "nics",
            r"Microsoft\.Web/serverfarms": "plans",
            r"Microsoft\.Network/loadBalancers": "lbs",
            r"Microsoft\.Network/applicationGateways": "appgws",
        }
        for pattern, kind in lists.items():
            s.route("GET", rf"/subscriptions/(?P<sub>[^/]+)/providers/{pattern}", arm(self._lister(kind)))
        s.route("GET", r"(?P<scope>/.+)/providers/Microsoft\.Consumption/budgets", arm(self._budgets))
        s.route(
            "GET",
            r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Advisor/recommendations",
            arm(self._advisor),
        )
        s.route(
            "GET",
            r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Consumption/reservationRecommendations",
            arm(self._reservation_recs),
        )
        s.route("POST", r"(?P<scope>/.+)/providers/Microsoft\.CostManagement/query", arm(self._query))
        s.route("POST", r"(?P<scope>/.+)/providers/Microsoft\.CostManagement/forecast", arm(self._forecast))

    def _openid(self, req: Request) -> Reply:
        base = f"{self.url}/{TENANT}"
        return Reply.json(
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0",
                "tenant_region_scope": "EU",
            }
        )

    def _token(self, req: Request) -> Reply:
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if self.echo_token_requests:
            # A misbehaving token endpoint (or a proxy in front of one) that echoes the request it
            # refused, secret included: the worst case for what an SDK error message may carry.
            # Shape of Entra ID's error reply (https://learn.microsoft.com/entra/identity-platform/
            # reference-error-codes): error, error_description, error_codes, trace/correlation ids.
            return Reply.json(
                {
                    "error": "invalid_request",
                    "error_description": f"AADSTS900144: could not read the request: {req.body.decode()} "
                    f"(values: {' '.join(form.values())})",
                    "error_codes": [900144],
                    "trace_id": "00000000-0000-0000-0000-000000000000",
                    "correlation_id": "00000000-0000-0000-0000-000000000001",
                    "echo": form,
                },
                400,
            )
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return Reply.json(
                {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"}, 401
            )
        self.tokens_issued += 1
        return Reply.json({"token_type": "Bearer", "expires_in": 3599, "access_token": self.token})

    token = "fake-arm-access-token"

    def _arm(self, handler: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
        def wrapped(req: Request) -> Reply:
            if req.headers.get("authorization") != f"Bearer {self.token}":
                return Reply.error(401, "AuthenticationFailed", "missing or invalid bearer token")
            if "api-version" not in req.query:
                return Reply.error(400, "MissingApiVersionParameter", "api-version is required")
            parts = req.path.split("/")
            if len(parts) > 2 and parts[1].lower() == "subscriptions" and parts[2] in self.forbidden:
                return Reply.error(
                    403,
                    "AuthorizationFailed",
                    f"The client '{CLIENT_ID}' does not have authorization to perform action over scope "
                    f"'/subscriptions/{parts[2]}'",
                )
            return handler(req)

        return wrapped

    def _page(self, req: Request, items: list[Any], size: int = LIST_PAGE) -> Reply:
        offset = int(req.arg("$skiptoken") or 0)
        body: dict[str, Any] = {"value": items[offset : offset + size]}
        if offset + size < len(items):
            extra = "".join(
                f"&{quote(k)}={quote(v[0])}"
                for k, v in req.query.items()
                if k not in ("$skiptoken", "api-version")
            )
            body["nextLink"] = (
                f"{self.url}{req.path}?api-version={req.arg('api-version')}{extra}&$skiptoken={offset + size}"
            )
        return Reply.json(body)

    def _subscriptions(self, req: Request) -> Reply:
        items = [
            {
                "id": f"/subscriptions/{sub}",
                "subscriptionId": sub,
                "displayName": name,
                "state": "Enabled",
                "tenantId": TENANT,
            }
            for sub, name in SUBSCRIPTIONS.items()
        ]
        items.append(
            {
                "id": "/subscriptions/33333333-3333-4333-8333-333333333333",
                "subscriptionId": "33333333-3333-4333-8333-333333333333",
                "displayName": "Old (disabled)",
                "state": "Disabled",
                "tenantId": TENANT,
            }
        )
        return self._page(req, items, size=1)

    def _descendants(self, req: Request) -> Reply:
        mg_type = "Microsoft.Management/managementGroups"
        items: list[dict[str, Any]] = [
            {
                "id": f"/providers/{mg_type}/contoso-child",
                "type": mg_type,
                "name": "contoso-child",
                "properties": {},
            }
        ]
        items += [
            {
                "id": f"/subscriptions/{sub}",
                "type": f"{mg_type}/subscriptions",
                "name": sub,
                "properties": {"displayName": name, "parent": {"id": f"/providers/{mg_type}/{MG}"}},
            }
            for sub, name in SUBSCRIPTIONS.items()
        ]
        return self._page(req, items)

    def _lister(self, kind: str) -> Callable[[Request], Reply]:
        def handler(req: Request) -> Reply:
            items = self.resources.get(req.match["sub"], {}).get(kind, [])
            if kind == "vms" and req.arg("statusOnly") != "true":
                items = [
                    {**vm, "properties": {k: v for k, v in vm["properties"].items() if k != "instanceView"}}
                    for vm in items
                ]
            return self._page(req, items)

        return handler

    def _advisor(self, req: Request) -> Reply:
        sub = req.match["sub"]
        if sub in self.advisor_forbidden:
            return Reply.error(
                403,
                "AuthorizationFailed",
                f"The client '{CLIENT_ID}' does not have authorization to perform action "
                f"'Microsoft.Advisor/recommendations/read' over scope '/subscriptions/{sub}'",
            )
        items = self.advisor.get(sub, [])
        wanted = re.search(r"Category eq '(\w+)'", req.arg("$filter") or "")
        if wanted:
            items = [i for i in items if i["properties"]["category"].lower() == wanted.group(1).lower()]
        return self._page(req, items)

    def _reservation_recs(self, req: Request) -> Reply:
        items = self.reservation_recs.get(req.match["sub"], [])
        for key, value in re.findall(r"properties/(\w+) eq '([^']+)'", req.arg("$filter") or ""):
            items = [i for i in items if str(i["properties"].get(key, "")).lower() == value.lower()]
        return self._page(req, items)

    def _advice(self, sub: str, resource: str, field: str, saving: str, **extra: Any) -> str:
        """An Advisor Cost recommendation for `resource` (an ARM id, or the subscription)."""
        name = f"{zlib.crc32(resource.encode()):08x}-0000-4000-8000-000000000000"
        category = extra.pop("category", "Cost")
        props = {
            "category": category,
            "impact": extra.pop("impact", "Medium"),
            "impactedField": field,
            "impactedValue": resource.rsplit("/", 1)[-1],
            "lastUpdated": iso(self.now),
            "recommendationTypeId": extra.pop("type_id", "e10b1381-5f0a-47ff-8c7b-37bd13d7c974"),
            "shortDescription": {
                "problem": extra.pop("problem", "Right-size or shutdown underutilized virtual machines"),
                "solution": extra.pop("solution", "Right-size or shutdown underutilized virtual machines"),
            },
            "extendedProperties": {
                "savingsAmount": saving,
                "annualSavingsAmount": str(Decimal(saving) * 12),
                "savingsCurrency": "USD",
                **extra,
            },
            "resourceMetadata": {"resourceId": resource, "source": resource},
        }
        self.advisor.setdefault(sub, []).append(
            {
                "id": f"{resource}/providers/Microsoft.Advisor/recommendations/{name}",
                "name": name,
                "type": "Microsoft.Advisor/recommendations",
                "properties": props,
            }
        )
        return resource

    def _reservation(
        self, sub: str, kind: str, sku: str, location: str, quantity: int, without: str, with_: str
    ):  # type: ignore[no-untyped-def]
        net = str(Decimal(without) - Decimal(with_))
        money: Any = (lambda v: {"currency": "USD", "value": float(v)}) if kind == "modern" else float
        props: dict[str, Any] = {
            "lookBackPeriod": "Last30Days",
            "term": "P1Y",
            "scope": "Single",
            "recommendedQuantity": quantity,
            "costWithNoReservedInstances": money(without),
            "totalCostWithReservedInstances": money(with_),
            "netSavings": money(net),
            "resourceType": "virtualmachines",
            "meterId": "00000000-0000-0000-0000-000000000001",
            "instanceFlexibilityRatio": 1,
            "normalizedSize": sku,
            "firstUsageDate": iso(self.now - timedelta(days=60)),
            "skuProperties": [],
        }
        if kind == "modern":
            props.update(skuName=sku, location=location)
        base = f"/subscriptions/{sub}/providers/Microsoft.Consumption/reservationRecommendations"
        rec_id = f"{base}/{sku}-{location}"
        self.reservation_recs.setdefault(sub, []).append(
            {
                "id": rec_id,
                "name": f"{sku}-{location}",
                "type": "Microsoft.Consumption/reservationRecommendations",
                "kind": kind,
                "location": location,
                "sku": sku,
                "properties": props,
            }
        )
        # a 3-year twin the filter leaves out
        self.reservation_recs[sub].append(
            {
                **self.reservation_recs[sub][-1],
                "name": f"{sku}-{location}-3y",
                "properties": {**props, "term": "P3Y"},
            }
        )
        return rec_id

    def _budgets(self, req: Request) -> Reply:
        return self._page(req, self.budgets.get(req.match["scope"].lower(), []))

    # ------------------------------------------------------------------ Cost Management

    def _records(self, scope: str, body: dict[str, Any], start: date, end: date) -> list[Record]:
        parts = scope.split("/")
        if parts[1].lower() == "subscriptions":
            subs = {parts[2]}
        elif scope.lower() in (
            azure_native.billing_scope().lower(),
            f"/providers/microsoft.management/managementgroups/{MG}".lower(),
        ):
            subs = set(SUBSCRIPTIONS)
        else:
            subs = set()
        flt = (body.get("dataset") or {}).get("filter")
        return [
            r
            for r in self.ledger
            if r.subscription in subs and start <= r.day <= end and (flt is None or _matches(r, flt))
        ]

    @staticmethod
    def _period(body: dict[str, Any]) -> tuple[date, date]:
        period = body["timePeriod"]
        return date.fromisoformat(period["from"][:10]), date.fromisoformat(period["to"][:10])

    def _query(self, req: Request) -> Reply:
        body = req.json()
        start, end = self._period(body)
        dataset = body.get("dataset") or {}
        daily = (dataset.get("granularity") or "").lower() == "daily"
        groupings = dataset.get("grouping") or []
        if len(groupings) > 2:
            return Reply.error(400, "BadRequest", "Query can have up to 2 group by clauses")
        sums: dict[tuple[Any, ...], Decimal] = {}
        quantities: dict[tuple[Any, ...], Decimal] = {}  # aggregation {"name": "UsageQuantity"}
        with_quantity = any(
            str(a.get("name", "")).lower() == "usagequantity"
            for a in (dataset.get("aggregation") or {}).values()
        )
        for r in self._records(req.match["scope"], body, start, end):
            key: list[Any] = [int(r.day.strftime("%Y%m%d"))] if daily else []
            for g in groupings:
                if g["type"] == "TagKey":
                    present = g["name"] in r.tags
                    key += [g["name"] if present else "", r.tags.get(g["name"], "")]
                else:
                    key.append(getattr(r, _DIMENSIONS[g["name"].lower()]))
            key.append(r.currency)
            k = tuple(key)
            sums[k] = sums.get(k, Decimal(0)) + r.cost(body["type"])
            quantities[k] = quantities.get(k, Decimal(0)) + r.quantity
        names = ["UsageDate"] if daily else []
        for g in groupings:
            names += ["TagKey", "TagValue"] if g["type"] == "TagKey" else [g["name"]]
        names.append("Currency")
        rows = [
            [float(cost), *key, *([float(quantities[key])] if with_quantity else [])]
            for key, cost in sorted(sums.items(), key=lambda kv: [str(x) for x in kv[0]])
        ]
        return self._cost_page(
            req, ["Cost", *names, *(["UsageQuantity"] if with_quantity else [])], rows, "query"
        )

    def _forecast(self, req: Request) -> Reply:
        body = req.json()
        start, end = self._period(body)
        records = self._records(req.match["scope"], body, start - timedelta(days=40), end)
        per_day: dict[date, Decimal] = {}
        for r in records:
            per_day[r.day] = per_day.get(r.day, Decimal(0)) + r.cost(body["type"])
        recent = [per_day.get(self.today - timedelta(days=i), Decimal(0)) for i in range(1, 8)]
        rate = (sum(recent, Decimal(0)) / 7).quantize(Decimal("0.01"))
        rows: list[list[Any]] = []
        day = start
        while day <= end:
            if day < self.today:
                if body.get("includeActualCost"):
                    rows.append(
                        [float(per_day.get(day, Decimal(0))), int(day.strftime("%Y%m%d")), "Actual", "USD"]
                    )
            else:
                rows.append([float(rate), int(day.strftime("%Y%m%d")), "Forecast", "USD"])
            day += timedelta(days=1)
        return self._cost_page(req, ["Cost", "UsageDate", "CostStatus", "Currency"], rows, "forecast")

    def forecast_rate(self, subs: Iterable[str] = (SUB_PROD, SUB_DEV), kind: str = "ActualCost") -> Decimal:
        """The daily rate the fake forecasts: mean of the 7 days before today, rounded to cents."""
        total = self.expected_total(
            self.today - timedelta(days=7), self.today - timedelta(days=1), subs=subs, kind=kind
        )
        return (total / 7).quantize(Decimal("0.01"))

    def _cost_page(self, req: Request, columns: list[str], rows: list[list[Any]], op: str) -> Reply:
        """One page of rows, with the columns in an order that changes per query and page."""
        offset = int(req.arg("$skiptoken") or 0)
        chunk = rows[offset : offset + COST_PAGE]
        shift = (zlib.crc32(req.body) + offset // COST_PAGE) % len(columns)
        order = list(range(len(columns)))
        order = order[shift:] + order[:shift]
        types = {"Cost": "Number", "UsageDate": "Number"}
        props: dict[str, Any] = {
            "columns": [{"name": columns[i], "type": types.get(columns[i], "String")} for i in order],
            "rows": [[row[i] for i in order] for row in chunk],
            "nextLink": None,
        }
        if offset + COST_PAGE < len(rows):
            props["nextLink"] = (
                f"{self.url}{req.path}?api-version={req.arg('api-version')}&$skiptoken={offset + COST_PAGE}"
            )
        return Reply.json(
            {
                "id": f"{req.match['scope']}/providers/Microsoft.CostManagement/{op}/q",
                "name": "q",
                "type": op,
                "properties": props,
            }
        )


def _matches(r: Record, flt: dict[str, Any]) -> bool:
    if "and" in flt:
        return all(_matches(r, f) for f in flt["and"])
    if "or" in flt:
        return any(_matches(r, f) for f in flt["or"])
    if "dimensions" in flt:
        d = flt["dimensions"]
        value = str(getattr(r, _DIMENSIONS[d["name"].lower()])).lower()
        return value in {str(v).lower() for v in d["values"]}
    if "tags" in flt:
        t = flt["tags"]
        return r.tags.get(t["name"]) in set(t["values"])
    raise ValueError(f"unsupported filter {flt}")


THROTTLE_HEADERS = {
    "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "7",
    "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "3",
    "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after": "1",
}


def throttle_reply() -> Reply:
    """Cost Management's 429: its own retry-after headers, no standard Retry-After."""
    return Reply.error(429, "429", "Too many requests. Please retry.", THROTTLE_HEADERS)
