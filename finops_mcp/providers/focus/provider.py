"""`FocusProvider`: the FOCUS billing-export provider (CSV / Parquet files, queried in place with DuckDB).

One scope per dataset (`focus:<name>`, see `datasets` for how `FINOPS_FOCUS_PATHS` names them).
Construction only parses the settings; files are globbed and a locked DuckDB view is built over
them on the first call that needs them (`store`, `loader`), and rebuilt when they change.
`data_version(scope)` (the files' stat fingerprint) is part of the service's cache key, so a
changed or new file is seen at the next call, not after the cache TTL. A query that fails is
reported without DuckDB's SQL text. Caveats found while loading
(skipped non-cost files, globs matching nothing, missing columns) are passed to `ctx.note` on
every cost, forecast, budget and audit call of that dataset, and listed by `describe()`.

Audit units: one per dataset, or one per requested region (each check then looks at that
region only). Audit window: see `checks`.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Union

import duckdb

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import ErrorMap, TypeTable, by_type
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import ErrorCode
from finops_mcp.periods import Span
from finops_mcp.providers.base import AuditResult, AuditUnit, Scope, checks_of, run_checks
from finops_mcp.providers.focus import budgets as budgets_mod
from finops_mcp.providers.focus import queries
from finops_mcp.providers.focus.checks import CHECKS, FocusCheckContext, audit_window
from finops_mcp.providers.focus.csvcache import CsvCache
from finops_mcp.providers.focus.datasets import DatasetSpec, is_table_url, parse_focus_paths
from finops_mcp.providers.focus.executor import DuckRunner, Runner
from finops_mcp.providers.focus.loader import TABLE, LoadedDataset, clean_error
from finops_mcp.providers.focus.store import DatasetStore
from finops_mcp.settings import Settings

if TYPE_CHECKING:
    from finops_mcp.providers.base import BudgetLine, Check, CostLine, CostQuery, ForecastLine
    from finops_mcp.providers.focus.warehouse.dataset import WarehouseDataset, WarehouseSnapshot

_DESCRIBE_FILE_LIMIT = 20
Dataset = Union[LoadedDataset, "WarehouseSnapshot"]


# DuckDB exceptions -> (code, retryable), first match wins (duckdb.Error, their base, last).
DUCKDB_ERRORS: TypeTable = (
    ((duckdb.InterruptException,), "cancelled", False),
    ((duckdb.IOException, duckdb.PermissionException), "upstream", False),
    ((duckdb.OutOfMemoryException,), "upstream", True),
    (
        (
            duckdb.ConversionException,
            duckdb.InvalidInputException,
            duckdb.BinderException,
            duckdb.ParserException,
        ),
        "invalid_query",
        False,
    ),
    ((duckdb.Error,), "upstream", False),
)
ERRORS = ErrorMap(lambda exc: by_type(exc, DUCKDB_ERRORS))


class FocusProvider:
    name: ClassVar[str] = "focus"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        specs = parse_focus_paths(settings.focus_paths)
        self._names = list(specs)
        tables = {n: s for n, s in specs.items() if any(is_table_url(g) for g in s.globs)}
        self._warehouses: dict[str, WarehouseDataset | ScopeFailure] = {
            n: self._warehouse(spec) for n, spec in tables.items()
        }
        files = {n: s for n, s in specs.items() if n not in tables}
        self._store = DatasetStore(files, CsvCache(settings.focus_cache_dir))
        self._budget_file = budgets_mod.BudgetFile(settings.focus_budgets)

    def _warehouse(self, spec: DatasetSpec) -> WarehouseDataset | ScopeFailure:
        """A warehouse dataset (its URL parsed; nothing imported or contacted yet), or why not."""
        if len(spec.globs) != 1:
            return ScopeFailure(
                "not_configured",
                f"FOCUS dataset {spec.name!r}: a warehouse table cannot share its dataset name with other "
                "FINOPS_FOCUS_PATHS entries; give each entry its own name=",
            )
        from finops_mcp.providers.focus.warehouse.dataset import WarehouseDataset, parse_table_url

        try:
            return WarehouseDataset(spec.name, parse_table_url(spec.globs[0], spec.name), self.settings)
        except ScopeFailure as exc:
            return exc

    # -- helpers ---------------------------------------------------------------------------

    def _table(self, name: str) -> WarehouseDataset | None:
        wh = self._warehouses.get(name)
        if isinstance(wh, ScopeFailure):
            raise ScopeFailure(wh.code, wh.message)
        return wh

    def _dataset(self, scope: Scope, ctx: CallContext) -> Dataset:
        ctx.raise_if_cancelled()
        wh = self._table(scope.key)
        ds = wh.snapshot(ctx) if wh is not None else self._store.get(scope.key, ctx)
        for note in ds.notes:
            ctx.note(note)
        ctx.raise_if_cancelled()
        return ds

    @contextlib.contextmanager
    def _cursor(self, ds: Dataset, ctx: CallContext) -> Iterator[Runner]:
        """Where the dataset's queries run: its warehouse table (the bytes scanned noted at the
        end), or a cursor on its local database (a DuckDB error becomes a ScopeFailure without
        SQL text)."""
        wh = self._table(ds.name)
        if wh is not None:
            runner = wh.runner(ctx)
            try:
                yield runner
            finally:
                runner.finish()
            return
        assert isinstance(ds, LoadedDataset)
        cur = ds.cursor()
        try:
            yield DuckRunner(cur)
        except duckdb.Error as exc:
            mapped = self.classify_error(exc) or ("upstream", False)
            raise ScopeFailure(
                mapped[0], f"FOCUS dataset {ds.name!r}: query failed: {clean_error(exc)}", retryable=mapped[1]
            ) from None
        finally:
            cur.close()

    def data_version(self, scope: Scope) -> str | None:
        """A fingerprint of the scope's files (paths, sizes, mtimes): part of the service's cache key.
        A warehouse table has none: its value changes every few minutes (`WarehouseDataset`)."""
        wh = self._warehouses.get(scope.key)
        if wh is not None:
            return wh.data_version() if not isinstance(wh, ScopeFailure) else None
        try:
            files = self._store.files(scope.key).signature
        except ScopeFailure:
            return None
        digest = hashlib.sha256(repr(files).encode()).hexdigest()
        return digest[:16]

    # -- Provider --------------------------------------------------------------------------

    def scopes(self, ctx: CallContext) -> Sequence[Scope]:
        return [Scope(provider=self.name, kind="focus", key=name, name=name) for name in self._names]

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
        ds = self._dataset(scope, ctx)
        with self._cursor(ds, ctx) as cur:
            return queries.cost_lines(cur, query)

    def cost_periods(
        self, scope: Scope, query: CostQuery, spans: Sequence[Span], ctx: CallContext
    ) -> list[list[CostLine]]:
        """`query` over each span in one scan (`PeriodsCost`)."""
        ds = self._dataset(scope, ctx)
        with self._cursor(ds, ctx) as cur:
            return queries.period_lines(cur, query, spans)

    def data_span(self, scope: Scope, ctx: CallContext) -> Span | None:
        """The dataset's first and last charge day (`SpanAware`)."""
        ds = self._dataset(scope, ctx)
        if ds.first_day is None or ds.last_day is None:
            return None
        return Span(ds.first_day, ds.last_day)

    def forecast(self, scope: Scope, query: CostQuery, ctx: CallContext) -> ForecastLine | None:
        ds = self._dataset(scope, ctx)
        with self._cursor(ds, ctx) as cur:
            line, notes = queries.forecast(cur, query, ds.main_currency)
        for note in notes:
            ctx.note(f"{scope.id}: {note}")
        return line

    def budgets(self, scope: Scope, today: date, ctx: CallContext) -> list[BudgetLine]:
        if self._budget_file.path is None:
            ctx.note(
                "FOCUS exports carry no budgets: set FINOPS_FOCUS_BUDGETS to a YAML or JSON budgets file "
                "to track FOCUS budgets"
            )
            return []
        specs = self._budget_file.budgets()
        known = set(self._names)
        for spec in specs:
            if spec.dataset is not None and spec.dataset not in known:
                ctx.note(
                    f"FOCUS budget {spec.name!r} names dataset {spec.dataset!r}, which "
                    f"FINOPS_FOCUS_PATHS does not define (datasets: {', '.join(sorted(known)) or 'none'})"
                )
        mine = [s for s in specs if s.applies_to(scope.key)]
        if not mine:
            return []
        ds = self._dataset(scope, ctx)
        with self._cursor(ds, ctx) as cur:
            lines, notes = budgets_mod.budget_lines(cur, scope.key, mine, today, ds.main_currency)
        for note in notes:
            ctx.note(note)
        return lines

    def checks(self) -> Sequence[Check[Any]]:
        return CHECKS

    def audit_units(self, scope: Scope, regions: Sequence[str] | None, ctx: CallContext) -> list[AuditUnit]:
        if not regions:
            return [AuditUnit(scope)]
        return [AuditUnit(scope, region) for region in dict.fromkeys(r for r in regions if r)]

    def audit(self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext) -> AuditResult:
        mine = checks_of(self.name, checks)
        ids = [c.id for c in mine]
        ds = self._dataset(unit.scope, ctx)
        if ds.last_day is None or ds.first_day is None:
            ctx.note(f"{unit.scope.id}: no dated cost rows, nothing to audit")
            return AuditResult(findings=[], checks_run=ids, regions=[])
        window = audit_window(ds.last_day)
        ctx.note(
            f"{unit.scope.id}: audit window {window.start}..{window.end} (the 30 days ending at the "
            "dataset's latest charge day)"
        )
        required = tuple(t for t in self.settings.required_tags if t)
        if not required and any(c.id == "focus.untagged_cost" for c in mine):
            ctx.note("FINOPS_REQUIRED_TAGS is empty: focus.untagged_cost had nothing to check")
        regions = (unit.region,) if unit.region else ()
        with self._cursor(ds, ctx) as cur:
            check_ctx = FocusCheckContext(
                cursor=cur,
                dataset=unit.scope.key,
                window=window,
                data_start=ds.first_day,
                regions=regions,
                required_tags=required,
                spike_factor=self.settings.spike_factor,
                spike_min_daily_cost=self.settings.spike_min_daily_cost,
                spike_baseline_days=self.settings.spike_baseline_days,
                min_utilization=self.settings.commitment_min_utilization_pct,
                min_coverage=self.settings.commitment_min_coverage_pct,
            )
            result = run_checks(mine, check_ctx, ctx)
            result.regions = seen = self._regions_seen(cur, window, regions)
        if unit.region and not seen:
            ctx.note(
                f"{unit.scope.id}: no cost rows in region {unit.region!r} during {window.start}..{window.end}"
            )
        return result

    @staticmethod
    def _regions_seen(cur: Runner, window: Span, regions: tuple[str, ...]) -> list[str]:
        where = (
            queries.Where.days(window.start, window.end).among("region", regions).add("region IS NOT NULL")
        )
        rows = cur.rows(f"SELECT DISTINCT region FROM {TABLE} WHERE {where.sql} ORDER BY 1", where.params)
        return [str(r[0]) for r in rows]

    def classify_error(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        return ERRORS.classify(exc)

    def describe(self) -> dict[str, Any]:
        """Datasets, their files or table and what the data holds. Loads datasets not loaded yet;
        never raises."""
        return {
            "source": "FINOPS_FOCUS_PATHS",
            "datasets": [self._describe_dataset(name) for name in self._names],
            "budgets_file": self._budget_file.path,
            "required_tags": list(self.settings.required_tags),
            "checks": [c.id for c in CHECKS],
        }

    def _describe_dataset(self, name: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": name, "scope": f"focus:{name}"}
        ds: Dataset
        try:
            wh = self._table(name)
            if wh is not None:
                entry["table"] = wh.table.display
                ds = wh.snapshot(CallContext())
            else:
                entry["globs"] = list(self._store.spec(name).globs)
                ds = self._store.get(name)
        except ScopeFailure as exc:
            entry.update(loaded=False, error={"code": exc.code, "message": exc.message})
            return entry
        except Exception as exc:  # describe() must not fail the resource
            entry.update(loaded=False, error={"code": "upstream", "message": str(exc)[:300]})
            return entry
        entry.update(
            loaded=True,
            rows=ds.rows,
            providers=list(ds.providers),
            first_day=ds.first_day.isoformat() if ds.first_day else None,
            last_day=ds.last_day.isoformat() if ds.last_day else None,
            currencies=list(ds.currencies),
            notes=list(ds.notes),
        )
        if isinstance(ds, LoadedDataset):
            entry.update(
                files=ds.files,
                skipped_files=[
                    {"path": s.path, "reason": s.reason} for s in ds.skipped[:_DESCRIBE_FILE_LIMIT]
                ],
                skipped_count=len(ds.skipped),
                ignored_files=list(ds.ignored[:_DESCRIBE_FILE_LIMIT]),
                ignored_count=len(ds.ignored),
            )
        return entry

    def close(self) -> None:
        self._store.close()
        for wh in self._warehouses.values():
            if not isinstance(wh, ScopeFailure):
                wh.close()
