"""A fake GCP REST estate for the google-cloud-* clients (REST transport), on the shared FakeHTTPServer.

Served paths (every list paged with `nextPageToken`, `page_size` items per page):
- Cloud Billing `GET /v1/billingAccounts/<a>/projects` (projectBillingInfo);
- Budgets `GET /v1/billingAccounts/<a>/budgets`;
- Recommender `GET /v1/projects/<p>/locations/<l>/recommenders/<r>/recommendations`
  (honors `stateInfo.state = ACTIVE` filters), for any recommender id: idle resources, machine
  types, Cloud SQL idle / overprovisioned instances, committed use (`recommendation_json` builds
  the Recommendation resource of the Recommender API reference v1: `primaryImpact.costProjection`
  with a negative `cost` Money and a `duration`, `content.operationGroups[].operations[]` naming
  the target by `resourceType` and full resource name, `stateInfo.state`, `recommenderSubtype`);
- Compute `GET /compute/v1/projects/<p>/aggregated/{instances,disks,addresses}`,
  `GET /compute/v1/projects/<p>/global/snapshots` and `GET /compute/v1/projects/<p>/global/images`
  (Compute Engine API v1 reference: images.list, the Image resource's selfLink, status,
  archiveSizeBytes, diskSizeGb, creationTimestamp, family, deprecated.state; a disk's
  `sourceImage`);
- `POST /token`: the OAuth token endpoint a service-account key's `token_uri` points to.

`forbidden` projects answer 403 on every Compute and Recommender path; `recommender_forbidden`
projects only on Recommender paths. JSON builders (`disk`, `instance`, ...) make realistic resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.http import FakeHTTPServer, Reply, Request

J = dict[str, Any]
COMPUTE = "https://www.googleapis.com/compute/v1"


def service_account_file(directory: Path, token_uri: str, project: str = "finops-ci") -> Path:
    """A freshly generated service-account key file whose token endpoint is the fake server."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "fake-key-1",
        "private_key": pem,
        "client_email": f"finops-reader@{project}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path = directory / "sa.json"
    path.write_text(json.dumps(info))
    return path


def _page(items: list[Any], req: Request, size: int) -> tuple[list[Any], str]:
    start = int(req.arg("pageToken") or 0)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else "")


def _forbidden(project: str) -> Reply:
    return Reply.error(403, "PERMISSION_DENIED", f"Permission denied on resource project {project}.")


@dataclass
class FakeGcp:
    server: FakeHTTPServer
    page_size: int = 2
    billing_projects: dict[str, list[J]] = field(default_factory=dict)
    budgets: dict[str, list[J]] = field(default_factory=dict)
    compute: dict[tuple[str, str], list[tuple[str, J]]] = field(default_factory=dict)
    snapshots: dict[str, list[J]] = field(default_factory=dict)
    images: dict[str, list[J]] = field(default_factory=dict)
    recommendations: dict[tuple[str, str, str], list[J]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)
    recommender_forbidden: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        s = self.server
        s.route("POST", r"/token", self._token)
        s.route("GET", r"/v1/billingAccounts/(?P<account>[^/]+)/projects", self._billing_projects)
        s.route("GET", r"/v1/billingAccounts/(?P<account>[^/]+)/budgets", self._budgets)
        s.route(
            "GET",
            r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/recommenders/(?P<rec>[^/]+)/recommendations",
            self._recommendations,
        )
        s.route(
            "GET",
            r"/compute/v1/projects/(?P<project>[^/]+)/aggregated/(?P<kind>instances|disks|addresses)",
            self._aggregated,
        )
        s.route(
            "GET",
            r"/compute/v1/projects/(?P<project>[^/]+)/global/(?P<kind>snapshots|images)",
            self._global,
        )

    @property
    def url(self) -> str:
        return self.server.url

    # -- seeding ------------------------------------------------------------------------------

    def add(self, project: str, kind: str, scope: str, item: J) -> J:
        """Add a compute resource under `scope` (e.g. zones/us-central1-a, regions/us-central1, global)."""
        self.compute.setdefault((project, kind), []).append((scope, item))
        return item

    # -- handlers -------------------------------------------------------------------------------

    def _token(self, req: Request) -> Reply:
        return Reply.json({"access_token": "ya29.fake-token", "expires_in": 3600, "token_type": "Bearer"})

    def _billing_projects(self, req: Request) -> Reply:
        items, token = _page(self.billing_projects.get(req.match["account"], []), req, self.page_size)
        return Reply.json({"projectBillingInfo": items, "nextPageToken": token})

    def _budgets(self, req: Request) -> Reply:
        items, token = _page(self.budgets.get(req.match["account"], []), req, self.page_size)
        return Reply.json({"budgets": items, "nextPageToken": token})

    def _recommendations(self, req: Request) -> Reply:
        project = req.match["project"]
        if project in self.forbidden or project in self.recommender_forbidden:
            return _forbidden(project)
        found = self.recommendations.get((project, req.match["location"], req.match["rec"]), [])
        if "ACTIVE" in (req.arg("filter") or ""):
            found = [r for r in found if r.get("stateInfo", {}).get("state") == "ACTIVE"]
        items, token = _page(found, req, self.page_size)
        return Reply.json({"recommendations": items, "nextPageToken": token})

    def _aggregated(self, req: Request) -> Reply:
        project, kind = req.match["project"], req.match["kind"]
        if project in self.forbidden:
            return _forbidden(project)
        items, token = _page(self.compute.get((project, kind), []), req, self.page_size)
        grouped: dict[str, J] = {}
        for scope, item in items:
            grouped.setdefault(scope, {kind: []})[kind].append(item)
        return Reply.json({"items": grouped, "nextPageToken": token})

    def _global(self, req: Request) -> Reply:
        project = req.match["project"]
        if project in self.forbidden:
            return _forbidden(project)
        listed = self.snapshots if req.match["kind"] == "snapshots" else self.images
        items, token = _page(listed.get(project, []), req, self.page_size)
        return Reply.json({"items": items, "nextPageToken": token})


