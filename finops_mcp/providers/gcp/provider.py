"""`GcpProvider`: costs and budgets from the BigQuery billing export; waste from Recommender and Compute.

Scopes (construction and `scopes()` touch no network):

- FINOPS_GCP_BILLING_ACCOUNT set: one scope `gcp:<billing account>`. Its cost is the whole billing
  account's export (rows filtered on billing_account_id), one BigQuery statement per request, and
  `group_by: account` splits it by project id. Budgets belong to this scope. Its audit fans out
  to one unit per project (`gcp-project:<id>`): FINOPS_GCP_PROJECTS if set, else every project
  linked to the billing account with billing enabled (Cloud Billing API, paged).
- only FINOPS_GCP_PROJECTS: one scope `gcp-project:<id>` per project. Cost calls for these scopes
  share ONE statement per request (the first call queries every configured project at once,
  grouped by project id; the others take their share): filtering the export by project does not
  reduce the bytes BigQuery scans, so one query per project would multiply the bill. Budgets
  need the billing account (a note says so).

Audit units: one per project, or one per (project, requested region). Each unit lists the
project's Compute resources (aggregated lists, all zones in one paged call each) and the idle-
resource recommendations of the zones/regions holding them. A project that refuses (403) fails
alone: the other projects still answer. A project where only the Recommender API is refused keeps
its Compute findings; the recommender checks are then left out of `checks_run` and a note says why.

Forecast: the run-rate of the calendar month (see `budgets` / `finops_mcp.forecast.run_rate`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.forecast import run_rate
from finops_mcp.models import ErrorCode
from finops_mcp.periods import Span, month_span
from finops_mcp.providers.base import (
    AuditUnit,
    CostLine,
    ForecastLine,
    Scope,
    checks_of,
    needs_of,
    run_checks,
)
from finops_mcp.providers.gcp.checks import ACCOUNT_WIDE, CHECKS, GcpAuditContext
from finops_mcp.providers.gcp.export import ExportTable, Restriction, SqlBuilder, fold_months, to_decimal
from finops_mcp.providers.gcp.resources import RECOMMENDERS, REGIONAL_RECOMMENDERS, locations_for, region_of
from finops_mcp.settings import Settings

if TYPE_CHECKING:
    from finops_mcp.providers.base import AuditResult, BudgetLine, Check, CostQuery
    from finops_mcp.providers.gcp.bigquery import ExportRunner
    from finops_mcp.providers.gcp.clients import GcpClients

SHARED_TTL_SECONDS = 30.0


class _Shared:
    """Single-flight results: the first caller of a key computes, concurrent callers wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[Any, tuple[float, Future[Any]]] = {}

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            self._items = {k: v for k, v in self._items.items() if now - v[0] < SHARED_TTL_SECONDS}
            entry = self._items.get(key)
            owner = entry is None
            if entry is None:
                entry = (now, Future())
                self._items[key] = entry
        future = entry[1]
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
                with self._lock:
                    self._items.pop(key, None)  # do not keep failures
        return future.result()


