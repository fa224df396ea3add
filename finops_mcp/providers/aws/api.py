"""Every AWS request goes through `api_call` / `api_pages`: one request per attempt under the
engine's retry policy, with cancellation checked between pages.

Pages are requested one by one (not with boto3 paginators) so a throttled page is retried alone
instead of restarting the listing, and so every billed page can be counted. Operation names are
boto3's snake_case method names; tests/unit/aws/test_docs.py reads them from the calls in this
package to check the IAM policy in docs/providers/aws.md lists exactly these actions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.aws.errors import retry_decision


def api_call(ctx: CallContext, client: Any, op: str, **params: Any) -> dict[str, Any]:
    """One request (retried when throttled / 5xx / timed out)."""
    method = getattr(client, op)
    result: dict[str, Any] = ctx.retry(lambda: method(**params), classify=retry_decision)
    return result


def api_pages(
    ctx: CallContext,
    client: Any,
    op: str,
    *,
    token_in: str = "NextToken",
    token_out: str = "NextToken",
    billed: str | None = None,
    **params: Any,
) -> Iterator[dict[str, Any]]:
    """Every page of a listing. `billed` names the API counted in `meta.billed_requests`
    (one per page actually answered)."""
    token: str | None = None
    seen: set[str] = set()
    while True:
        ctx.raise_if_cancelled()
        kwargs = dict(params)
        if token:
            kwargs[token_in] = token
        page = api_call(ctx, client, op, **kwargs)
        if billed:
            ctx.count_billed(billed)
        yield page
        token = page.get(token_out) or None
        if not token:
            return
        if token in seen:
            raise ScopeFailure("upstream", f"{op} returned the same page token twice; stopped paging")
        seen.add(token)
