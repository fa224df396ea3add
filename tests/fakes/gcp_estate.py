"""A seeded GCP estate for tests: billing export rows (standard, detailed and FOCUS tables), budgets,
projects, Compute resources and recommendations, served by `FakeGcp` + `FakeBigQuery`, plus an
independent plain-Python computation of the export's numbers (`reference_cost`, `reference_budget`).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.fakes.gcp import (
    FakeGcp,
    address_json,
    budget_json,
    disk_json,
    image_json,
    image_link,
    instance_json,
    instance_link,
    recommendation_json,
    service_account_file,
    snapshot_json,
)
from tests.fakes.gcp_bigquery import DETAILED_SCHEMA, FOCUS_SCHEMA, STANDARD_SCHEMA, FakeBigQuery
from tests.fakes.http import FakeHTTPServer

ACCOUNT = "0123AB-4567CD-89EF01"
STANDARD_TABLE = "billing-admin-prj.billing_export.gcp_billing_export_v1_0123AB_4567CD_89EF01"
DETAILED_TABLE = "billing-admin-prj.billing_export.gcp_billing_export_resource_v1_0123AB_4567CD_89EF01"
FOCUS_TABLE = "billing-admin-prj.focus_export.gcp_billing_export_focus_0123AB_4567CD_89EF01"
PROJECTS = {"alpha-prj": "111", "beta-prj": "222", "gamma-prj": "333"}
SERVICES = {
    "6F81-5844-456A": "Compute Engine",
    "95FF-2EF5-5EA1": "Cloud Storage",
    "24E6-581D-38E5": "BigQuery",
}
REGIONS = ("us-central1", "europe-west1")
LATE_DAYS = 20  # one row exported this late: beyond the provider's partition window, never counted

Row = dict[str, Any]


def _ts(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def export_rows(today: date, seed: int = 5) -> list[Row]:
    """~75 days of standard/detailed export rows ending yesterday, with credits, taxes, labels, lag."""
    rng = random.Random(seed)
    rows: list[Row] = []
    start = today - timedelta(days=75)
    day = start
    while day < today:
        for pid, number in PROJECTS.items():
            for sid, sname in SERVICES.items():
                region = REGIONS[(len(pid) + len(sid) + day.day) % 2]
                cost = round(rng.uniform(1, 40) * (2 if sname == "Compute Engine" else 1), 6)
                credits = []
                if sname == "Compute Engine":
                    credits.append(
                        {
                            "name": "Sustained usage discount",
                            "amount": -round(cost * 0.2, 6),
                            "full_name": None,
                            "id": "sud",
                            "type": "SUSTAINED_USAGE_DISCOUNT",
                        }
                    )
                if pid == "gamma-prj" and day.day % 3 == 0:
                    credits.append(
                        {
                            "name": "Free trial",
                            "amount": -round(cost * 0.5, 6),
                            "full_name": None,
                            "id": "promo",
                            "type": "PROMOTION",
                        }
                    )
                labels = [{"key": "team", "value": "data" if pid != "beta-prj" else "web"}]
                if sname != "BigQuery":
                    labels.append({"key": "env", "value": "prod"})
                lag = 0 if day.day % 4 else 2  # some rows land two days later
                rows.append(
                    {
                        "billing_account_id": ACCOUNT,
                        "service": {"id": sid, "description": sname},
                        "sku": {"id": f"{sid}-sku", "description": f"{sname} usage"},
                        "usage_start_time": _ts(day, 3),
                        "usage_end_time": _ts(day, 4),
                        "project": {"id": pid, "number": number, "name": pid, "labels": []},
                        "labels": labels,
                        "location": {"location": region, "country": "US", "region": region, "zone": None},
                        "export_time": _ts(day + timedelta(days=lag), 6),
                        "cost": cost,
                        "currency": "USD",
                        "usage": usage_of(sname, cost),
                        "credits": credits,
                        "cost_type": "regular",
                        "resource": {
                            "name": f"projects/{pid}/{sname.lower().replace(' ', '-')}/res-{day.day % 3}",
                            "global_name": None,
                        },
                        "_PARTITIONTIME": _ts(day + timedelta(days=lag)),
                    }
                )
        if day.day == 1:  # monthly tax line
            rows.append(_extra(day, "alpha-prj", cost=12.5, cost_type="tax"))
        day += timedelta(days=1)
    # exported far too late for the partition window: never counted
    rows.append(_extra(today - timedelta(days=30), "alpha-prj", cost=999.0, lag=LATE_DAYS))
    # another billing account's row in the same table (resellers): not this account's cost
    rows.append(
        {**_extra(today - timedelta(days=2), "alpha-prj", cost=777.0), "billing_account_id": "OTHER-ACCOUNT"}
    )
    return rows


UNIT_PRICES = {"Compute Engine": (0.05, "seconds"), "Cloud Storage": (0.02, "byte-seconds")}


def usage_of(service: str, cost: float) -> Row | None:
    """The row's usage (`usage.amount` in `usage.unit`) at a fixed unit price; BigQuery rows
    have none (NULL), as some SKUs do, so their quantity is unknown."""
    if service not in UNIT_PRICES:
        return None
    price, unit = UNIT_PRICES[service]
    return {
        "amount": round(cost / price, 6),
        "unit": unit,
        "amount_in_pricing_units": None,
        "pricing_unit": None,
    }


def _extra(day: date, pid: str, cost: float, cost_type: str = "regular", lag: int = 0) -> Row:
    return {
        "billing_account_id": ACCOUNT,
        "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
        "sku": {"id": "x", "description": "x"},
        "usage_start_time": _ts(day, 12),
        "usage_end_time": _ts(day, 13),
        "project": {"id": pid, "number": PROJECTS[pid], "name": pid, "labels": []},
        "labels": [],
        "location": {"location": "us-central1", "country": "US", "region": "us-central1", "zone": None},
        "export_time": _ts(day + timedelta(days=lag), 6),
        "cost": cost,
        "currency": "USD",
        "credits": [],
        "cost_type": cost_type,
        "resource": {"name": None, "global_name": None},
        "_PARTITIONTIME": _ts(day + timedelta(days=lag)),
    }


def focus_rows(rows: list[Row]) -> list[Row]:
    """The same money in the FOCUS export's shape (BilledCost = cost + credits)."""
    out = []
    for r in rows:
        credits = sum(c["amount"] for c in r["credits"])
        promo = sum(c["amount"] for c in r["credits"] if c["type"] == "PROMOTION")
        out.append(
            {
                "BillingAccountId": r["billing_account_id"],
                "SubAccountId": r["project"]["id"],
                "ServiceName": r["service"]["description"],
                "RegionId": r["location"]["region"],
                "ResourceId": r["resource"]["name"],
                "ChargeCategory": "Tax" if r["cost_type"] == "tax" else "Usage",
                "ChargePeriodStart": r["usage_start_time"],
                "BilledCost": str(Decimal(str(r["cost"])) + Decimal(str(credits))),
                "EffectiveCost": str(Decimal(str(r["cost"])) + Decimal(str(credits)) - Decimal(str(promo))),
                "BillingCurrency": r["currency"],
                "Tags": r["labels"],
                "_PARTITIONTIME": r["_PARTITIONTIME"],
            }
        )
    return out


