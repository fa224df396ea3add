"""One subscription's resources as plain data, listed with the azure-mgmt clients.

Every list is one paged call per resource type for the whole subscription (VMs with their power
state in one `virtual_machines.list_all(status_only="true")`: never one instance-view call per VM);
pages are fetched one at a time under the engine's retry policy, with a cancellation check between
pages. Virtual network gateways and their connections are the exception: the SDK lists them per
resource group only (see `list_gateways`). SDK models are turned into the frozen dataclasses below
right away, so the checks are pure functions of plain data and can be tested without an SDK. Enum
fields come back as enum members: `enum_text` normalises them to their string values.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.providers.azure import arm
from finops_mcp.providers.azure.errors import call


def enum_text(value: Any) -> str | None:
    value = getattr(value, "value", value)
    return None if value is None else str(value)


def norm_location(value: Any) -> str:
    """ARM locations are lower-case without spaces ('westeurope'); people write 'West Europe'."""
    return "".join(str(value or "").split()).lower()


def _id(value: Any) -> str | None:
    """The `id` of a sub-resource reference (SDK model or dict), or None."""
    if value is None:
        return None
    rid = value.get("id") if isinstance(value, dict) else getattr(value, "id", None)
    return str(rid) if rid else None


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _tags(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value or {}).items() if v is not None}


@dataclass(frozen=True)
class Resource:
    """What every inventoried resource has: its ARM id, name, normalised location and tags (a
    keyword, so each kind's own fields can follow without defaults)."""

    id: str
    name: str
    location: str
    tags: dict[str, str] = field(default_factory=dict, kw_only=True)


@dataclass(frozen=True)
class VirtualMachine(Resource):
    size: str | None
    power_state: str | None  # running, stopped, deallocated, starting, stopping, deallocating...
    state_since: datetime | None  # time of the last provisioning operation (e.g. the deallocation)


@dataclass(frozen=True)
class Disk(Resource):
    sku: str | None
    size_gb: int | None
    state: str | None  # Unattached, Attached, Reserved, ActiveSAS, ReadyToUpload, ...
    managed_by: str | None
    created: datetime | None = None


@dataclass(frozen=True)
class Snapshot(Resource):
    sku: str | None
    size_gb: int | None
    incremental: bool
    created: datetime | None
    source_id: str | None = None


@dataclass(frozen=True)
class PublicIp(Resource):
    sku: str | None
    allocation: str | None  # Static | Dynamic
    address: str | None
    ip_configuration_id: str | None
    nat_gateway_id: str | None


@dataclass(frozen=True)
class NetworkInterface(Resource):
    vm_id: str | None
    private_endpoint_id: str | None
    private_link_service_id: str | None
    public_ip_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppServicePlan(Resource):
    sku_name: str | None
    tier: str | None
    instances: int
    sites: int | None
    linux: bool


@dataclass(frozen=True)
class Balancer(Resource):
    """A load balancer or an application gateway, and how many backends its pools hold."""

    kind: str  # load_balancer | application_gateway
    sku: str | None
    tier: str | None
    backends: int


@dataclass(frozen=True)
class VnetGateway(Resource):
    """A virtual network gateway (VPN or ExpressRoute) and how many connections name it."""

    gateway_type: str  # Vpn | ExpressRoute
    sku: str | None
    connections: int
    point_to_site: bool  # has a VPN client address pool: in use by point-to-site clients


@dataclass(frozen=True)
class Inventory:
    subscription_id: str
    vms: tuple[VirtualMachine, ...] = ()
    disks: tuple[Disk, ...] = ()
    snapshots: tuple[Snapshot, ...] = ()
    public_ips: tuple[PublicIp, ...] = ()
    nics: tuple[NetworkInterface, ...] = ()
    plans: tuple[AppServicePlan, ...] = ()
    balancers: tuple[Balancer, ...] = ()
    gateways: tuple[VnetGateway, ...] = ()

    def groups(self) -> tuple[tuple[Resource, ...], ...]:
        return (
            self.vms,
            self.disks,
            self.snapshots,
            self.public_ips,
            self.nics,
            self.plans,
            self.balancers,
            self.gateways,
        )

    def resources(self) -> Iterator[Resource]:
        for group in self.groups():
            yield from group

    def in_regions(self, regions: frozenset[str]) -> Inventory:
        """Only the resources located in `regions` (normalised names); all of them when empty."""
        if not regions:
            return self

        def keep(items: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(r for r in items if norm_location(r.location) in regions)

        return Inventory(self.subscription_id, *(keep(group) for group in self.groups()))


# ---------------------------------------------------------------------------------------------
# SDK models -> plain data
# ---------------------------------------------------------------------------------------------


def _base(m: Any) -> dict[str, Any]:
    return {
        "id": str(m.id),
        "name": str(m.name),
        "location": norm_location(m.location),
        "tags": _tags(getattr(m, "tags", None)),
    }


def vm_from(m: Any) -> VirtualMachine:
    view = getattr(m, "instance_view", None)
    power: str | None = None
    since: datetime | None = None
    for status in getattr(view, "statuses", None) or ():
        code = str(getattr(status, "code", "") or "")
        if code.startswith("PowerState/"):
            power = code.split("/", 1)[1].lower()
        when = _when(getattr(status, "time", None))
        if when is not None and (since is None or when > since):
            since = when
    hardware = getattr(m, "hardware_profile", None)
    return VirtualMachine(
        **_base(m),
        size=enum_text(getattr(hardware, "vm_size", None)),
        power_state=power,
        state_since=since,
    )


def disk_from(m: Any) -> Disk:
    sku = getattr(m, "sku", None)
    return Disk(
        **_base(m),
        sku=enum_text(getattr(sku, "name", None)),
        size_gb=getattr(m, "disk_size_gb", None),
        state=enum_text(getattr(m, "disk_state", None)),
        managed_by=getattr(m, "managed_by", None) or None,
        created=_when(getattr(m, "time_created", None)),
    )


def snapshot_from(m: Any) -> Snapshot:
    sku = getattr(m, "sku", None)
    creation = getattr(m, "creation_data", None)
    return Snapshot(
        **_base(m),
        sku=enum_text(getattr(sku, "name", None)),
        size_gb=getattr(m, "disk_size_gb", None),
        incremental=bool(getattr(m, "incremental", False)),
        created=_when(getattr(m, "time_created", None)),
        source_id=getattr(creation, "source_resource_id", None),
    )


def public_ip_from(m: Any) -> PublicIp:
    sku = getattr(m, "sku", None)
    return PublicIp(
        **_base(m),
        sku=enum_text(getattr(sku, "name", None)),
        allocation=enum_text(getattr(m, "public_ip_allocation_method", None)),
        address=getattr(m, "ip_address", None),
        ip_configuration_id=_id(getattr(m, "ip_configuration", None)),
        nat_gateway_id=_id(getattr(m, "nat_gateway", None)),
    )


def nic_from(m: Any) -> NetworkInterface:
    public_ips = []
    for config in getattr(m, "ip_configurations", None) or ():
        pip = _id(getattr(config, "public_ip_address", None))
        if pip:
            public_ips.append(pip)
    return NetworkInterface(
        **_base(m),
        vm_id=_id(getattr(m, "virtual_machine", None)),
        private_endpoint_id=_id(getattr(m, "private_endpoint", None)),
        private_link_service_id=_id(getattr(m, "private_link_service", None)),
        public_ip_ids=tuple(public_ips),
    )


def plan_from(m: Any) -> AppServicePlan:
    sku = getattr(m, "sku", None)
    workers = getattr(m, "number_of_workers", None) or getattr(sku, "capacity", None) or 1
    return AppServicePlan(
        **_base(m),
        sku_name=getattr(sku, "name", None),
        tier=getattr(sku, "tier", None),
        instances=int(workers),
        sites=getattr(m, "number_of_sites", None),
        linux=bool(getattr(m, "reserved", False)),
    )


def _backends(pools: Any) -> int:
    """Backends in load balancer / application gateway pools: NIC IP configurations plus
    addresses (by IP or FQDN)."""
    count = 0
    for pool in pools or ():
        count += len(getattr(pool, "backend_ip_configurations", None) or ())
        count += len(getattr(pool, "load_balancer_backend_addresses", None) or ())
        count += len(getattr(pool, "backend_addresses", None) or ())
    return count


def balancer_from(kind: str, m: Any) -> Balancer:
    """A load balancer or an application gateway (`kind`): both SDK models carry sku.name, sku.tier
    and backend_address_pools."""
    sku = getattr(m, "sku", None)
    return Balancer(
        **_base(m),
        kind=kind,
        sku=enum_text(getattr(sku, "name", None)),
        tier=enum_text(getattr(sku, "tier", None)),
        backends=_backends(getattr(m, "backend_address_pools", None)),
    )


load_balancer_from = functools.partial(balancer_from, "load_balancer")
app_gateway_from = functools.partial(balancer_from, "application_gateway")


def gateway_from(m: Any, connections: int) -> VnetGateway:
    sku = getattr(m, "sku", None)
    pool = getattr(getattr(m, "vpn_client_configuration", None), "vpn_client_address_pool", None)
    return VnetGateway(
        **_base(m),
        gateway_type=enum_text(getattr(m, "gateway_type", None)) or "Vpn",
        sku=enum_text(getattr(sku, "name", None)),
        connections=connections,
        point_to_site=bool(getattr(pool, "address_prefixes", None)),
    )


# ---------------------------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------------------------

_END: Any = object()


def paged(ctx: CallContext, make_pager: Callable[[], Any], what: str) -> Iterator[Any]:
    """Items of an azure-core pager, fetching each page under the retry policy. A failed page is
    retried as is: the pager keeps its continuation token when a request fails."""
    pages = iter(make_pager().by_page())
    while True:
        ctx.raise_if_cancelled()
        page: Any = call(ctx, lambda: next(pages, _END), what)
        if page is _END:
            return
        yield from page


def _listing(
    ctx: CallContext, make_pager: Callable[[], Any], convert: Callable[[Any], Any], what: str
) -> tuple[Any, ...]:
    return tuple(convert(m) for m in paged(ctx, make_pager, what))


GATEWAY_TYPE = "Microsoft.Network/virtualNetworkGateways"
CONNECTION_TYPE = "Microsoft.Network/connections"
RESOURCES_API = "2021-04-01"


def _resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def list_gateways(clients: Any, subscription_id: str, ctx: CallContext) -> tuple[VnetGateway, ...]:
    """Virtual network gateways with their connection counts. The network SDK lists both per
    resource group only, so ONE generic resource list of the subscription (filtered to the two
    types) finds the groups holding them, then one paged list per such group and type."""
    from urllib.parse import quote

    network = clients.client("network", subscription_id)
    where = f"subscription {subscription_id}"
    flt = f"resourceType eq '{GATEWAY_TYPE}' or resourceType eq '{CONNECTION_TYPE}'"
    url = f"/subscriptions/{subscription_id}/resources?$filter={quote(flt)}&api-version={RESOURCES_API}"
    groups: dict[str, set[str]] = {}
    for item in arm.get_pages(ctx, clients, network, url, f"listing gateways and connections of {where}"):
        kind = str(item.get("type") or "").lower()
        groups.setdefault(kind, set()).add(_resource_group(str(item.get("id") or "")))
    per_gateway: dict[str, int] = {}
    for rg in sorted(groups.get(CONNECTION_TYPE.lower(), set()) - {""}):
        pager = functools.partial(network.virtual_network_gateway_connections.list, rg)
        for conn in paged(ctx, pager, f"listing the connections of resource group {rg} of {where}"):
            for end in ("virtual_network_gateway1", "virtual_network_gateway2"):
                gateway_id = _id(getattr(conn, end, None))
                if gateway_id:
                    per_gateway[gateway_id.lower()] = per_gateway.get(gateway_id.lower(), 0) + 1
    found: list[VnetGateway] = []
    for rg in sorted(groups.get(GATEWAY_TYPE.lower(), set()) - {""}):
        pager = functools.partial(network.virtual_network_gateways.list, rg)
        for m in paged(ctx, pager, f"listing the virtual network gateways of resource group {rg} of {where}"):
            found.append(gateway_from(m, per_gateway.get(str(m.id).lower(), 0)))
    return tuple(found)


def list_inventory(
    clients: Any, subscription_id: str, ctx: CallContext, kinds: Collection[str] | None = None
) -> Inventory:
    """The resource types the checks need (`kinds`: Inventory field names; None: all), one paged
    list call per type."""
    compute = clients.client("compute", subscription_id)
    network = clients.client("network", subscription_id)
    web = clients.client("web", subscription_id)
    listings: dict[str, tuple[Callable[[], Any], Callable[[Any], Any], str]] = {
        "vms": (lambda: compute.virtual_machines.list_all(status_only="true"), vm_from, "virtual machines"),
        "disks": (compute.disks.list, disk_from, "disks"),
        "snapshots": (compute.snapshots.list, snapshot_from, "snapshots"),
        "public_ips": (network.public_ip_addresses.list_all, public_ip_from, "public IPs"),
        "nics": (network.network_interfaces.list_all, nic_from, "network interfaces"),
        "plans": (web.app_service_plans.list, plan_from, "App Service plans"),
        "load_balancers": (network.load_balancers.list_all, load_balancer_from, "load balancers"),
        "app_gateways": (network.application_gateways.list_all, app_gateway_from, "application gateways"),
    }
    where = f"subscription {subscription_id}"
    listed = {
        kind: _listing(ctx, pager, convert, f"listing {what} of {where}")
        for kind, (pager, convert, what) in listings.items()
        if kinds is None or kind in kinds
    }
    balancers = listed.pop("load_balancers", ()) + listed.pop("app_gateways", ())
    if kinds is None or "gateways" in kinds:
        listed["gateways"] = list_gateways(clients, subscription_id, ctx)
    return Inventory(subscription_id=subscription_id, **listed, balancers=balancers)
