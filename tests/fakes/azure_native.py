"""More of the fake ARM server (tests/fakes/azure_arm.py): virtual network gateways and their
connections, Azure Resource Graph queries over Advisor, and Cost Management savings plan (benefit)
recommendations. Installed by `FakeArm` itself (`seed` then `routes`), behind its bearer-token,
api-version and 403 checks; every list is paged.

What it mimics, and from where:
- Resources - List (Resource Management REST API 2021-04-01):
  `GET /subscriptions/{s}/resources?$filter=resourceType eq '...' or resourceType eq '...'`, items
  {id, name, type, location}, paged by `nextLink`.
- Virtual Network Gateways - List and Virtual Network Gateway Connections - List (Network REST API
  2024-05-01), per resource group: a gateway's `properties.gatewayType` (Vpn | ExpressRoute),
  `properties.sku.name` (VpnGw1..5, VpnGw1AZ.., ErGw1AZ.., Standard...),
  `properties.vpnClientConfiguration.vpnClientAddressPool.addressPrefixes` (point-to-site); a
  connection's `properties.virtualNetworkGateway1.id` / `virtualNetworkGateway2.id`,
  `connectionType`, `connectionStatus`.
- Resources - Resources (Resource Graph REST API 2024-04-01):
  `POST /providers/Microsoft.ResourceGraph/resources` with {query, managementGroups, options:
  {$top, $skipToken, resultFormat}}; answers {totalRecords, count, resultTruncated, facets, data,
  $skipToken while more rows remain}. The `advisorresources` table holds the Advisor
  recommendations (id, name, type, subscriptionId, properties as in Advisor's REST API); the query
  text is matched loosely (its table and the category clause), not parsed as KQL.
- Benefit Recommendations - List (Cost Management REST API 2025-03-01):
  `GET {billingScope}/providers/Microsoft.CostManagement/benefitRecommendations` with `$filter` on
  properties/scope, lookBackPeriod, term; items kind SavingsPlan with properties scope,
  subscriptionId, lookBackPeriod, term, armSkuName (Compute_Savings_Plan), commitmentGranularity
  (Hourly), currencyCode, costWithoutBenefit, firstConsumptionDate, lastConsumptionDate,
  totalHours and recommendationDetails {averageUtilizationPercentage, benefitCost,
  commitmentAmount, coveragePercentage, overageCost, savingsAmount, savingsPercentage, totalCost,
  wastageCost}: costs and savings over the lookback's totalHours (learn.microsoft.com/rest/api/
  cost-management/benefit-recommendations/list and its BenefitRecommendationsByBillingAccount
  example).

- Reservations Summaries - List (Consumption REST API 2024-08-01) at a billing account scope:
  `GET /providers/Microsoft.Billing/billingAccounts/{a}/providers/Microsoft.Consumption/
  reservationSummaries?grain=daily&$filter=properties/usageDate ge '..' AND properties/usageDate le
  '..'`, items {id, name, type, kind, properties: reservationOrderId, reservationId, skuName, kind,
  reservedHours, usedHours, usageDate, min/avg/maxUtilizationPercentage}, paged by `nextLink`; the
  reservations' amortized cost is in the ledger (Cost Management dimension ReservationId).

`graph_forbidden` (bool) answers 403 to every Resource Graph query; `benefit_forbidden` holds
subscriptions answering 403 to benefit recommendations only; `billing_forbidden` (bool) answers
403 at the billing account scope.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.fakes.http import Reply, Request

if TYPE_CHECKING:
    from tests.fakes.azure_arm import FakeArm

GRAPH_PAGE = 2
SUMMARY_PAGE = 40
BILLING_ACCOUNT = "12345678"
RESERVATION_HALF_USED = "aaaaaaaa-0000-4000-8000-000000000001"  # 50% used, priced by its amortized cost
RESERVATION_WELL_USED = "aaaaaaaa-0000-4000-8000-000000000002"  # 98% used: healthy
RESERVATION_UNPRICED = "aaaaaaaa-0000-4000-8000-000000000003"  # 83% used, no cost in Cost Management
ORDER = "bbbbbbbb-0000-4000-8000-00000000000b"
VNG = "Microsoft.Network/virtualNetworkGateways"
CONNECTION = "Microsoft.Network/connections"
SUMMARY_TYPE = "Microsoft.Consumption/reservationSummaries"


def _forbidden(action: str, scope: str) -> Reply:
    from tests.fakes.azure_arm import CLIENT_ID

    return Reply.error(
        403,
        "AuthorizationFailed",
        f"The client '{CLIENT_ID}' does not have authorization to perform action '{action}' over scope "
        f"'{scope}'",
    )


# ---------------------------------------------------------------------------------------------
# estate
# ---------------------------------------------------------------------------------------------


def gateway(fake: FakeArm, sub: str, rg: str, name: str, kind: str, sku: str, p2s: bool = False) -> str:
    from tests.fakes.azure_arm import rid

    gw_id = rid(sub, VNG, name, rg)
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "gatewayType": kind,
        "vpnType": "RouteBased",
        "sku": {"name": sku, "tier": sku, "capacity": 2},
        "ipConfigurations": [
            {
                "id": f"{gw_id}/ipConfigurations/default",
                "name": "default",
                "properties": {
                    "publicIPAddress": {
                        "id": rid(sub, "Microsoft.Network/publicIPAddresses", f"{name}-pip", rg)
                    }
                },
            }
        ],
    }
    if p2s:
        props["vpnClientConfiguration"] = {"vpnClientAddressPool": {"addressPrefixes": ["172.16.201.0/24"]}}
    fake._add(
        sub,
        "vngs",
        {
            "id": gw_id,
            "name": name,
            "type": VNG,
            "location": "westeurope",
            "tags": {"team": "net"},
            "properties": props,
        },
    )
    return gw_id


def connection(fake: FakeArm, sub: str, rg: str, name: str, gateway_id: str) -> str:
    from tests.fakes.azure_arm import rid

    conn_id = rid(sub, CONNECTION, name, rg)
    props = {
        "provisioningState": "Succeeded",
        "connectionType": "IPsec",
        "connectionStatus": "Connected",
        "virtualNetworkGateway1": {"id": gateway_id},
        "localNetworkGateway2": {"id": rid(sub, "Microsoft.Network/localNetworkGateways", "onprem", rg)},
    }
    fake._add(
        sub,
        "connections",
        {"id": conn_id, "name": name, "type": CONNECTION, "location": "westeurope", "properties": props},
    )
    return conn_id


def savings_plan(fake: FakeArm, sub: str, name: str, saving: str, hourly: str, term: str = "P1Y") -> str:
    """A savings plan recommendation saving `saving` over the 720 hours of a 30-day lookback."""
    from tests.fakes.azure_arm import iso

    rec_id = f"/subscriptions/{sub}/providers/Microsoft.CostManagement/benefitRecommendations/{name}"
    total = Decimal("720") * Decimal("1.2") * Decimal(hourly)
    details = {
        "averageUtilizationPercentage": 99.33,
        "benefitCost": float(Decimal(hourly) * 720),
        "commitmentAmount": float(Decimal(hourly)),
        "coveragePercentage": 54.61,
        "overageCost": 144.84,
        "savingsAmount": float(Decimal(saving)),
        "savingsPercentage": 9.8,
        "totalCost": float(total),
        "wastageCost": 0.04,
    }
    fake.benefit_recs.setdefault(sub, []).append(
        {
            "id": rec_id,
            "name": name,
            "type": "Microsoft.CostManagement/benefitRecommendations",
            "kind": "SavingsPlan",
            "properties": {
                "scope": "Single",
                "subscriptionId": sub,
                "lookBackPeriod": "Last30Days",
                "term": term,
                "armSkuName": "Compute_Savings_Plan",
                "commitmentGranularity": "Hourly",
                "currencyCode": "USD",
                "costWithoutBenefit": float(total + Decimal(saving)),
                "firstConsumptionDate": iso(fake.now - timedelta(days=30)),
                "lastConsumptionDate": iso(fake.now),
                "totalHours": 720,
                "recommendationDetails": details,
            },
        }
    )
    return rec_id


def seed(fake: FakeArm) -> None:
    from tests.fakes.azure_arm import SUB_PROD

    p = SUB_PROD
    # VpnGw2 with no connection: also in Advisor's list (138.70); our list price (357.70) is larger
    fake.vgw_idle = gateway(fake, p, "rg-net", "vgw-idle", "Vpn", "VpnGw2")
    fake.vgw_connected = gateway(fake, p, "rg-net", "vgw-connected", "Vpn", "VpnGw1")
    fake.vgw_p2s = gateway(fake, p, "rg-net", "vgw-p2s", "Vpn", "VpnGw1", p2s=True)  # healthy: P2S clients
    fake.ergw_idle = gateway(fake, p, "rg-er", "ergw-idle", "ExpressRoute", "ErGw1AZ")
    connection(fake, p, "rg-conn", "conn-onprem", fake.vgw_connected)  # a connection in another group
    fake.sp_recommended = savings_plan(fake, p, "sp-compute-1y", "216.00", "1.50")
    savings_plan(fake, p, "sp-compute-small", "0", "0.10")  # no saving: not reported
    savings_plan(fake, p, "sp-compute-tiny", "-3.00", "0.05")  # costs more than it saves: not reported
    savings_plan(fake, p, "sp-compute-3y", "500.00", "1.20", term="P3Y")  # the filter leaves it out


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def billing_scope() -> str:
    return f"/providers/Microsoft.Billing/billingAccounts/{BILLING_ACCOUNT}"


def routes(fake: FakeArm) -> None:
    s, arm = fake.server, fake._arm
    s.route(
        "GET",
        r"/providers/Microsoft\.Billing/billingAccounts/(?P<account>[^/]+)/providers/Microsoft\.Consumption/"
        r"reservationSummaries",
        arm(lambda req: _summaries(fake, req)),
    )
    s.route("GET", r"/subscriptions/(?P<sub>[^/]+)/resources", arm(lambda req: _generic(fake, req)))
    s.route(
        "GET",
        r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.Network/"
        r"(?P<kind>virtualNetworkGateways|connections)",
        arm(lambda req: _in_group(fake, req)),
    )
    s.route("POST", r"/providers/Microsoft\.ResourceGraph/resources", arm(lambda req: _graph(fake, req)))
    s.route(
        "GET",
        r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.CostManagement/benefitRecommendations",
        arm(lambda req: _benefits(fake, req)),
    )


def _generic(fake: FakeArm, req: Request) -> Reply:
    wanted = {t.lower() for t in re.findall(r"resourceType eq '([^']+)'", req.arg("$filter") or "")}
    mine = fake.resources.get(req.match["sub"], {})
    items = [
        {k: r[k] for k in ("id", "name", "type", "location")}
        for kind in ("vngs", "connections")
        for r in mine.get(kind, [])
        if not wanted or r["type"].lower() in wanted
    ]
    return fake._page(req, items)


def _in_group(fake: FakeArm, req: Request) -> Reply:
    kind = "vngs" if req.match["kind"] == "virtualNetworkGateways" else "connections"
    rg = f"/resourcegroups/{req.match['rg'].lower()}/"
    items = [r for r in fake.resources.get(req.match["sub"], {}).get(kind, []) if rg in r["id"].lower()]
    return fake._page(req, items)


def _graph(fake: FakeArm, req: Request) -> Reply:
    from tests.fakes.azure_arm import MG, SUBSCRIPTIONS

    body = req.json() or {}
    groups = body.get("managementGroups") or []
    if fake.graph_forbidden:
        return _forbidden(
            "Microsoft.ResourceGraph/resources/read",
            f"/providers/Microsoft.Management/managementGroups/{groups}",
        )
    if groups != [MG] or "advisorresources" not in str(body.get("query", "")).lower():
        return Reply.error(400, "BadRequest", "Please provide a valid query and scope")
    cost_only = re.search(r"properties\.category\s*==\s*'Cost'", body["query"]) is not None
    rows = [
        {"id": rec["id"], "name": rec["name"], "subscriptionId": sub, "properties": rec["properties"]}
        for sub in SUBSCRIPTIONS
        for rec in fake.advisor.get(sub, [])
        if not cost_only or rec["properties"]["category"] == "Cost"
    ]
    options = body.get("options") or {}
    start = int(str(options.get("$skipToken") or "skip-0").rsplit("-", 1)[-1])
    size = min(int(options.get("$top") or 1000), GRAPH_PAGE)
    chunk = rows[start : start + size]
    answer: dict[str, Any] = {
        "totalRecords": len(rows),
        "count": len(chunk),
        "resultTruncated": "false",
        "facets": [],
        "data": chunk,
    }
    if start + size < len(rows):
        answer["$skipToken"] = f"skip-{start + size}"
    return Reply.json(answer)


def _benefits(fake: FakeArm, req: Request) -> Reply:
    sub = req.match["sub"]
    if sub in fake.benefit_forbidden:
        return _forbidden("Microsoft.CostManagement/benefitRecommendations/read", f"/subscriptions/{sub}")
    items = fake.benefit_recs.get(sub, [])
    for key, value in re.findall(r"properties/(\w+) eq '([^']+)'", req.arg("$filter") or ""):
        items = [i for i in items if str(i["properties"].get(key, "")).lower() == value.lower()]
    return fake._page(req, items)


def _summaries(fake: FakeArm, req: Request) -> Reply:
    from datetime import date

    account = req.match["account"]
    if fake.billing_forbidden or account != BILLING_ACCOUNT:
        return _forbidden("Microsoft.Consumption/reservationSummaries/read", billing_scope())
    if req.arg("grain") != "daily":
        return Reply.error(400, "BadRequest", "grain must be daily or monthly; this fake serves daily")
    bounds = dict(re.findall(r"properties/usageDate (ge|le) '([0-9-]{10})'", req.arg("$filter") or ""))
    if set(bounds) != {"ge", "le"}:
        return Reply.error(400, "BadRequest", "daily grain needs a usageDate ge/le $filter")
    start, end = date.fromisoformat(bounds["ge"]), date.fromisoformat(bounds["le"])
    items = []
    day = fake.today - timedelta(days=40)
    while day < fake.today:
        if start <= day <= end:
            for rid, sku, used in (
                (RESERVATION_HALF_USED, "Standard_D2s_v3", "12"),
                (RESERVATION_WELL_USED, "Standard_E4s_v5", "23.5"),
                (RESERVATION_UNPRICED, "Standard_B2ms", "20"),
            ):
                pct = float(Decimal(used) * 100 / 24)
                items.append(
                    {
                        "id": f"{billing_scope()}/providers/{SUMMARY_TYPE}/{rid}-{day}",
                        "name": f"{rid}-{day}",
                        "type": SUMMARY_TYPE,
                        "kind": "legacy",
                        "properties": {
                            "reservationOrderId": ORDER,
                            "reservationId": rid,
                            "skuName": sku,
                            "kind": "Reservation",
                            "reservedHours": 24,
                            "usedHours": float(used),
                            "usageDate": f"{day.isoformat()}T00:00:00Z",
                            "minUtilizationPercentage": pct,
                            "avgUtilizationPercentage": pct,
                            "maxUtilizationPercentage": pct,
                        },
                    }
                )
        day += timedelta(days=1)
    return fake._page(req, items, SUMMARY_PAGE)
