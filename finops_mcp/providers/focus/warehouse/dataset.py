"""A FOCUS dataset that is a warehouse table: its URL, its backend, what it holds, its runner.

`FINOPS_FOCUS_PATHS` entries `bigquery://PROJECT/DATASET/TABLE`,
`athena://CATALOG/DATABASE/TABLE?workgroup=...&output=s3://...` and
`snowflake://ACCOUNT/DB/SCHEMA/TABLE?warehouse=...&role=...` (each optionally `name=...`) name a
table instead of files (`parse_table_url`). The backend is imported by scheme on first use
(`BACKENDS`), so an engine's SDK is only needed when a dataset uses it.

What the table holds (rows, first and last charge day, currencies by cost) is read with one
query and kept for `STATS_TTL_SECONDS`; `data_version` is that snapshot's time bucket: a
warehouse has no cheap file fingerprint, so a warehouse answer may be as old as the service's
cache TTL (FINOPS_CACHE_TTL_SECONDS) plus that, never older.

`WarehouseRunner` is the `executor.Runner` over the table: every query text is rendered for the
engine (`render`), run by the backend with the parameters bound by its driver, and the bytes the
engine reports scanning are counted (`ctx.count_scanned`, shown in meta.bytes_scanned) and
summed into one note per call. A float from a driver (fakesnow returns DECIMAL sums as float) is
turned into a Decimal through its shortest repr, never through binary arithmetic.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from finops_mcp.engine.context import CallContext, human_bytes
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.executor import Row
from finops_mcp.providers.focus.loader import STATS_SQL, Stats, summarize
from finops_mcp.providers.focus.warehouse.base import WarehouseBackend, WarehouseTable
from finops_mcp.providers.focus.warehouse.render import render
from finops_mcp.settings import Settings

# scheme -> (module under finops_mcp.providers.focus.warehouse, backend class, parts of the path, extra)
BACKENDS: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "bigquery": ("bigquery", "BigQueryBackend", ("PROJECT", "DATASET", "TABLE"), None),
    "athena": ("athena", "AthenaBackend", ("CATALOG", "DATABASE", "TABLE"), None),
    "snowflake": ("snowflake", "SnowflakeBackend", ("ACCOUNT", "DB", "SCHEMA", "TABLE"), "snowflake"),
}
ENGINE_NAMES = {"bigquery": "BigQuery", "athena": "Athena", "snowflake": "Snowflake"}
STATS_TTL_SECONDS = 300.0
_SECRET_OPTIONS = ("password", "token", "secret", "private_key")


def parse_table_url(entry: str, dataset: str) -> WarehouseTable:
    """`scheme://part/part/...?k=v` -> WarehouseTable; a clear `not_configured` error otherwise."""
    url = urlsplit(entry.strip())
    scheme = url.scheme.lower()
    _module, _cls, parts, _extra = BACKENDS[scheme]
    location = tuple(p for p in (url.netloc, *url.path.split("/")) if p)
    example = f"{scheme}://{'/'.join(parts)}"
    if len(location) != len(parts):
        raise ScopeFailure(
            "not_configured",
            f"FOCUS dataset {dataset!r}: FINOPS_FOCUS_PATHS entry {scheme}://... names {len(location)} "
            f"part(s); a {ENGINE_NAMES[scheme]} table is {example}",
        )
    options = dict(parse_qsl(url.query, keep_blank_values=False))
    secret = [k for k in options if any(s in k.lower() for s in _SECRET_OPTIONS)]
    if secret:
        raise ScopeFailure(
            "not_configured",
            f"FOCUS dataset {dataset!r}: FINOPS_FOCUS_PATHS must not carry secrets ({', '.join(secret)}); "
            "use the engine's credential settings (docs/warehouses.md)",
        )
    display = f"{scheme}://{'/'.join(location)}" + (f"?{url.query}" if url.query else "")
    return WarehouseTable(scheme, location, options, display)


def new_backend(table: WarehouseTable, settings: Settings) -> WarehouseBackend:
    """The scheme's backend, imported now (a missing SDK is a clear error naming the extra)."""
    module_name, cls_name, _parts, extra = BACKENDS[table.scheme]
    try:
        module = importlib.import_module(f"finops_mcp.providers.focus.warehouse.{module_name}")
    except ImportError as exc:
        hint = f"pip install 'finops-mcp-server[{extra}]'" if extra else "reinstall finops-mcp-server"
        raise ScopeFailure(
            "not_configured",
            f"{ENGINE_NAMES[table.scheme]} FOCUS tables need a package that is not installed "
            f"({exc.name or exc}): {hint}",
        ) from None
    backend: WarehouseBackend = getattr(module, cls_name)(table, settings)
    return backend


