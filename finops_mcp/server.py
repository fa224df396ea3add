"""The MCP server: three read-only tools, two resources, two prompts. A thin layer over the service.

Tool arguments are validated by the request models in models.py (unknown fields rejected) so a
bad call becomes a tool error naming the field and showing a valid example, and the server keeps
running. Reports are returned as structured content (and as JSON text for older clients); a
report whose every scope failed is returned with `isError`.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp_types import CallToolResult, ResourceLink, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError

from finops_mcp import __version__
from finops_mcp.errors import InputError
from finops_mcp.logs import correlation_middleware
from finops_mcp.models import (
    AuditReport,
    BudgetReport,
    CostReport,
    GetBudgetStatusRequest,
    GetCostRequest,
    RunAuditRequest,
)
from finops_mcp.remote.audit import audit_middleware
from finops_mcp.schemas import compact_schema
from finops_mcp.settings import Settings, get_settings
from finops_mcp.shutdown import close_within
from finops_mcp.tasks import TaskSupport, TaskTool

if TYPE_CHECKING:
    from mcp.server.auth.provider import TokenVerifier
    from mcp.server.auth.settings import AuthSettings

    from finops_mcp.engine.context import CancelToken
    from finops_mcp.service import FinOpsService, ProgressFn

log = logging.getLogger(__name__)
R = TypeVar("R", bound=BaseModel)
# A get_cost spanning more days than this becomes a task for 2026-07-28 clients that opt in.
LONG_RANGE_DAYS = 92
MAX_ERROR_LINES = 10  # of an invalid-arguments answer: a fuzzed call must not get a huge one

INSTRUCTIONS = """\
finops-mcp answers cloud cost questions across AWS, Azure, GCP and FOCUS billing exports, read-only.
- "What did we spend / what changed / what drives cost?" -> get_cost (default: month to date by
  service, compared with the same days of the previous month). Drill down with group_by and filters.
- "Where is the waste / what can we clean up?" -> run_finops_audit (findings priced per month).
- "Are we inside budget?" -> get_budget_status.
Every row and error names its provider and scope; read `errors` and `meta.notes` before concluding:
a partial answer says which scopes failed. Amounts are in the report's `currency`. The
finops://providers resource lists configured scopes; finops://checks lists audit check ids."""

GET_COST_DESCRIPTION = """\
Cloud spend for a period, grouped and compared. Call it for "how much did we spend", "what \
changed since last month", "top services/accounts/regions/teams", daily or monthly trends, or a \
month-end forecast. Returns total, previous_total and change_pct, rows (top_n, rest folded into \
'(other)'), optional forecast, per-scope errors and meta (cached, billed upstream requests). \
For "why did it change", set explain_change: drivers (new/gone/up/down, one level deeper where the \
data allows, volume vs rate). Example: {"period": "last_month", "group_by": ["service", "account"]}."""

AUDIT_DESCRIPTION = """\
Finds waste and hygiene problems (idle or orphaned resources, unused commitments, cost spikes, \
untagged spend) and prices each finding in estimated_monthly_cost with its cost_basis. Call it for \
"where can we save", "what is idle/untagged", or before a cost review. Filter with checks (ids or \
prefixes from finops://checks), regions and min_monthly_cost. `summary` covers every finding; \
`findings` is one page (limit, default 25, costliest first): pass cursor=next_cursor for more. \
Example: {"min_monthly_cost": 50}."""

BUDGET_DESCRIPTION = """\
Budgets with actual and forecast spend and a status (exceeded, forecast_exceeded, warning, ok). \
Call it for "are we on budget", "which budgets will overrun this month". Example: {} or \
{"names": ["monthly-total"]}."""

EXAMPLES = {
    "get_cost": '{"period": "last_30_days", "group_by": ["service"], "filters": {"regions": ["us-east-1"]}}',
    "run_finops_audit": '{"checks": ["focus.unused_commitment"], "min_monthly_cost": 10}',
    "get_budget_status": '{"names": ["monthly-total"]}',
}