class GcpProvider:
    name: ClassVar[str] = "gcp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.request_timeout_seconds
        self._lock = threading.Lock()
        self._clients: GcpClients | None = None
        self._runner: ExportRunner | None = None
        self._shared = _Shared()

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def clients(self) -> GcpClients:
        with self._lock:
            if self._clients is None:
                from finops_mcp.providers.gcp.clients import GcpClients

                self._clients = GcpClients(self.settings)
            return self._clients

    def _export(self) -> ExportRunner:
        table = ExportTable.parse(self.settings.gcp_billing_export_table)
        clients = self.clients
        with self._lock:
            if self._runner is None:
                from finops_mcp.providers.gcp.bigquery import ExportRunner

                self._runner = ExportRunner(clients, table, self.settings.gcp_max_bytes_billed, self.timeout)
            return self._runner

    def _builder(self, ctx: CallContext) -> SqlBuilder:
        runner = self._export()
        return SqlBuilder(runner.table, runner.schema(ctx))

    def _project_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for p in self.settings.gcp_projects if p))

    def _restriction(self, scope: Scope) -> tuple[Restriction, bool]:
        """The scope's rows, and whether the statement is shared by all project scopes."""
        if scope.kind == "gcp":
            return Restriction(billing_account=scope.key), False
        return Restriction(projects=self._project_ids() or (scope.key,)), True

    # -- Provider: scopes and cost ----------------------------------------------------------

    def scopes(self, ctx: CallContext) -> Sequence[Scope]:
        account = (self.settings.gcp_billing_account or "").strip()
        if account:
            return [Scope(self.name, "gcp", account, name=f"billing account {account}")]
        projects = self._project_ids()
        if not projects:
            raise ScopeFailure(
                "not_configured",
                "set FINOPS_GCP_BILLING_ACCOUNT (costs, budgets, audit of its projects) and/or "
                "FINOPS_GCP_PROJECTS",
            )
        return [Scope(self.name, "gcp-project", p, name=p) for p in projects]

    def _per_scope(self, scope: Scope, key: Any, run: Callable[[bool], dict[str, Any]]) -> Any:
        """Run a statement for this scope, or share one statement between all project scopes."""
        if not self._restriction(scope)[1]:
            return run(False).get("")
        return self._shared.get(key, lambda: run(True)).get(scope.key)

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
        restriction, _ = self._restriction(scope)

        def run(per_project: bool) -> dict[str, list[CostLine]]:
            builder = self._builder(ctx)
            sql, params = builder.cost_sql(query, restriction, per_project)
            rows = self._export().query(sql, params, ctx, "cost query")
            out: dict[str, list[CostLine]] = {}
            for row in rows:
                keys = tuple((dim, str(row[f"k{i}"] or "")) for i, dim in enumerate(query.group_by))
                quantity, unit = row.get("quantity"), row.get("unit")
                line = CostLine(
                    keys=keys,
                    cost=to_decimal(row["cost"]),
                    currency=str(row["currency"] or ""),
                    period_start=row["bucket"],
                    quantity=to_decimal(quantity) if quantity is not None and unit else None,
                    unit=str(unit) if quantity is not None and unit else None,
                )
                out.setdefault(str(row["kp"]) if per_project else "", []).append(line)
            if query.granularity == "monthly":
                return {k: fold_months(v) for k, v in out.items()}
            return out

        return list(self._per_scope(scope, ("cost", query), run) or [])

    def forecast(self, scope: Scope, query: CostQuery, ctx: CallContext) -> ForecastLine | None:

        period = month_span(query.span.end)
        as_of = query.span.end
        restriction, _ = self._restriction(scope)
        span = Span(period.start, min(as_of, period.end))

        def run(per_project: bool) -> dict[str, Any]:
            builder = self._builder(ctx)
            sql, params = builder.totals_sql(span, query.cost_type, query.filters, restriction, per_project)
            rows = self._export().query(sql, params, ctx, "forecast query")
            days = [r["last_day"] for r in rows if r.get("last_day") is not None]
            out: dict[str, Any] = {"": {}}
            for r in rows:
                key = str(r["kp"]) if per_project else ""
                out.setdefault(key, {})[str(r["currency"])] = to_decimal(r["cost"])
            return {k: (v, max(days) if days else None) for k, v in out.items()}

        totals, last_day = self._per_scope(scope, ("forecast", query), run) or ({}, None)
        if not totals or last_day is None:
            ctx.note(f"{scope.id}: no billing export rows between {period.start} and {as_of}, so no forecast")
            return None
        currency = max(totals, key=lambda c: abs(totals[c]))
        amount = run_rate(totals[currency], period, last_day, as_of)
        if amount is None:
            return None
        if len(totals) > 1:
            ctx.note(f"{scope.id}: forecast covers {currency} only")
        return ForecastLine(span=period, amount=amount, currency=currency, method="run_rate")

    # -- budgets ----------------------------------------------------------------------------

    def budgets(self, scope: Scope, today: date, ctx: CallContext) -> list[BudgetLine]:
        from finops_mcp.providers.gcp import budgets as budgets_mod
        from finops_mcp.providers.gcp.clients import pages

        if scope.kind != "gcp":
            ctx.note(
                f"{scope.id}: GCP budgets belong to a billing account; set FINOPS_GCP_BILLING_ACCOUNT "
                "to track them"
            )
            return []
        client = self.clients.budgets()
        parent = f"billingAccounts/{scope.key}"

        def fetch(token: str) -> Any:
            return client.list_budgets(
                request={"parent": parent, "page_token": token}, retry=None, timeout=self.timeout
            )

        found = [budgets_mod.from_api(b, today) for page in pages(ctx, fetch) for b in page.budgets]
        if not found:
            return []
        builder = self._builder(ctx)
        usable = []
        for b in found:
            why = budgets_mod.supported(b, builder.schema.kind)
            if why:
                ctx.note(f"GCP budget {b.name!r} is not reported: {why}")
            else:
                usable.append(b)
        if not usable:
            return []
        sql, params = budgets_mod.budgets_sql(builder, usable, Restriction(billing_account=scope.key), today)
        rows = self._export().query(sql, params, ctx, "budget query")
        lines, notes = budgets_mod.budget_lines(usable, rows, today)
        for note in notes:
            ctx.note(note)
        return lines

    # -- audit ------------------------------------------------------------------------------

    def checks(self) -> Sequence[Check[Any]]:
        return (*CHECKS, *ACCOUNT_WIDE)

    def _billing_projects(self, account: str, ctx: CallContext) -> list[str]:
        from finops_mcp.providers.gcp.clients import pages

        client = self.clients.billing()

        def fetch(token: str) -> Any:
            return client.list_project_billing_info(
                request={"name": f"billingAccounts/{account}", "page_token": token},
                retry=None,
                timeout=self.timeout,
            )

        return [
            info.project_id
            for page in pages(ctx, fetch)
            for info in page.project_billing_info
            if info.billing_enabled and info.project_id
        ]

    def audit_units(self, scope: Scope, regions: Sequence[str] | None, ctx: CallContext) -> list[AuditUnit]:
        if scope.kind == "gcp":
            projects = list(self._project_ids()) or self._billing_projects(scope.key, ctx)
            if not projects:
                ctx.note(f"{scope.id}: no project with billing enabled is linked to this billing account")
        else:
            projects = [scope.key]
        wanted = list(dict.fromkeys(r for r in regions or () if r))
        units: list[AuditUnit] = []
        for project in projects:
            target = Scope(self.name, "gcp-project", project, name=project)
            units.extend([AuditUnit(target, r) for r in wanted] or [AuditUnit(target)])
        return units

    def audit(self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext) -> AuditResult:
        from finops_mcp.providers.gcp import inventory

        mine = checks_of(self.name, checks)
        fed = self._export_checks(unit, [c for c in mine if c in ACCOUNT_WIDE], ctx)
        mine = [c for c in mine if c not in ACCOUNT_WIDE]
        project = unit.scope.key
        needs = set(needs_of(mine))
        configured = [r for r in self.settings.gcp_recommender_regions if r]
        if needs & REGIONAL_RECOMMENDERS and not configured:
            needs |= {"instances", "disks", "addresses"}  # their regions are where to ask
        listed: dict[str, list[Any]] = {}
        for kind, lister in inventory.LISTERS.items():
            items = lister(ctx, self.clients, project, self.timeout) if kind in needs else []
            if unit.region:
                items = [x for x in items if x.region == unit.region]
            listed[kind] = items
        recommendations: list[Any] = []
        refused: set[str] = set()
        compute_regions = sorted(
            {x.region for items in listed.values() for x in items if x.region and x.region != "global"}
        )
        for recommender in sorted({r for r in needs if r.startswith("google.")}):
            locations = locations_for(
                recommender,
                listed["instances"],
                listed["disks"],
                listed["addresses"],
                configured or compute_regions,
            )
            for location in locations:
                if unit.region and region_of(location) not in (unit.region,):
                    continue
                try:
                    recommendations += inventory.list_recommendations(
                        ctx, self.clients, project, location, recommender, self.timeout
                    )
                except Exception as exc:
                    code = self.classify_error(exc)
                    if code is None or code[0] != "forbidden":
                        raise
                    refused.add(recommender)
                    ctx.note(
                        f"gcp-project:{project}: Recommender refused {recommender} "
                        f"({type(exc).__name__}); grant {RECOMMENDERS[recommender].role} and enable "
                        "recommender.googleapis.com"
                    )
                    break
        context = GcpAuditContext(
            project=project,
            now=datetime.now(timezone.utc),
            instances=tuple(listed["instances"]),
            disks=tuple(listed["disks"]),
            addresses=tuple(listed["addresses"]),
            snapshots=tuple(listed["snapshots"]),
            images=tuple(listed["images"]),
            recommendations=tuple(recommendations),
            snapshot_max_age_days=self.settings.gcp_snapshot_max_age_days,
            image_unused_days=self.settings.gcp_image_unused_days,
        )
        seen = {x.region for items in listed.values() for x in items if x.region and x.region != "global"}
        if unit.region:
            seen = {unit.region}
        return run_checks(mine, context, ctx, sorted(seen), refused=refused).extend(fed)

    def _export_checks(
        self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext
    ) -> AuditResult | None:
        """The billing-export checks (`gcp.anomaly.*`) of one project unit: one series statement
        shared by every project unit of the audit, plus one SKU statement for a project with
        anomalies. An export that cannot be read (not set, refused, over the scan limit) leaves
        the checks out with a note naming the fix; the project's other checks still answer."""
        if not checks:
            return None
        from finops_mcp.periods import utc_today
        from finops_mcp.providers.gcp import anomalies

        project = unit.scope.key
        account = (self.settings.gcp_billing_account or "").strip()
        restriction = (
            Restriction(billing_account=account)
            if account
            else Restriction(projects=self._project_ids() or (project,))
        )
        span = anomalies.query_span(utc_today())

        def series() -> list[dict[str, Any]]:
            sql, params = self._builder(ctx).daily_usage_sql(span, restriction)
            return self._export().query(sql, params, ctx, "anomaly series query")

        def sku_days(services: Sequence[str], days: Sequence[date]) -> list[dict[str, Any]]:
            sql, params = self._builder(ctx).sku_days_sql(restriction, project, unit.region, services, days)
            return self._export().query(sql, params, ctx, "anomaly driver query")

        try:
            rows = self._shared.get(("anomaly-series", span, restriction), series)
            data = anomalies.AnomalyData(
                project, unit.region, rows, self.settings.spike_min_daily_cost, sku_days
            )
            return run_checks(checks, data, ctx)
        except Exception as exc:
            code = self.classify_error(exc)
            if code is None or code[0] in ("cancelled", "auth"):
                raise
            why = exc.message if isinstance(exc, ScopeFailure) else f"{code[0]} ({type(exc).__name__})"
            ctx.note(f"{unit.scope.id}: {', '.join(c.id for c in checks)} did not run: {why}")
            return None

    # -- misc -------------------------------------------------------------------------------

    def classify_error(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        if isinstance(exc, ScopeFailure):
            return exc.code, exc.retryable
        if "google" not in type(exc).__module__ and "requests" not in type(exc).__module__:
            return None  # never import the SDK just to classify a foreign error
        from finops_mcp.providers.gcp.clients import ERRORS

        return ERRORS.classify(exc)

    def describe(self) -> dict[str, Any]:
        """Configuration facts (no secrets, no network)."""
        table = self.settings.gcp_billing_export_table
        try:
            export = str(ExportTable.parse(table)) if table else None
            export_error = None
        except ScopeFailure as exc:
            export, export_error = None, exc.message
        info: dict[str, Any] = {
            "billing_account": self.settings.gcp_billing_account,
            "projects": list(self._project_ids()),
            "billing_export_table": export,
            "max_bytes_billed": self.settings.gcp_max_bytes_billed,
            "api_endpoint": self.settings.gcp_api_endpoint,
            "bigquery_endpoint": self.settings.gcp_bigquery_endpoint,
            "credentials": "Application Default Credentials "
            "(GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server)",
            "checks": [c.id for c in (*CHECKS, *ACCOUNT_WIDE)],
        }
        if export_error:
            info["billing_export_table_error"] = export_error
        with self._lock:
            runner = self._runner
        if runner is not None and runner._schema is not None:
            info["billing_export_kind"] = runner._schema[1].kind
        return info

    def close(self) -> None:
        with self._lock:
            clients, self._clients, self._runner = self._clients, None, None
        if clients is not None:
            clients.close()