# ---------------------------------------------------------------------------------------------
# resource builders (Compute / Recommender / Budgets JSON)
# ---------------------------------------------------------------------------------------------


def disk_json(
    project: str,
    zone: str,
    name: str,
    size_gb: int,
    type_: str = "pd-balanced",
    users: tuple[str, ...] = (),
    **extra: Any,
) -> J:
    return {
        "name": name,
        "id": str(abs(hash((project, zone, name))) % 10**12),
        "zone": f"{COMPUTE}/projects/{project}/zones/{zone}",
        "sizeGb": str(size_gb),
        "type": f"{COMPUTE}/projects/{project}/zones/{zone}/diskTypes/{type_}",
        "users": list(users),
        "selfLink": f"{COMPUTE}/projects/{project}/zones/{zone}/disks/{name}",
        "creationTimestamp": "2026-01-05T10:00:00.000-08:00",
        "labels": extra.pop("labels", {}),
        **extra,
    }


def instance_json(project: str, zone: str, name: str, status: str, disks: tuple[str, ...] = ()) -> J:
    return {
        "name": name,
        "id": str(abs(hash((project, zone, name))) % 10**12),
        "zone": f"{COMPUTE}/projects/{project}/zones/{zone}",
        "status": status,
        "disks": [
            {"source": f"{COMPUTE}/projects/{project}/zones/{zone}/disks/{d}", "boot": i == 0}
            for i, d in enumerate(disks)
        ],
        "selfLink": f"{COMPUTE}/projects/{project}/zones/{zone}/instances/{name}",
        "lastStopTimestamp": "2026-02-01T08:00:00.000-08:00" if status == "TERMINATED" else "",
        "labels": {"team": "data"},
    }


def instance_link(project: str, zone: str, name: str) -> str:
    return f"{COMPUTE}/projects/{project}/zones/{zone}/instances/{name}"


def address_json(
    project: str, region: str, name: str, ip: str, status: str, address_type: str = "EXTERNAL"
) -> J:
    where = "global" if region == "global" else f"regions/{region}"
    item: J = {
        "name": name,
        "address": ip,
        "status": status,
        "addressType": address_type,
        "selfLink": f"{COMPUTE}/projects/{project}/{where}/addresses/{name}",
    }
    if region != "global":
        item["region"] = f"{COMPUTE}/projects/{project}/regions/{region}"
    return item


def snapshot_json(project: str, name: str, storage_gb: float, created: str, source_zone_disk: str = "") -> J:
    return {
        "name": name,
        "storageBytes": str(int(storage_gb * 1024**3)),
        "diskSizeGb": "100",
        "creationTimestamp": created,
        "sourceDisk": f"{COMPUTE}/projects/{project}/zones/{source_zone_disk}" if source_zone_disk else "",
        "selfLink": f"{COMPUTE}/projects/{project}/global/snapshots/{name}",
        "snapshotType": "STANDARD",
    }


def image_json(project: str, name: str, archive_gb: float, created: str, **extra: Any) -> J:
    return {
        "kind": "compute#image",
        "name": name,
        "id": str(abs(hash((project, name))) % 10**12),
        "selfLink": f"{COMPUTE}/projects/{project}/global/images/{name}",
        "status": extra.pop("status", "READY"),
        "archiveSizeBytes": str(int(archive_gb * 1024**3)),
        "diskSizeGb": "10",
        "creationTimestamp": created,
        "sourceType": "RAW",
        "labels": extra.pop("labels", {}),
        **extra,
    }


def image_link(project: str, name: str) -> str:
    return f"{COMPUTE}/projects/{project}/global/images/{name}"


def recommendation_json(
    project: str,
    location: str,
    recommender: str,
    resource: str,
    resource_type: str,
    saving_units: int,
    nanos: int = 0,
    days: int = 30,
    state: str = "ACTIVE",
    subtype: str = "",
    service: str = "compute.googleapis.com",
    action: str = "remove",
) -> J:
    rid = f"r-{abs(hash((project, location, resource))) % 10**8}"
    return {
        "name": f"projects/{project}/locations/{location}/recommenders/{recommender}/recommendations/{rid}",
        "description": f"Save cost by removing idle {resource.rsplit('/', 1)[-1]}.",
        "recommenderSubtype": subtype,
        "primaryImpact": {
            "category": "COST",
            "costProjection": {
                "cost": {"currencyCode": "USD", "units": str(-saving_units), "nanos": -nanos},
                "duration": f"{days * 86400}s",
            },
        },
        "stateInfo": {"state": state},
        "content": {
            "operationGroups": [
                {
                    "operations": [
                        {
                            "action": action,
                            "resourceType": f"{service}/{resource_type}",
                            "resource": f"//{service}/{resource}",
                        }
                    ]
                }
            ]
        },
    }


def budget_json(account: str, name: str, **spec: Any) -> J:
    """spec: amount (units, str) or last_period=True, currency, filter (budgetFilter JSON), thresholds."""
    amount: J = (
        {"lastPeriodAmount": {}}
        if spec.get("last_period")
        else {"specifiedAmount": {"currencyCode": spec.get("currency", "USD"), "units": str(spec["amount"])}}
    )
    return {
        "name": f"billingAccounts/{account}/budgets/{name}",
        "displayName": name,
        "budgetFilter": spec.get("filter", {}),
        "amount": amount,
        "thresholdRules": [
            {"thresholdPercent": t, "spendBasis": "CURRENT_SPEND"} for t in spec.get("thresholds", [])
        ],
    }
