"""The demo estate as resources: which resources exist, where, how they are tagged and priced.

`build_plan` is pure Python and deterministic for its arguments: every random choice comes from a
`random.Random` seeded from (seed, export) and consumed in a fixed order, and SKU ids are hashes of
what they identify. The generator turns the plan into daily FOCUS rows in DuckDB SQL.

A resource has one or more charge lines (SKUs). A line's daily quantity follows a profile:

- `STEADY`: always on (instances, clusters, provisioned databases): the same quantity every day;
- `SEASONAL`: demand driven (requests, transfer, autoscaled hours): weekly seasonality, a gentle
  trend and noise;
- `GROWING`: stored data: grows slowly, tiny noise.

Lines priced per month (`per_month`, e.g. GB-months) accrue `base_qty / days_in_month` per day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from finops_mcp.demo import catalog as cat
from finops_mcp.demo.estate import STEADY, Plan, Resource, Spike, _Rand, _Site, stable_hash
from finops_mcp.demo.estate import sku_ids as sku_ids  # re-exported with Plan: the plan's public face
from finops_mcp.demo.kinds import _KINDS


# ------------------------------------------------------------------------------------------- the plan
class _Builder:
    """Creates resources for one plan; names are unique per export."""

    def __init__(self, plan_days: int, seed: int) -> None:
        self.days = plan_days
        self.seed = seed
        self.resources: list[Resource] = []
        self.seq: Counter[str] = Counter()

    def next_name(self, base: str, width: int = 2) -> str:
        self.seq[base] += 1
        return f"{base}-{self.seq[base]:0{width}d}"

    # ------------------------------------------------------------------ shared bits
    def _tags(self, rnd: _Rand, account: cat.Account, team: str, app: str) -> dict[str, str] | None:
        env = account.env
        if env == "production" and rnd.random() < 0.03:
            env = "prod"  # real estates have inconsistent values
        tags = {"team": team, "environment": env, "cost-center": cat.TEAMS[team][0], "application": app}
        if rnd.random() < 0.5:
            tags["managed-by"] = "terraform"
        if rnd.random() < 0.08:  # missing one or more required tags
            mode = rnd.random()
            if mode < 0.3:
                return None
            if mode < 0.55:
                del tags["cost-center"]
            elif mode < 0.75:
                del tags["team"]
            elif mode < 0.9:
                del tags["environment"]
            else:
                del tags["team"], tags["cost-center"]
        return tags

    def add(self, res: Resource) -> Resource:
        res.rid = len(self.resources) + 1
        res.end_i = self.days - 1
        self.resources.append(res)
        return res

    def new(
        self,
        kind: str,
        rnd: _Rand,
        account: cat.Account,
        *,
        region: str | None = None,
        team: str | None = None,
        app: str | None = None,
        tags: dict[str, str] | bool | None = True,
        opts: Mapping[str, Any] | None = None,
    ) -> Resource:
        if region is None:
            region = rnd.choices([r for r, _ in account.regions], weights=[w for _, w in account.regions])[0]
        team = team or rnd.choice(account.teams)
        app = app or rnd.choice(cat.TEAMS[team][1])
        tag_map = self._tags(rnd, account, team, app) if tags is True else (tags or None)
        export = cat.EXPORT_BY_KEY[account.export]
        spec = _KINDS[kind]
        built = spec.build(_Site(self, rnd, export, account, region, app, opts or {}))
        res = Resource(
            rid=0,
            export=export.key,
            account=account,
            service=spec.service,
            category=spec.category,
            region=built.region,
            zone=built.zone,
            resource_id=built.resource_id,
            resource_name=built.name,
            resource_type=spec.resource_type,
            tags=tag_map,
            pricing_category="Dynamic" if built.spot else "Standard",
            lines=built.lines,
            kind=kind,
        )
        return self.add(res)


def _accounts(export: str) -> list[cat.Account]:
    return [a for a in cat.ACCOUNTS if a.export == export]


@dataclass(frozen=True)
class _Hero:
    """A fixed resource the story needs at every scale."""

    kind: str
    account: str  # Account.id
    region: str | None  # None: drawn from the account's regions
    team: str
    app: str
    name: str
    opts: Mapping[str, Any] = field(default_factory=dict)  # the kind's fixed choices (size, mode...)
    tags: dict[str, str] | bool | None = True  # True: tagged like any resource; None: untagged
    role: str | None = None  # its group in `_heroes`' result


_SP = {"size": "r6i.2xlarge", "mode": "steady"}  # covered by the Compute Savings Plan
_RI = {"size": "db.r6g.xlarge", "multi_az": False}  # covered by the RDS reservation
_AZ_RI = {"size": "Standard_D8s_v5", "mode": "steady"}  # covered by the Azure VM reservation
_ACME_PROD_WEU = "b3c1e5a2-4f6d-4e8b-9a7c-1d2e3f4a5b6c"  # Azure subscription acme-prod-weu

# in creation order: it decides resource ids and the random draws
_HEROES: tuple[_Hero, ...] = (
    # the Compute Savings Plan covers four instances; the two legacy ones are retired before the end
    _Hero("ec2", "012345678901", "us-east-1", "checkout", "checkout-api", "checkout-api-prod-core-01", _SP,
          role="sp"),
    _Hero("ec2", "012345678901", "us-east-1", "checkout", "checkout-api", "checkout-api-prod-core-02", _SP,
          role="sp"),
    _Hero("ec2", "012345678901", "us-east-1", "data", "reporting", "reporting-legacy-prod-01", _SP,
          role="sp_gone"),
    _Hero("ec2", "012345678901", "us-east-1", "data", "reporting", "reporting-legacy-prod-02", _SP,
          role="sp_gone"),
    # the RDS reservation covers two databases
    _Hero("rds", "012345678901", "us-east-1", "checkout", "checkout-api", "checkout-prod-pg", _RI, role="ri"),
    _Hero("rds", "012345678901", "us-east-1", "identity", "auth-service", "identity-prod-pg", _RI, role="ri"),
    # the AWS Lambda spike, an untagged instance, a partly tagged bucket, the Acme Labs API
    _Hero("lambda", "310957286644", "us-west-2", "data", "etl-pipelines", "etl-partition-loader",
          {"requests": 8e6, "gb_seconds": 2.2e6}),
    _Hero("ec2", "068719532447", "us-west-2", "platform", "ci-runners", "test-instance-do-not-delete",
          {"size": "t3.large", "mode": "steady"}, tags=None),
    _Hero("s3", "068719532447", "us-west-2", "data", "data-lake", "acme-tmp-exports-2023",
          tags={"team": "data", "environment": "development", "application": "data-lake"}),
    _Hero("ec2", "092235618840", "us-east-1", "labs", "labs-api", "labs-api-prod-01",
          {"size": "m6i.xlarge", "mode": "steady"}),
    # the Azure VM reservation: its instances, the last two retired before the end
    *(
        _Hero("vm", _ACME_PROD_WEU, "westeurope", "search", "search-api", f"vm-search-prod-weu-{i:02d}",
              _AZ_RI, role="azure_gone" if i > cat.AZURE_RI_INSTANCES - 2 else "azure_ri")
        for i in range(1, cat.AZURE_RI_INSTANCES + 1)
    ),
    # a partly tagged jump box
    _Hero("vm", "0f4a8b2c-6d1e-4f3a-b5c7-e8d9a0b1c2d3", "westeurope", "platform", "edge-gateway",
          "vm-jumpbox-01", {"size": "Standard_B2ms", "mode": "steady"},
          tags={"team": "platform", "application": "bastion"}),
    # the BigQuery spike, an ML training runner, a partly tagged bucket
    _Hero("bigquery", "acme-data-platform", None, "data", "reporting", "analytics_events",
          {"tib": 9.0, "storage_gib": 20000}),
    _Hero("gce", "acme-ml-sandbox", "us-central1", "ml", "model-training", "training-runner-01",
          {"size": "n2-standard-8", "mode": "steady"}),
    _Hero("gcs", "acme-ml-sandbox", "us-central1", "ml", "model-training", "acme-ml-scratch",
          tags={"environment": "development", "cost-center": "CC-1006"}),
)  # fmt: skip


def _heroes(b: _Builder, rnd: dict[str, _Rand], n_days: int) -> dict[str, list[Resource]]:
    """Fixed resources the story needs at every scale: commitments, spikes, untagged examples."""
    out: dict[str, list[Resource]] = {"sp": [], "sp_gone": [], "ri": [], "azure_ri": [], "azure_gone": []}
    for hero in _HEROES:
        account = cat.ACCOUNT_BY_ID[hero.account]
        res = b.new(
            hero.kind,
            rnd[account.export],
            account,
            region=hero.region,
            team=hero.team,
            app=hero.app,
            tags=hero.tags,
            opts={**hero.opts, "name": hero.name},
        )
        if hero.role:
            out[hero.role].append(res)
    return out


def build_plan(start: date, end: date, seed: int, scale: float) -> Plan:
    n_days = (end - start).days + 1
    b = _Builder(n_days, seed)
    rnd = {e.key: _Rand(stable_hash("demo", seed, e.key)) for e in cat.EXPORTS}
    heroes = _heroes(b, rnd, n_days)
    hero_count = Counter(r.export for r in b.resources)
    sp_covered: list[Resource] = []
    for export in cat.EXPORTS:
        r = rnd[export.key]
        accounts = _accounts(export.key)
        weights = [a.weight for a in accounts]
        mix = cat.SERVICE_MIX[export.key]
        fleet = max(0, round(export.fleet * scale) - hero_count[export.key])
        for _ in range(fleet):
            account = r.choices(accounts, weights=weights)[0]
            kind = r.pick(mix)
            res = b.new(kind, r, account)
            if r.random() < 0.02 and n_days > 30:  # deleted some time ago
                res.end_i = r.randrange(n_days // 5, n_days - 20)
            if (
                kind == "ec2"
                and account.id == "012345678901"
                and res.pricing_category == "Standard"
                and res.lines[0].profile == STEADY
                and res.end_i == n_days - 1
                and r.random() < 0.6
            ):
                sp_covered.append(res)
    # --- commitments -------------------------------------------------------------------------------
    sp_decommission = max(0, n_days - 12)  # first day without the retired instances
    cover_rnd = _Rand(stable_hash("cover", seed))
    for res in heroes["sp"] + heroes["sp_gone"] + sp_covered:
        _cover(res, "aws-sp", 0)
    for res in heroes["sp_gone"]:
        res.end_i = sp_decommission - 1
    for res in sp_covered:
        if cover_rnd.random() < 0.12:
            res.end_i = sp_decommission - 1
    ri_purchase = 45 if n_days > 90 else 0
    for res in heroes["ri"]:
        _cover(res, "aws-rds-ri", ri_purchase, lines=(1,))
    azure_decommission = max(0, n_days - 25)
    for res in heroes["azure_ri"] + heroes["azure_gone"]:
        _cover(res, "azure-ri", 0)
    for res in heroes["azure_gone"]:
        res.end_i = azure_decommission - 1
    # --- spikes (SEASONAL lines of every resource of the service in the account) ---------------------
    spikes = [
        Spike(
            "aws",
            "310957286644",
            "AWS Lambda",
            end - timedelta(days=15),
            end - timedelta(days=13),
            5.0,
            False,
        ),
        Spike("gcp", "acme-data-platform", "BigQuery", end - timedelta(days=3), end, 6.0, True),
    ]
    for spike in spikes:
        first, last = (spike.first - start).days, (spike.last - start).days
        if first < 0:
            continue
        for res in b.resources:
            if (
                res.export == spike.export
                and res.account.id == spike.account
                and res.service == spike.service
            ):
                res.spike = (first, last, spike.factor)
    return Plan(
        start, end, n_days, seed, b.resources, spikes, ri_purchase, sp_decommission, azure_decommission
    )


def _cover(res: Resource, commitment: str, first_day: int, lines: tuple[int, ...] = (1,)) -> None:
    c = cat.COMMITMENT_BY_KEY[commitment]
    for line in res.lines:
        if line.line in lines:
            line.commitment = commitment
            line.commitment_from = first_day
            line.effective_unit_price = round(line.list_unit_price * c.effective_share, 10)