# ---------------------------------------------------------------------------------------------
# independent computation
# ---------------------------------------------------------------------------------------------


def row_amount(
    r: Row, cost_type: str = "billed", credit_filter: Callable[[Row], bool] | None = None
) -> Decimal:
    keep = credit_filter or (lambda c: cost_type == "billed" or c["type"] != "PROMOTION")
    return Decimal(str(r["cost"])) + sum(
        (Decimal(str(c["amount"])) for c in r["credits"] if keep(c)), Decimal(0)
    )


def counted(r: Row, start: date, end: date, account: str | None = ACCOUNT) -> bool:
    """What the provider must count for [start, end]: usage day in range, the account's row, and a
    partition no later than PARTITION_LAG_DAYS (7) after the end."""
    day = r["usage_start_time"].date()
    part = r["_PARTITIONTIME"].date()
    return (
        start <= day <= end
        and (account is None or r["billing_account_id"] == account)
        and start - timedelta(days=1) <= part < end + timedelta(days=8)
    )


def reference_cost(
    rows: list[Row],
    start: date,
    end: date,
    key: Callable[[Row], Any] = lambda r: None,
    cost_type: str = "billed",
    where: Callable[[Row], bool] = lambda r: True,
    account: str | None = ACCOUNT,
) -> dict[Any, Decimal]:
    out: dict[Any, Decimal] = {}
    for r in rows:
        if counted(r, start, end, account) and where(r):
            k = key(r)
            out[k] = out.get(k, Decimal(0)) + row_amount(r, cost_type)
    return out


