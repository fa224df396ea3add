"""Plain dataclasses for one project's Compute Engine resources and Recommender recommendations,
and the pure helpers that build them (no SDK: the checks import this module).

Compute: one aggregated list per resource type (instances, disks, addresses: every zone and region
in one paged call) and the global snapshot and image lists. Recommender: one paged list per (recommender,
location), only for the locations where the project has resources of that type (an idle-resource
recommendation exists only for an existing resource), and ACTIVE recommendations only.

Resource paths are normalized to `projects/<p>/zones/<z>/disks/<d>` (self links and the
recommender's `//compute.googleapis.com/...` names both map to it) so findings, recommendations
and attachments can be matched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

INSTANCE_RECOMMENDER = "google.compute.instance.IdleResourceRecommender"
DISK_RECOMMENDER = "google.compute.disk.IdleResourceRecommender"
ADDRESS_RECOMMENDER = "google.compute.address.IdleResourceRecommender"
IMAGE_RECOMMENDER = "google.compute.image.IdleResourceRecommender"
MACHINE_TYPE_RECOMMENDER = "google.compute.instance.MachineTypeRecommender"
SQL_IDLE_RECOMMENDER = "google.cloudsql.instance.IdleRecommender"
SQL_OVERPROVISIONED_RECOMMENDER = "google.cloudsql.instance.OverprovisionedRecommender"
COMMITMENT_RECOMMENDER = "google.compute.commitment.UsageCommitmentRecommender"
_COMPUTE_VIEWER, _SQL_VIEWER, _CUD_VIEWER = (
    "roles/recommender.computeViewer",
    "roles/recommender.cloudsqlViewer",
    "roles/recommender.projectCudViewer",
)


@dataclass(frozen=True)
class RecommenderFacts:
    """What the provider needs to know of one recommender."""

    target: str  # the resource type its operations name (to find its target in the operations)
    permission: str  # the IAM permission that lists its recommendations
    role: str  # the predefined role that holds that permission
    regional: bool = False  # asked per region from configured regions, not per zone of the inventory


RECOMMENDERS = {
    INSTANCE_RECOMMENDER: RecommenderFacts(
        "Instance", "recommender.computeInstanceIdleResourceRecommendations.list", _COMPUTE_VIEWER
    ),
    DISK_RECOMMENDER: RecommenderFacts(
        "Disk", "recommender.computeDiskIdleResourceRecommendations.list", _COMPUTE_VIEWER
    ),
    ADDRESS_RECOMMENDER: RecommenderFacts(
        "Address", "recommender.computeAddressIdleResourceRecommendations.list", _COMPUTE_VIEWER
    ),
    IMAGE_RECOMMENDER: RecommenderFacts(
        "Image", "recommender.computeImageIdleResourceRecommendations.list", _COMPUTE_VIEWER
    ),
    MACHINE_TYPE_RECOMMENDER: RecommenderFacts(
        "Instance", "recommender.computeInstanceMachineTypeRecommendations.list", _COMPUTE_VIEWER
    ),
    SQL_IDLE_RECOMMENDER: RecommenderFacts(
        "Instance", "recommender.cloudsqlIdleInstanceRecommendations.list", _SQL_VIEWER, regional=True
    ),
    SQL_OVERPROVISIONED_RECOMMENDER: RecommenderFacts(
        "Instance",
        "recommender.cloudsqlOverprovisionedInstanceRecommendations.list",
        _SQL_VIEWER,
        regional=True,
    ),
    COMMITMENT_RECOMMENDER: RecommenderFacts(
        "Commitment", "recommender.usageCommitmentRecommendations.list", _CUD_VIEWER, regional=True
    ),
}
REGIONAL_RECOMMENDERS = frozenset(r for r, facts in RECOMMENDERS.items() if facts.regional)
MONTH = timedelta(days=30)


def resource_path(url: str) -> str:
    """`https://.../compute/v1/projects/p/zones/z/disks/d` or `//compute.googleapis.com/projects/...`
    -> `projects/p/zones/z/disks/d`."""
    i = url.find("projects/")
    return url[i:] if i >= 0 else url


def last_segment(url: str | None) -> str:
    return (url or "").rstrip("/").rsplit("/", 1)[-1]


def region_of(location: str) -> str:
    """Zone `us-central1-a` -> `us-central1`; a region or `global` is returned as is."""
    parts = location.split("-")
    if len(parts) == 3 and len(parts[2]) == 1:
        return "-".join(parts[:2])
    return location


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def labels_dict(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(value or {}).items()}


@dataclass(frozen=True)
class Instance:
    path: str
    name: str
    zone: str
    status: str
    disks: tuple[str, ...] = ()  # paths of attached persistent disks
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    last_stop: datetime | None = None

    @property
    def region(self) -> str:
        return region_of(self.zone)


@dataclass(frozen=True)
class Disk:
    path: str
    name: str
    location: str  # zone, or region for regional disks
    size_gb: int
    type: str  # pd-standard, pd-balanced, ...
    users: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, compare=False)
    created: datetime | None = None
    last_detach: datetime | None = None
    source_image: str = ""  # path of the image it was created from, or ""

    @property
    def region(self) -> str:
        return region_of(self.location)

    @property
    def regional(self) -> bool:
        return "/regions/" in self.path


@dataclass(frozen=True)
class Address:
    path: str
    name: str
    address: str
    region: str  # or "global"
    status: str  # RESERVED | IN_USE | RESERVING
    address_type: str  # EXTERNAL | INTERNAL
    labels: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Snapshot:
    path: str
    name: str
    storage_bytes: int
    disk_size_gb: int
    created: datetime | None
    source_disk: str  # path, or ""
    archive: bool = False
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def region(self) -> str:
        """Region of the source disk ('' when unknown): snapshots themselves are global."""
        parts = self.source_disk.split("/")
        return region_of(parts[3]) if len(parts) > 3 and parts[2] in ("zones", "regions") else ""


@dataclass(frozen=True)
class Image:
    """A custom image of the project (global): billed for its archive size per GB-month."""

    path: str
    name: str
    archive_bytes: int
    created: datetime | None
    status: str  # READY | PENDING | FAILED | DELETING
    family: str = ""
    deprecated: str = ""  # DEPRECATED | OBSOLETE | DELETED | ACTIVE | ""
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def region(self) -> str:
        return ""  # global: never in a regional audit unit


@dataclass(frozen=True)
class Recommendation:
    recommender: str
    name: str
    description: str
    resource: str  # path of the target resource
    location: str
    monthly_saving: Decimal  # positive
    currency: str
    subtype: str = ""

    @property
    def region(self) -> str:
        return region_of(self.location)


def monthly_saving(cost: Decimal, duration: timedelta | None) -> Decimal:
    """A cost projection (negative = saving) over `duration`, as a positive saving per 30 days."""
    saving = -cost if cost < 0 else Decimal(0)
    seconds = duration.total_seconds() if duration else 0
    if seconds <= 0:
        return saving
    return saving * Decimal(MONTH.total_seconds()) / Decimal(str(seconds))


def locations_for(
    recommender: str,
    instances: Iterable[Instance],
    disks: Iterable[Disk],
    addresses: Iterable[Address],
    regions: Iterable[str] = (),
) -> list[str]:
    """Where to ask `recommender`: the zones / regions holding resources of its type; `global`
    for images; `regions` (configured, else the project's Compute regions) for the regional
    recommenders of Cloud SQL and committed use."""
    where: Callable[[], Iterable[str]] = {
        INSTANCE_RECOMMENDER: lambda: (i.zone for i in instances),
        MACHINE_TYPE_RECOMMENDER: lambda: (i.zone for i in instances if i.status == "RUNNING"),
        DISK_RECOMMENDER: lambda: (d.location for d in disks),
        ADDRESS_RECOMMENDER: lambda: (a.region for a in addresses),
        IMAGE_RECOMMENDER: lambda: ("global",),
        SQL_IDLE_RECOMMENDER: lambda: regions,
        SQL_OVERPROVISIONED_RECOMMENDER: lambda: regions,
        COMMITMENT_RECOMMENDER: lambda: regions,
    }[recommender]
    return sorted(set(where()))
