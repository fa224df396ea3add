"""Raw ARM requests the azure-mgmt SDKs do not cover, sent through an SDK client's pipeline (so the
credential, the read-only policy, timeouts and TLS settings are the SDK's own): one request under
the engine's retry policy (`send`), GET lists paged by `nextLink` (`get_pages`: management group
descendants, generic resource lists), and Azure Resource Graph queries paged by `$skipToken`
(`graph_rows`).

nextLinks are followed only to the configured ARM host: the bearer token never travels elsewhere.

Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` with `query`, `managementGroups`
(or `subscriptions`) and `options` {`$top`, `$skipToken`, `resultFormat`: objectArray}; the answer
holds `data` (rows), `count`, `totalRecords`, `resultTruncated` and `$skipToken` while more rows
remain (Resource Graph REST API 2024-04-01, Resources - Resources).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.azure import errors

GRAPH_API = "2024-04-01"
GRAPH_PAGE = 1000  # Resource Graph's largest $top


def send(ctx: CallContext, client: Any, method: str, url: str, body: Any, what: str) -> Any:
    """One JSON request through `client`'s pipeline, under the retry policy; the parsed answer."""
    from azure.core.rest import HttpRequest

    def do() -> Any:
        response = client.send_request(HttpRequest(method, url, json=body))
        response.raise_for_status()
        return response.json()

    return errors.call(ctx, do, what)


def next_link(clients: Any, link: str | None) -> str | None:
    """`link` if it points at the configured ARM host (None when there is none); else refused."""
    if link and not clients.same_host(link):
        raise ScopeFailure(
            "upstream", f"refused to follow a nextLink to another host than {clients.endpoints.arm}"
        )
    return link or None


def get_pages(ctx: CallContext, clients: Any, client: Any, url: str, what: str) -> Iterator[dict[str, Any]]:
    """The `value` items of a GET list, page by page along `nextLink`."""
    link: str | None = url
    while link:
        ctx.raise_if_cancelled()
        data = send(ctx, client, "GET", link, None, what) or {}
        yield from data.get("value") or ()
        link = next_link(clients, data.get("nextLink"))


def graph_rows(
    ctx: CallContext, client: Any, query: str, what: str, *, management_groups: list[str]
) -> Iterator[dict[str, Any]]:
    """The rows of a Resource Graph query over `management_groups`, page by page (`$skipToken`)."""
    url = f"/providers/Microsoft.ResourceGraph/resources?api-version={GRAPH_API}"
    token: str | None = None
    while True:
        ctx.raise_if_cancelled()
        options: dict[str, Any] = {"$top": GRAPH_PAGE, "resultFormat": "objectArray"}
        if token:
            options["$skipToken"] = token
        body = {"query": query, "managementGroups": management_groups, "options": options}
        data = send(ctx, client, "POST", url, body, what) or {}
        yield from data.get("data") or ()
        token = data.get("$skipToken") or None
        if not token:
            return