def label(r: Row, key: str) -> str:
    return next((lv["value"] for lv in r["labels"] if lv["key"] == key), "")


# ---------------------------------------------------------------------------------------------
# the estate
# ---------------------------------------------------------------------------------------------


@dataclass
class GcpEstate:
    api: FakeGcp
    bq: FakeBigQuery
    rows: list[Row]
    today: date
    sa_path: Path
    servers: list[FakeHTTPServer] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        values = {
            "FINOPS_PROVIDERS": "gcp",
            "FINOPS_GCP_BILLING_ACCOUNT": ACCOUNT,
            "FINOPS_GCP_BILLING_EXPORT_TABLE": STANDARD_TABLE,
            "FINOPS_GCP_API_ENDPOINT": self.api.url,
            "FINOPS_GCP_BIGQUERY_ENDPOINT": self.bq.url,
            "GOOGLE_APPLICATION_CREDENTIALS": str(self.sa_path),
            "FINOPS_MAX_RETRIES": "1",
        }
        values.update(extra)
        return values

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.bq.close()


def isolate_env(monkeypatch: Any, tmp_path: Path, values: dict[str, str]) -> None:
    """Only `values` configure the run: no FINOPS_/GOOGLE_ variables, .env file or gcloud config
    from the machine (`monkeypatch`: pytest's MonkeyPatch)."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("FINOPS_", "GOOGLE_", "CLOUDSDK_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def seed_compute(api: FakeGcp, today: date) -> None:
    p = "alpha-prj"
    z = "us-central1-a"
    api.add(p, "instances", f"zones/{z}", instance_json(p, z, "vm-running", "RUNNING", ("boot-1",)))
    api.add(
        p,
        "instances",
        f"zones/{z}",
        instance_json(p, z, "vm-stopped", "TERMINATED", ("stopped-boot", "stopped-data")),
    )
    api.add(
        p,
        "disks",
        f"zones/{z}",
        disk_json(
            p,
            z,
            "boot-1",
            20,
            users=(instance_link(p, z, "vm-running"),),
            sourceImage=image_link(p, "base-image"),
        ),
    )
    stopped = instance_link(p, z, "vm-stopped")
    api.add(p, "disks", f"zones/{z}", disk_json(p, z, "stopped-boot", 50, "pd-balanced", users=(stopped,)))
    api.add(p, "disks", f"zones/{z}", disk_json(p, z, "stopped-data", 200, "pd-ssd", users=(stopped,)))
    api.add(
        p,
        "disks",
        "zones/us-central1-b",
        disk_json(p, "us-central1-b", "orphan-1", 500, "pd-standard", labels={"team": "data"}),
    )
    api.add(p, "disks", "zones/europe-west1-b", disk_json(p, "europe-west1-b", "orphan-eu", 100, "pd-ssd"))
    api.add(p, "disks", f"zones/{z}", disk_json(p, z, "idle-disk", 100, "pd-balanced"))
    api.add(
        p,
        "addresses",
        "regions/us-central1",
        address_json(p, "us-central1", "ip-reserved", "34.1.1.1", "RESERVED"),
    )
    api.add(
        p, "addresses", "regions/us-central1", address_json(p, "us-central1", "ip-used", "34.1.1.2", "IN_USE")
    )
    api.add(
        p,
        "addresses",
        "regions/us-central1",
        address_json(p, "us-central1", "ip-internal", "10.0.0.5", "RESERVED", "INTERNAL"),
    )
    api.add(
        p,
        "addresses",
        "regions/us-central1",
        address_json(p, "us-central1", "ip-idle", "34.1.1.3", "RESERVED"),
    )
    api.add(p, "addresses", "global", address_json(p, "global", "ip-global", "35.2.2.2", "RESERVED"))
    old = (today - timedelta(days=200)).isoformat() + "T00:00:00.000-00:00"
    new = (today - timedelta(days=10)).isoformat() + "T00:00:00.000-00:00"
    api.snapshots[p] = [
        snapshot_json(p, "snap-old", 20, old, f"{z}/disks/boot-1"),
        snapshot_json(p, "snap-new", 20, new, f"{z}/disks/boot-1"),
    ]
    ancient = (today - timedelta(days=400)).isoformat() + "T00:00:00.000-00:00"
    api.images[p] = [  # five: three pages of two
        image_json(p, "old-image", 30, ancient),  # also the image recommender's (4/month): it is kept
        image_json(p, "stale-image", 50, ancient, family="web", deprecated={"state": "DEPRECATED"}),
        image_json(p, "base-image", 10, ancient),  # healthy: boot-1 was created from it
        image_json(p, "fresh-image", 80, new),  # healthy: too recent
        image_json(p, "pending-image", 80, ancient, status="PENDING"),  # healthy: not READY
    ]
    inst = "google.compute.instance.IdleResourceRecommender"
    dsk = "google.compute.disk.IdleResourceRecommender"
    adr = "google.compute.address.IdleResourceRecommender"
    api.recommendations[(p, z, inst)] = [
        recommendation_json(
            p,
            z,
            inst,
            f"projects/{p}/zones/{z}/instances/vm-running",
            "Instance",
            45,
            500_000_000,
            subtype="STOP_VM",
        ),
        recommendation_json(
            p, z, inst, f"projects/{p}/zones/{z}/instances/old", "Instance", 99, state="DISMISSED"
        ),
    ]
    api.recommendations[(p, z, dsk)] = [
        recommendation_json(
            p, z, dsk, f"projects/{p}/zones/{z}/disks/idle-disk", "Disk", 20, days=60, subtype="DELETE_DISK"
        )
    ]
    api.recommendations[(p, "us-central1", adr)] = [
        recommendation_json(
            p,
            "us-central1",
            adr,
            f"projects/{p}/regions/us-central1/addresses/ip-idle",
            "Address",
            7,
            300_000_000,
        )
    ]
    # a running VM the machine-type recommender would shrink (its boot disk in use: no other finding)
    big = instance_link(p, z, "vm-big")
    api.add(p, "instances", f"zones/{z}", instance_json(p, z, "vm-big", "RUNNING", ("big-boot",)))
    api.add(p, "disks", f"zones/{z}", disk_json(p, z, "big-boot", 50, users=(big,)))
    mtype = "google.compute.instance.MachineTypeRecommender"
    api.recommendations[(p, z, mtype)] = [
        recommendation_json(
            p,
            z,
            mtype,
            f"projects/{p}/zones/{z}/instances/vm-big",
            "Instance",
            62,
            subtype="CHANGE_MACHINE_TYPE",
            action="replace",
        )
    ]
    sql = "sqladmin.googleapis.com"
    for recommender, name, saving in (
        ("google.cloudsql.instance.IdleRecommender", "sql-idle", 80),
        ("google.cloudsql.instance.OverprovisionedRecommender", "sql-big", 35),
    ):
        api.recommendations[(p, "us-central1", recommender)] = [
            recommendation_json(
                p,
                "us-central1",
                recommender,
                f"projects/{p}/instances/{name}",
                "Instance",
                saving,
                service=sql,
            )
        ]
    image = "google.compute.image.IdleResourceRecommender"
    api.recommendations[(p, "global", image)] = [
        recommendation_json(p, "global", image, f"projects/{p}/global/images/old-image", "Image", 4)
    ]
    cud = "google.compute.commitment.UsageCommitmentRecommender"
    api.recommendations[(p, "us-central1", cud)] = [  # three: two pages of two
        recommendation_json(
            p,
            "us-central1",
            cud,
            f"projects/{p}/regions/us-central1/commitments/{kind}-cud",
            "Commitment",
            saving,
            subtype="CREATE_COMMITMENT",
            action="add",
        )
        for kind, saving in (
            ("general-purpose-e2", 120),
            ("memory-optimized", 60),
            ("general-purpose-n2", 45),
        )
    ]
    api.add(
        "gamma-prj",
        "disks",
        "zones/us-east1-b",
        disk_json("gamma-prj", "us-east1-b", "gamma-orphan", 10, "pd-standard"),
    )
    api.forbidden.add("beta-prj")
    api.recommender_forbidden.add("gamma-prj")
    api.billing_projects[ACCOUNT] = [
        {
            "name": f"projects/{pid}/billingInfo",
            "projectId": pid,
            "billingAccountName": f"billingAccounts/{ACCOUNT}",
            "billingEnabled": True,
        }
        for pid in PROJECTS
    ] + [{"name": "projects/delta-prj/billingInfo", "projectId": "delta-prj", "billingEnabled": False}]


BUDGETS: list[dict[str, Any]] = [
    {"name": "monthly-total", "amount": 10000, "thresholds": [0.5, 0.9, 1.0]},
    {
        "name": "alpha-compute",
        "amount": 100,
        "thresholds": [0.8],
        "filter": {"projects": ["projects/111"], "services": ["services/6F81-5844-456A"]},
    },
    {
        "name": "team-data-no-credits",
        "amount": 5000,
        "filter": {"labels": {"team": ["data"]}, "creditTypesTreatment": "EXCLUDE_ALL_CREDITS"},
    },
    {"name": "last-period", "last_period": True, "filter": {"calendarPeriod": "MONTH"}},
    {
        "name": "quarterly-promo-only",
        "amount": 50000,
        "filter": {
            "calendarPeriod": "QUARTER",
            "creditTypesTreatment": "INCLUDE_SPECIFIED_CREDITS",
            "creditTypes": ["PROMOTION"],
        },
    },
    {"name": "reseller-subaccount", "amount": 10, "filter": {"subaccounts": ["billingAccounts/SUB-1"]}},
]


def build_estate(tmp: Path, today: date) -> GcpEstate:
    api_server = FakeHTTPServer().start()
    bq_server = FakeHTTPServer().start()
    api = FakeGcp(api_server)
    bq = FakeBigQuery(bq_server, page_size=50)
    rows = export_rows(today)
    bq.add_table(
        STANDARD_TABLE, STANDARD_SCHEMA, [{k: v for k, v in r.items() if k != "resource"} for r in rows]
    )
    bq.add_table(DETAILED_TABLE, DETAILED_SCHEMA, rows)
    bq.add_table(FOCUS_TABLE, FOCUS_SCHEMA, focus_rows(rows))
    seed_compute(api, today)
    api.budgets[ACCOUNT] = [budget_json(ACCOUNT, **b) for b in BUDGETS]
    sa = service_account_file(tmp, api.url + "/token")
    return GcpEstate(api, bq, rows, today, sa, [api_server, bq_server])