def _value(v: Any) -> Any:
    if isinstance(v, float):
        return Decimal(repr(v))
    return v


class WarehouseRunner:
    """`executor.Runner` over a warehouse table; `finish` notes the bytes scanned."""

    def __init__(self, name: str, table: WarehouseTable, backend: WarehouseBackend, ctx: CallContext) -> None:
        self.name = name
        self.table = table
        self.backend = backend
        self.ctx = ctx
        self.queries = 0
        self.scanned: int | None = None

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        self.ctx.raise_if_cancelled()
        rendered = render(sql, self.table.scheme, self.table)
        result = self.backend.run(rendered.sql, rendered.params(params), self.ctx)
        self.queries += 1
        if result.bytes_scanned is not None:
            self.scanned = (self.scanned or 0) + result.bytes_scanned
            self.ctx.count_scanned(f"focus.{self.table.scheme}", result.bytes_scanned)
        return [tuple(_value(v) for v in row) for row in result.rows]

    def finish(self, limit: str | None = None) -> None:
        if not self.queries:
            return
        engine = ENGINE_NAMES[self.table.scheme]
        amount = human_bytes(self.scanned) if self.scanned is not None else "an amount it does not report"
        self.ctx.note(
            f"focus:{self.name}: {engine} scanned {amount} in {self.queries} quer"
            f"{'y' if self.queries == 1 else 'ies'} on {self.table.display}"
            + (f" ({limit})" if limit else "")
        )


@dataclass(frozen=True)
class WarehouseSnapshot(Stats):
    """What a warehouse dataset holds (`loader.Stats`), as `loader.LoadedDataset` tells it for files."""

    name: str
    notes: tuple[str, ...]
    taken: float

    @property
    def main_currency(self) -> str | None:
        return self.currencies[0] if self.currencies else None


class WarehouseDataset:
    """One configured warehouse table: backend built on first use, stats kept for a short TTL."""

    def __init__(self, name: str, table: WarehouseTable, settings: Settings) -> None:
        self.name = name
        self.table = table
        self.settings = settings
        self._lock = threading.Lock()
        self._backend: WarehouseBackend | None = None
        self._snapshot: WarehouseSnapshot | None = None

    def backend(self) -> WarehouseBackend:
        with self._lock:
            if self._backend is None:
                self._backend = new_backend(self.table, self.settings)
            return self._backend

    def runner(self, ctx: CallContext) -> WarehouseRunner:
        return WarehouseRunner(self.name, self.table, self.backend(), ctx)

    def data_version(self) -> str:
        """The stats snapshot's time bucket: answers are re-asked at least every STATS_TTL_SECONDS."""
        return f"{self.table.display}@{int(time.time() // STATS_TTL_SECONDS)}"

    def snapshot(self, ctx: CallContext) -> WarehouseSnapshot:
        current = self._snapshot
        if current is not None and time.monotonic() - current.taken < STATS_TTL_SECONDS:
            return current
        runner = self.runner(ctx)
        groups = runner.rows(STATS_SQL)
        runner.finish("reading what the table holds")
        stats = summarize(groups)
        if stats.rows == 0:
            raise ScopeFailure(
                "no_data",
                f"FOCUS dataset {self.name!r}: {self.table.display} holds no rows; point FINOPS_FOCUS_PATHS "
                "at the FOCUS cost table",
            )
        undated = (
            f"FOCUS dataset {self.name!r}: {stats.undated} row(s) without ChargePeriodStart are not counted"
        )
        notes = (undated,) if stats.undated else ()
        snap = WarehouseSnapshot(**asdict(stats), name=self.name, notes=notes, taken=time.monotonic())
        self._snapshot = snap
        return snap

    def close(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()
