"""Command line: `finops-mcp` (stdio MCP server) and `serve|cost|audit|budgets|checks|demo`.

Exit codes (docs/configuration.md): 0 ran; 2 bad input or configuration; 1 every scope failed;
3 a `--fail-on` condition was met (for CI gates). Reports go to stdout, progress and logs to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from finops_mcp import __version__
from finops_mcp.providers import REGISTRY

if TYPE_CHECKING:
    from pydantic import BaseModel

    from finops_mcp.failon import FailOn
    from finops_mcp.models import AuditReport, BudgetReport, CostReport
    from finops_mcp.service import FinOpsService
    from finops_mcp.settings import Settings

M = TypeVar("M", bound="BaseModel")

EXIT_OK, EXIT_ALL_FAILED, EXIT_BAD_INPUT, EXIT_FAIL_ON = 0, 1, 2, 3
MIN_MTD_DAYS = 7  # the demo shows month to date from this many complete days, else the last month

app = typer.Typer(
    name="finops-mcp",
    help="Multi-cloud FinOps MCP server and CLI. With no command: run the MCP server on stdio.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Format(str, Enum):
    json = "json"
    markdown = "markdown"


class Transport(str, Enum):
    stdio = "stdio"
    http = "http"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
_IDS = [e.id for e in REGISTRY]
_KINDS = [k for e in REGISTRY for k in e.scope_kinds]
ProvidersOpt = Annotated[
    list[str] | None, typer.Option("--provider", "-p", help=f"{', '.join(_IDS[:-1])} or {_IDS[-1]}.")
]
ScopesOpt = Annotated[
    list[str] | None, typer.Option("--scope", "-s", help=f"<kind>:<id>, kind one of {', '.join(_KINDS)}.")
]
FailOnOpt = Annotated[
    list[str] | None,
    typer.Option("--fail-on", help="Exit 3 when met: 'exceeded', 'forecast' (budgets) or 'waste>N' (audit)."),
]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _die(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    _stderr(message)
    raise typer.Exit(code)


def _settings(**overrides: Any) -> Settings:
    from finops_mcp.settings import SettingsError, load_settings

    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        _die(str(exc))
    from finops_mcp import logs

    logs.configure(settings)
    return settings


def _request(tool: str, model: type[M], data: dict[str, Any]) -> M:
    from pydantic import ValidationError

    from finops_mcp.server import describe_validation_error

    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except ValidationError as exc:
        _die(describe_validation_error(tool, exc, model))


def _run(
    call: Callable[[FinOpsService, Any], Awaitable[Any]],
    settings: Settings,
    demo: bool = False,
    today: Callable[[], date] | None = None,
) -> Any:
    """Run one service call with a rich progress bar on stderr (when stderr is a terminal)."""
    import anyio
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from finops_mcp.errors import InputError
    from finops_mcp.periods import utc_today
    from finops_mcp.service import FinOpsService

    service = FinOpsService(settings, demo=demo, today=today or utc_today)
    console = Console(stderr=True)

    async def main() -> Any:
        if not console.is_terminal:
            return await call(service, None)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("working", total=None)

            async def progress(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=what[:60])

            return await call(service, progress)

    try:
        return anyio.run(main)
    except InputError as exc:
        _die(f"Invalid input: {exc}")
    finally:
        service.close()


def _emit(report: Any, fmt: Format, render: Callable[[Any], str]) -> None:
    if fmt is Format.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render(report) + "\n")


def _finish(
    report: Any,
    fmt: Format,
    render: Callable[[Any], str],
    fail_on: list[FailOn] | None = None,
) -> NoReturn:
    """Print the report and exit with the code its errors and `--fail-on` conditions call for."""
    _emit(report, fmt, render)
    raise typer.Exit(_exit_code(report, fail_on or []))


def _parse_fail_on(conditions: list[str] | None, kind: str) -> list[FailOn]:
    """Every --fail-on condition, checked before any work (exit 2 naming the bad one)."""
    from finops_mcp import failon

    try:
        return failon.parse(conditions, kind)
    except ValueError as exc:
        _die(str(exc))


def _exit_code(report: AuditReport | BudgetReport | CostReport, conditions: list[FailOn]) -> int:
    """EXIT_BAD_INPUT when no scope answered for configuration reasons only, EXIT_ALL_FAILED when no
    scope answered, EXIT_FAIL_ON when a --fail-on condition holds, else EXIT_OK."""
    from finops_mcp import failon
    from finops_mcp.models import CONFIG_ERROR_CODES
    from finops_mcp.service import all_failed

    if all_failed(report):
        if all(e.code in CONFIG_ERROR_CODES for e in report.errors):
            _stderr("configuration: " + "; ".join(f"{e.scope}: {e.message}" for e in report.errors))
            return EXIT_BAD_INPUT
        return EXIT_ALL_FAILED
    met = failon.met(report, conditions)
    if met:
        _stderr("fail-on met: " + "; ".join(met))
        return EXIT_FAIL_ON
    return EXIT_OK


def _tags(values: list[str] | None) -> dict[str, list[str]] | None:
    if not values:
        return None
    tags: dict[str, list[str]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _die(f"--tag {item!r}: use key=value, e.g. --tag team=data")
        tags.setdefault(key.strip(), []).append(value.strip())
    return tags


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        print(__version__)
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        serve()


@app.command()
def serve(
    transport: Annotated[
        Transport, typer.Option(help="stdio (default) or streamable http.")
    ] = Transport.stdio,
    host: Annotated[
        str, typer.Option(help="HTTP bind address. Non-loopback addresses need OAuth (FINOPS_AUTH_*).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8765,
) -> None:
    """Run the MCP server (stdio by default; what MCP clients launch)."""
    settings = _settings()
    if transport is Transport.stdio:
        from finops_mcp.server import run_stdio

        run_stdio(settings)
        return
    from finops_mcp.remote.http import run_http
    from finops_mcp.settings import SettingsError

    try:
        run_http(settings, host, port)
    except SettingsError as exc:
        _die(str(exc))


@app.command()
def call(
    tool: Annotated[str, typer.Argument(help="get_cost, run_finops_audit or get_budget_status.")],
    url: Annotated[
        str | None,
        typer.Option(
            envvar="FINOPS_SERVER_URL", help="The server's MCP endpoint, e.g. https://finops.example.com/mcp."
        ),
    ] = None,
    args: Annotated[
        str,
        typer.Option("--args", help='Tool arguments as a JSON object, e.g. \'{"period": "last_month"}\'.'),
    ] = "{}",
    client_id: Annotated[
        str | None,
        typer.Option(envvar="FINOPS_CLIENT_ID", help="OAuth client id (client-credentials grant)."),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            envvar="FINOPS_AUTH_ISSUER", help="Issuer URL of the authorization server of the client."
        ),
    ] = None,
    client_secret_env: Annotated[
        str, typer.Option(help="Environment variable holding the client secret (never pass it as an option).")
    ] = "FINOPS_CLIENT_SECRET",
    private_key: Annotated[
        Path | None,
        typer.Option(
            envvar="FINOPS_CLIENT_PRIVATE_KEY_FILE",
            help="PEM private key: authenticate with a signed JWT assertion (private_key_jwt) instead.",
        ),
    ] = None,
    assertion_file: Annotated[
        Path | None,
        typer.Option(
            envvar="FINOPS_CLIENT_ASSERTION_FILE",
            help="File holding a pre-built client assertion JWT (e.g. a workload identity token).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 300.0,
    limit: Annotated[int, typer.Option(help="Audit findings shown in Markdown.")] = 25,
    fail_on: FailOnOpt = None,
    fmt: FormatOpt = Format.markdown,
) -> None:
    """Call a tool of a remote finops-mcp (streamable HTTP, OAuth client credentials), for jobs."""
    import os

    import anyio
    from pydantic import ValidationError

    from finops_mcp.models import AuditReport, BudgetReport, CostReport
    from finops_mcp.remote.audit import is_invalid_input
    from finops_mcp.remote.client import (
        ClientCredentials,
        RemoteCallError,
        call_remote_tool,
        read_secret_file,
    )
    from finops_mcp.reports.markdown import audit_markdown, budget_markdown, cost_markdown

    reports: dict[str, tuple[type[BaseModel], str, Callable[[Any], str]]] = {
        "get_cost": (CostReport, "cost", cost_markdown),
        "run_finops_audit": (AuditReport, "audit", lambda r: audit_markdown(r, limit=limit)),
        "get_budget_status": (BudgetReport, "budgets", budget_markdown),
    }
    if tool not in reports:
        _die(f"unknown tool {tool!r}: use one of {', '.join(reports)}")
    conditions = _parse_fail_on(fail_on, reports[tool][1])
    if not url:
        _die("--url (or FINOPS_SERVER_URL) is required, e.g. https://finops.example.com/mcp")
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as exc:
        _die(f'--args is not valid JSON ({exc.msg}); e.g. --args \'{{"period": "last_month"}}\'')
    if not isinstance(arguments, dict):
        _die('--args must be a JSON object, e.g. \'{"period": "last_month"}\'')
    if os.environ.get("FINOPS_LOG_LEVEL", "").upper() != "DEBUG":  # its tracebacks repeat our message
        logging.getLogger("mcp.client.auth").setLevel(logging.CRITICAL)
    creds = None
    try:
        if client_id:
            if not issuer:
                _die(
                    "--issuer (or FINOPS_AUTH_ISSUER) is required with a client id: credentials go only there"
                )
            secret = os.environ.get(client_secret_env) or None
            if private_key is None and assertion_file is None and secret is None:
                _die(
                    f"no credential for client {client_id}: set {client_secret_env}, or "
                    "FINOPS_CLIENT_PRIVATE_KEY_FILE / FINOPS_CLIENT_ASSERTION_FILE"
                )
            creds = ClientCredentials(
                client_id=client_id,
                issuer=issuer,
                private_key_pem=read_secret_file(private_key, "private key") if private_key else None,
                assertion=read_secret_file(assertion_file, "assertion") if assertion_file else None,
                client_secret=None if private_key or assertion_file else secret,
            )
        result = anyio.run(lambda: call_remote_tool(url, tool, arguments, creds, timeout_seconds=timeout))
    except RemoteCallError as exc:
        _die(str(exc), EXIT_BAD_INPUT if exc.bad_config else EXIT_ALL_FAILED)
    model, _kind, render = reports[tool]
    text = " ".join(getattr(c, "text", "") for c in result.content)
    if result.structured_content is None:
        bad_input = is_invalid_input(text)
        _die(text or f"{tool} returned no result", EXIT_BAD_INPUT if bad_input else EXIT_ALL_FAILED)
    try:
        report = model.model_validate(result.structured_content)
    except ValidationError as exc:
        _die(
            f"{tool} returned a report this client cannot read ({exc.error_count()} errors): "
            "are the server and client versions compatible?",
            EXIT_ALL_FAILED,
        )
    _finish(report, fmt, render, conditions)


@app.command()
def cost(
    period: Annotated[
        str | None,
        typer.Option(
            help="month_to_date, last_month, last_7_days, last_30_days, last_90_days or year_to_date."
        ),
    ] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day, inclusive (YYYY-MM-DD).")] = None,
    granularity: Annotated[str, typer.Option(help="total, daily or monthly.")] = "total",
    group_by: Annotated[
        list[str] | None, typer.Option("--group-by", "-g", help="Up to 2 dimensions.")
    ] = None,
    service: Annotated[list[str] | None, typer.Option("--service", help="Filter: service name.")] = None,
    account: Annotated[list[str] | None, typer.Option("--account", help="Filter: account id.")] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="Filter: region id.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Filter: key=value (repeatable).")] = None,
    cost_type: Annotated[str, typer.Option(help="billed or effective.")] = "billed",
    compare: Annotated[
        bool, typer.Option("--compare/--no-compare", help="Compare with the previous period.")
    ] = True,
    forecast: Annotated[bool, typer.Option("--forecast", help="Add the current month's forecast.")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows kept before folding into '(other)'.")] = 20,
    explain: Annotated[
        bool, typer.Option("--explain", help="Name the drivers of the change since the previous period.")
    ] = False,
    provider: ProvidersOpt = None,
    scope: ScopesOpt = None,
    fmt: FormatOpt = Format.markdown,
) -> None:
    """Cost for a period, grouped and compared with the previous period."""
    from finops_mcp.models import GetCostRequest
    from finops_mcp.reports.markdown import cost_markdown

    filters = {"services": service, "accounts": account, "regions": region, "tags": _tags(tag)}
    filters = {k: v for k, v in filters.items() if v}
    req = _request(
        "get_cost",
        GetCostRequest,
        {
            "providers": provider,
            "scopes": scope,
            "period": period,
            "start_date": start,
            "end_date": end,
            "granularity": granularity,
            "group_by": group_by or None,
            "filters": filters or None,
            "cost_type": cost_type,
            "compare_previous": compare,
            "include_forecast": forecast,
            "top_n": top,
            "explain_change": explain,
        },
    )
    _finish(_run(lambda svc, progress: svc.get_cost(req, progress=progress), _settings()), fmt, cost_markdown)


@app.command()
def audit(
    check: Annotated[
        list[str] | None, typer.Option("--check", "-c", help="Check id or prefix (repeatable).")
    ] = None,
    region: Annotated[list[str] | None, typer.Option("--region", help="Region to scan (repeatable).")] = None,
    min_monthly_cost: Annotated[float, typer.Option(help="Drop smaller findings.")] = 0.0,
    limit: Annotated[
        int, typer.Option(help="Findings shown in Markdown (a page, 1-500); JSON holds every finding.")
    ] = 25,
    provider: ProvidersOpt = None,
    scope: ScopesOpt = None,
    fail_on: FailOnOpt = None,
    fmt: FormatOpt = Format.markdown,
) -> None:
    """Waste audit: priced findings per check."""
    from finops_mcp.models import AUDIT_MAX_PAGE_SIZE, RunAuditRequest
    from finops_mcp.reports.markdown import audit_markdown

    conditions = _parse_fail_on(fail_on, "audit")
    req = _request(
        "run_finops_audit",
        RunAuditRequest,
        {
            "providers": provider,
            "scopes": scope,
            "regions": region,
            "checks": check,
            "min_monthly_cost": str(min_monthly_cost),
            "limit": AUDIT_MAX_PAGE_SIZE if fmt is Format.json else limit,
        },
    )

    async def every_page(svc: FinOpsService, progress: Any) -> AuditReport:
        """The same pages a client reads; JSON gets all of them, Markdown the first."""
        page = await svc.run_audit(req, progress=progress)
        findings = list(page.findings)
        while fmt is Format.json and page.next_cursor:
            page = await svc.run_audit(req.model_copy(update={"cursor": page.next_cursor}))
            findings.extend(page.findings)
        return page.model_copy(update={"findings": findings}) if fmt is Format.json else page

    report = _run(every_page, _settings())
    _finish(report, fmt, audit_markdown, conditions)


@app.command()
def budgets(
    name: Annotated[list[str] | None, typer.Option("--name", "-n", help="Budget name (repeatable).")] = None,
    provider: ProvidersOpt = None,
    scope: ScopesOpt = None,
    fail_on: FailOnOpt = None,
    fmt: FormatOpt = Format.markdown,
) -> None:
    """Budgets with actual, forecast and status."""
    from finops_mcp.models import GetBudgetStatusRequest
    from finops_mcp.reports.markdown import budget_markdown

    conditions = _parse_fail_on(fail_on, "budgets")
    req = _request(
        "get_budget_status", GetBudgetStatusRequest, {"providers": provider, "scopes": scope, "names": name}
    )
    report = _run(lambda svc, progress: svc.get_budget_status(req, progress=progress), _settings())
    _finish(report, fmt, budget_markdown, conditions)


@app.command()
def checks(fmt: FormatOpt = Format.markdown) -> None:
    """List every audit check id."""
    from finops_mcp.reports.markdown import table
    from finops_mcp.server import checks_catalog
    from finops_mcp.service import FinOpsService

    catalog = checks_catalog(FinOpsService(_settings()))
    if fmt is Format.json:
        print(json.dumps(catalog, indent=2))
        return
    rows = [(c["id"], c["severity"], c["category"], c["cost_basis"], c["title"]) for c in catalog]
    print(table(["check", "severity", "category", "cost basis", "finds"], rows))


@app.command()
def demo(
    directory: Annotated[Path | None, typer.Option("--dir", help="Where to generate the demo data.")] = None,
    fmt: FormatOpt = Format.markdown,
) -> None:
    """Generate a realistic FOCUS dataset once and run all three tools on it (no cloud account needed)."""
    from rich.console import Console

    from finops_mcp.demo.generator import ensure_demo
    from finops_mcp.models import GetBudgetStatusRequest, GetCostRequest, RunAuditRequest
    from finops_mcp.periods import month_start
    from finops_mcp.reports.markdown import audit_markdown, budget_markdown, cost_markdown

    console = Console(stderr=True)
    with console.status("Preparing the demo dataset (first run only)..."):
        dataset = ensure_demo(directory)
    settings = _settings(
        providers=["focus"],
        focus_paths=[dataset.paths_setting],
        focus_budgets=str(dataset.budgets_file),
        required_tags=list(dataset.required_tags),
    )

    # Month to date on the first days of a month is too thin to compare: show the last full month.
    mtd_days = (dataset.end - month_start(dataset.end)).days
    period = "month_to_date" if mtd_days >= MIN_MTD_DAYS else "last_month"

    async def everything(svc: FinOpsService, progress: Any) -> tuple[CostReport, AuditReport, BudgetReport]:
        cost_report = await svc.get_cost(
            GetCostRequest(period=period, group_by=["service"], top_n=10, include_forecast=True),
            progress=progress,
        )
        if period == "last_month":
            cost_report.meta.notes.insert(
                0,
                f"the data ends {dataset.end}: month to date would hold only {mtd_days} complete day(s), "
                "so this compares the last full month with the month before",
            )
        audit_report = await svc.run_audit(RunAuditRequest(), progress=progress)
        budget_report = await svc.get_budget_status(GetBudgetStatusRequest(), progress=progress)
        return cost_report, audit_report, budget_report

    # The demo is a snapshot: its "today" is the data's last day, so budgets and month-to-date
    # always fall in the month the generated budgets were sized for (even on the 1st).
    cost_report, audit_report, budget_report = _run(
        everything, settings, demo=True, today=lambda: dataset.end
    )
    if fmt is Format.json:
        print(
            json.dumps(
                {
                    "demo": True,
                    "dataset": {
                        "rows": dataset.rows,
                        "start": str(dataset.start),
                        "end": str(dataset.end),
                        "files": len(dataset.files),
                        "path": str(dataset.root),
                    },
                    "cost": cost_report.model_dump(mode="json"),
                    "audit": audit_report.model_dump(mode="json"),
                    "budgets": budget_report.model_dump(mode="json"),
                },
                indent=2,
            )
        )
        return
    print(
        "# finops-mcp demo\n\n"
        f"> **DEMO DATA** — a generated FOCUS dataset ({dataset.rows:,} rows, AWS + Azure + Google Cloud, "
        f"{dataset.start} to {dataset.end}), not your cloud account. Point FINOPS_FOCUS_PATHS at your own "
        f"exports to see yours. Data: {dataset.root}\n"
    )
    title = (
        "Month-to-date cost by service vs the same days last month"
        if period == "month_to_date"
        else "Last month's cost by service vs the month before (month to date is too young)"
    )
    print(cost_markdown(cost_report, title=title) + "\n")
    print(audit_markdown(audit_report, limit=10, title="Top waste") + "\n")
    print(budget_markdown(budget_report, title="Budgets"))