class _RawArguments(ArgModelBase):
    """Hands the raw arguments to the tool so our request model (not the SDK's) validates them."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


def describe_validation_error(tool: str, exc: ValidationError, model: type[BaseModel]) -> str:
    lines = [f"Invalid arguments for {tool}:"]
    errors = exc.errors(include_input=False)
    for err in errors[:MAX_ERROR_LINES]:
        field = ".".join(str(p) for p in err["loc"])[:200] or "arguments"
        msg = str(err["msg"]).removeprefix("Value error, ")[:500]
        if err["type"] == "extra_forbidden":
            msg = f"unknown field; valid fields: {', '.join(model.model_fields)}"
        lines.append(f"- {field}: {msg}")
    if len(errors) > MAX_ERROR_LINES:
        lines.append(f"- ... and {len(errors) - MAX_ERROR_LINES} more")
    lines.append(f"Example of valid arguments: {EXAMPLES[tool]}")
    return "\n".join(lines)


def parse_request(tool: str, model: type[R], arguments: dict[str, Any]) -> R:
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise ToolError(describe_validation_error(tool, exc, model)) from None


def _result(report: CostReport | AuditReport | BudgetReport) -> CallToolResult:
    """Structured content plus the same JSON as text (for clients that read only text)."""
    from finops_mcp.service import all_failed

    data = report.model_dump(mode="json")
    text = json.dumps(data, separators=(",", ":"))
    link: list[ResourceLink] = []
    if isinstance(report, AuditReport) and report.report_uri:
        link.append(
            ResourceLink(
                uri=report.report_uri,
                name="audit-report",
                title="Every finding of this audit",
                description=f"All {report.summary.findings} findings as one AuditReport (kept for a while).",
                mime_type="application/json",
            )
        )
    if not all_failed(report):
        return CallToolResult(content=[TextContent(type="text", text=text), *link], structured_content=data)
    summary = "; ".join(f"{e.scope}: {e.code}: {e.message}" for e in report.errors)[:1000]
    return CallToolResult(
        content=[TextContent(type="text", text=f"Every scope failed: {summary}\n{text}")],
        structured_content=data,
        is_error=True,
    )


def _progress(ctx: Context) -> Callable[[int, int, str], Awaitable[None]]:
    async def report(done: int, total: int, what: str) -> None:
        await ctx.report_progress(done, total, f"{done}/{total} {what}")

    return report


def _model_tool(
    fn: Callable[..., Any],
    name: str,
    title: str,
    description: str,
    request: type[BaseModel],
    output_schema: bool,
) -> Tool:
    tool = Tool.from_function(
        fn,
        name=name,
        title=title,
        description=description,
        annotations=ToolAnnotations(
            title=title,
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,
        ),
    )
    tool.fn_metadata.arg_model = _RawArguments
    tool.parameters = compact_schema(request.model_json_schema())
    if output_schema:
        tool.fn_metadata.output_schema = report_schemas()[name]
    else:
        # The report schemas would triple tools/list (the model's context); they are published in
        # the finops://schemas resource and docs/tools.md instead. FINOPS_OUTPUT_SCHEMAS=true adds them.
        tool.fn_metadata.output_schema = None
    return tool


def build_server(
    settings: Settings | None = None,
    service: FinOpsService | None = None,
    *,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> MCPServer[Any]:
    """The MCP server. `auth` + `token_verifier` make it an OAuth resource server (HTTP only)."""
    settings = settings or get_settings()
    holder: dict[str, FinOpsService] = {"svc": service} if service is not None else {}

    def get_service() -> FinOpsService:
        """Created on first use: start-up stays light (no engine or provider imports)."""
        if "svc" not in holder:
            from finops_mcp.service import FinOpsService

            holder["svc"] = FinOpsService(settings)
        return holder["svc"]

    async def answer(
        tool: str,
        model: type[R],
        method: Callable[[FinOpsService], Callable[..., Awaitable[Any]]],
        arguments: dict[str, Any],
        progress: ProgressFn,
        cancel: CancelToken | None,
    ) -> CallToolResult:
        """Validate, ask the service within the answer budget; an InputError is a tool error."""
        req = parse_request(tool, model, arguments)
        try:
            report = await method(get_service())(
                req, progress=progress, cancel=cancel, max_chars=settings.answer_max_chars
            )
        except InputError as exc:
            raise ToolError(f"Invalid arguments for {tool}:\n- {exc}") from None
        return _result(report)

    # One body per tool for its synchronous call and its task (finops_mcp/tasks).
    async def cost_call(
        arguments: dict[str, Any], progress: ProgressFn, cancel: CancelToken | None = None
    ) -> CallToolResult:
        return await answer("get_cost", GetCostRequest, lambda s: s.get_cost, arguments, progress, cancel)

    async def audit_call(
        arguments: dict[str, Any], progress: ProgressFn, cancel: CancelToken | None = None
    ) -> CallToolResult:
        return await answer(
            "run_finops_audit", RunAuditRequest, lambda s: s.run_audit, arguments, progress, cancel
        )

    def long_range(arguments: Mapping[str, Any]) -> bool:
        try:
            span = get_service().span_of(GetCostRequest.model_validate(arguments))[1]
        except Exception:  # the synchronous call answers the input error
            return False
        return span.days > LONG_RANGE_DAYS

    # Each returns its own CallToolResult; the report model in the annotation is what the SDK
    # validates structured content against (the schema itself is set in _model_tool).
    async def get_cost(ctx: Context, arguments: dict[str, Any]) -> Annotated[CallToolResult, CostReport]:
        return await cost_call(arguments, _progress(ctx))

    async def run_finops_audit(
        ctx: Context, arguments: dict[str, Any]
    ) -> Annotated[CallToolResult, AuditReport]:
        return await audit_call(arguments, _progress(ctx))

    async def get_budget_status(
        ctx: Context, arguments: dict[str, Any]
    ) -> Annotated[CallToolResult, BudgetReport]:
        return await answer(
            "get_budget_status",
            GetBudgetStatusRequest,
            lambda s: s.get_budget_status,
            arguments,
            _progress(ctx),
            None,
        )

    schemas = settings.output_schemas
    tools = [
        _model_tool(get_cost, "get_cost", "Get cloud cost", GET_COST_DESCRIPTION, GetCostRequest, schemas),
        _model_tool(
            run_finops_audit,
            "run_finops_audit",
            "Run FinOps waste audit",
            AUDIT_DESCRIPTION,
            RunAuditRequest,
            schemas,
        ),
        _model_tool(
            get_budget_status,
            "get_budget_status",
            "Get budget status",
            BUDGET_DESCRIPTION,
            GetBudgetStatusRequest,
            schemas,
        ),
    ]

    # Clients that opt in get a task for these calls; others get the calls above, unchanged.
    tasks = TaskSupport(
        settings,
        [
            TaskTool("run_finops_audit", audit_call),
            TaskTool("get_cost", cost_call, server_directed=long_range),
        ],
    )

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncIterator[None]:
        await tasks.start()  # a durable store: tasks of a server that died are failed now
        try:
            yield None
        finally:
            with anyio.CancelScope(shield=True):  # also when a stop signal cancelled serving (shutdown.py)
                await tasks.close()  # running tasks stop before the service they use
                if "svc" in holder:
                    await close_within(holder["svc"].close, "providers")

    server: MCPServer[Any] = MCPServer(
        "finops-mcp",
        title="FinOps",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=tools,
        extensions=[tasks.extension],
        # correlation ids outermost (the audit record and log lines share them), then the audit
        middleware=[correlation_middleware, *audit_middleware(settings.audit_log), tasks.middleware],
        lifespan=lifespan,
        log_level=settings.log_level,
        auth=auth,
        token_verifier=token_verifier,
    )

    # The JSON documents a client can read, each (uri, title, description, its content: a value or
    # an awaitable).
    documents: tuple[tuple[str, str, str, Callable[[], Any]], ...] = (
        (
            "finops://providers",
            "Configured providers and scopes",
            "Which providers are configured, their scopes (use them in `scopes`) and configuration.",
            lambda: get_service().providers_info(),
        ),
        (
            "finops://checks",
            "Audit checks",
            "Every audit check id with what it finds, its severity and how findings are priced.",
            lambda: checks_catalog(get_service()),
        ),
        (
            "finops://schemas",
            "Report schemas",
            "JSON schemas of the tools' structured results (CostReport, AuditReport, BudgetReport).",
            report_schemas,
        ),
    )
    for uri, title, description, content in documents:
        _json_resource(server, uri, title, description, content)

    @server.resource(
        "finops://reports/{report_id}",
        name="report",
        title="A whole audit result",
        description="Every finding of an audit answer (its report_uri), kept for the cache TTL.",
        mime_type="application/json",
    )
    async def report_resource(report_id: str) -> str:
        report = get_service().stored_report(report_id)
        if report is None:
            raise ValueError(
                f"no audit result {report_id!r}: results are kept for the cache TTL; run the audit again"
            )
        return report.model_dump_json()

    @server.prompt(
        name="monthly-cost-review",
        title="Monthly cost review",
        description="Review last month's cloud spend: drivers, changes, budgets and waste.",
    )
    def monthly_cost_review(focus: str = "") -> str:
        extra = f" Pay particular attention to: {focus}." if focus else ""
        return (
            "Prepare a monthly cloud cost review for FinOps stakeholders." + extra + "\n"
            "1. Call get_cost with period=last_month, group_by=['service'] and explain_change=true; "
            "name the top drivers (kind, amount and %, volume or rate) and the largest changes.\n"
            "2. Call get_cost with period=last_month, group_by=['account'] to show who spent it.\n"
            "3. Call get_budget_status and list exceeded or forecast-exceeded budgets.\n"
            "4. Call run_finops_audit with min_monthly_cost=50: `summary.by_check` covers every finding, "
            "`findings` holds the costliest 25; summarise the top savings (fetch next_cursor only if "
            "you need more detail).\n"
            "Report amounts with their currency, mention partial results (errors) and notes, and end with "
            "three concrete actions, each with its estimated monthly saving."
        )

    @server.prompt(
        name="waste-hunt",
        title="Waste hunt",
        description="Find and rank cleanup opportunities by monthly savings.",
    )
    def waste_hunt(min_monthly_cost: str = "25") -> str:
        return (
            f"Hunt for cloud waste. Call run_finops_audit with min_monthly_cost={min_monthly_cost} and "
            "limit=25 (findings come costliest first; summary.by_check counts every finding). "
            "Group findings by check, rank them by estimated_monthly_cost, and for the top ten give the "
            "resource, why it is waste, the recommendation and how the cost was estimated (cost_basis). "
            "Separate quick wins (unattached/idle/unused) from changes that need an owner's decision, "
            "and say which scopes could not be scanned (errors)."
        )

    return server


def _json_resource(
    server: MCPServer[Any], uri: str, title: str, description: str, content: Callable[[], Any]
) -> None:
    """Registers a static resource serving `content()` (awaited if need be) as JSON, named after its
    URI's path."""

    async def read() -> str:
        value = content()
        return json.dumps(await value if inspect.isawaitable(value) else value, indent=2, default=str)

    server.resource(
        uri,
        name=uri.removeprefix("finops://"),
        title=title,
        description=description,
        mime_type="application/json",
    )(read)


def checks_catalog(svc: FinOpsService) -> list[dict[str, Any]]:
    return [c.describe() for c in svc.check_catalog()]


def report_schemas() -> dict[str, Any]:
    """The tools' output schemas: what tools/list advertises and finops://schemas serves."""
    return {
        tool: compact_schema(model.model_json_schema(mode="serialization"), output=True)
        for tool, model in (
            ("get_cost", CostReport),
            ("run_finops_audit", AuditReport),
            ("get_budget_status", BudgetReport),
        )
    }


def run_stdio(settings: Settings | None = None) -> None:
    """The stdio server: one-line masked logs on stderr, every line on stdin answered (stdio.py)."""
    import signal

    from finops_mcp import logs
    from finops_mcp.shutdown import exit_status
    from finops_mcp.stdio import serve_stdio

    settings = settings or get_settings()
    logs.configure(settings)  # before the SDK's own logging set-up, which then stays out
    try:
        stopped_by = anyio.run(serve_stdio, build_server(settings))
    except KeyboardInterrupt:  # pragma: no cover - where the loop cannot watch signals (Windows)
        stopped_by = signal.SIGINT
    if stopped_by is not None:
        raise SystemExit(exit_status(stopped_by))  # 130 after SIGINT, 143 after SIGTERM
