"""Compute Engine and Recommender listings of one project (SDK calls), into `resources` dataclasses.

Compute: one aggregated list per resource type (instances, disks, addresses: every zone and region
in one paged call) and the global snapshot and image lists. Recommender: one paged list per (recommender,
location), only for the locations where the project has resources of that type (an idle-resource
recommendation exists only for an existing resource), and ACTIVE recommendations only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.providers.gcp.clients import GcpClients, pages
from finops_mcp.providers.gcp.resources import (
    RECOMMENDERS,
    Address,
    Disk,
    Image,
    Instance,
    Recommendation,
    Snapshot,
    labels_dict,
    last_segment,
    monthly_saving,
    parse_time,
    resource_path,
)


def _aggregated(ctx: CallContext, client: Any, project: str, attr: str, timeout: float) -> Iterator[Any]:
    def fetch(token: str) -> Any:
        return client.aggregated_list(
            request={"project": project, "page_token": token, "max_results": 500}, retry=None, timeout=timeout
        )

    for page in pages(ctx, fetch):
        for _scope, scoped in page.items.items():
            yield from getattr(scoped, attr, ()) or ()


def list_instances(ctx: CallContext, clients: GcpClients, project: str, timeout: float) -> list[Instance]:
    return [
        Instance(
            path=resource_path(i.self_link)
            or f"projects/{project}/zones/{last_segment(i.zone)}/instances/{i.name}",
            name=i.name,
            zone=last_segment(i.zone),
            status=str(i.status),
            disks=tuple(resource_path(d.source) for d in i.disks if d.source),
            labels=labels_dict(i.labels),
            last_stop=parse_time(i.last_stop_timestamp),
        )
        for i in _aggregated(ctx, clients.compute("instances"), project, "instances", timeout)
    ]


def list_disks(ctx: CallContext, clients: GcpClients, project: str, timeout: float) -> list[Disk]:
    found = []
    for d in _aggregated(ctx, clients.compute("disks"), project, "disks", timeout):
        location = last_segment(d.zone) or last_segment(d.region)
        kind = "zones" if d.zone else "regions"
        found.append(
            Disk(
                path=resource_path(d.self_link) or f"projects/{project}/{kind}/{location}/disks/{d.name}",
                name=d.name,
                location=location,
                size_gb=int(d.size_gb or 0),
                type=last_segment(d.type_),
                users=tuple(resource_path(u) for u in d.users),
                labels=labels_dict(d.labels),
                created=parse_time(d.creation_timestamp),
                last_detach=parse_time(d.last_detach_timestamp),
                source_image=resource_path(d.source_image or ""),
            )
        )
    return found


def list_addresses(ctx: CallContext, clients: GcpClients, project: str, timeout: float) -> list[Address]:
    return [
        Address(
            path=resource_path(a.self_link),
            name=a.name,
            address=a.address,
            region=last_segment(a.region) or "global",
            status=str(a.status),
            address_type=str(a.address_type or "EXTERNAL"),
            labels=labels_dict(a.labels),
        )
        for a in _aggregated(ctx, clients.compute("addresses"), project, "addresses", timeout)
    ]


def _global(ctx: CallContext, client: Any, project: str, timeout: float) -> Iterator[Any]:
    """The items of a global (project-wide) Compute list, page by page."""

    def fetch(token: str) -> Any:
        return client.list(
            request={"project": project, "page_token": token, "max_results": 500}, retry=None, timeout=timeout
        )

    for page in pages(ctx, fetch):
        yield from page.items


def _global_fields(item: Any, project: str, kind: str) -> dict[str, Any]:
    """What every project-wide (global) Compute resource has: its path, name, creation time and labels."""
    return {
        "path": resource_path(item.self_link) or f"projects/{project}/global/{kind}/{item.name}",
        "name": item.name,
        "created": parse_time(item.creation_timestamp),
        "labels": labels_dict(item.labels),
    }


def list_snapshots(ctx: CallContext, clients: GcpClients, project: str, timeout: float) -> list[Snapshot]:
    return [
        Snapshot(
            **_global_fields(s, project, "snapshots"),
            storage_bytes=int(s.storage_bytes or 0),
            disk_size_gb=int(s.disk_size_gb or 0),
            source_disk=resource_path(s.source_disk or ""),
            archive=str(s.snapshot_type or "").upper() == "ARCHIVE",
        )
        for s in _global(ctx, clients.compute("snapshots"), project, timeout)
    ]


def list_images(ctx: CallContext, clients: GcpClients, project: str, timeout: float) -> list[Image]:
    return [
        Image(
            **_global_fields(i, project, "images"),
            archive_bytes=int(i.archive_size_bytes or 0),
            status=str(i.status or ""),
            family=i.family or "",
            deprecated=str(i.deprecated.state or ""),
        )
        for i in _global(ctx, clients.compute("images"), project, timeout)
    ]


LISTERS: dict[str, Callable[..., list[Any]]] = {  # inventory kind -> its lister
    "instances": list_instances,
    "disks": list_disks,
    "addresses": list_addresses,
    "snapshots": list_snapshots,
    "images": list_images,
}


def _money(value: Any) -> Decimal:
    return Decimal(int(value.units or 0)) + Decimal(int(value.nanos or 0)) / Decimal(10**9)


def _target(rec: Any, resource_type: str) -> str:
    """The resource a recommendation is about: the operation on `resource_type`, else the first."""
    ops = [op for group in rec.content.operation_groups for op in group.operations]
    for op in ops:
        if op.resource_type.lower().endswith(resource_type.lower()) and op.resource:
            return resource_path(op.resource)
    return resource_path(ops[0].resource) if ops else ""


def list_recommendations(
    ctx: CallContext, clients: GcpClients, project: str, location: str, recommender: str, timeout: float
) -> list[Recommendation]:
    client = clients.recommender()
    parent = f"projects/{project}/locations/{location}/recommenders/{recommender}"
    target_type = RECOMMENDERS[recommender].target
    found = []

    def fetch(token: str) -> Any:
        return client.list_recommendations(
            request={"parent": parent, "page_token": token, "filter": "stateInfo.state = ACTIVE"},
            retry=None,
            timeout=timeout,
        )

    for page in pages(ctx, fetch):
        for rec in page.recommendations:
            if getattr(rec.state_info.state, "name", str(rec.state_info.state)) != "ACTIVE":
                continue
            projection = rec.primary_impact.cost_projection
            found.append(
                Recommendation(
                    recommender=recommender,
                    name=rec.name,
                    description=rec.description,
                    resource=_target(rec, target_type),
                    location=location,
                    monthly_saving=monthly_saving(_money(projection.cost), projection.duration),
                    currency=projection.cost.currency_code or "USD",
                    subtype=rec.recommender_subtype,
                )
            )
    return found
