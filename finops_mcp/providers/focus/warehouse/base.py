"""The seam between the FOCUS provider and a warehouse engine that holds a FOCUS table.

A FOCUS dataset in `FINOPS_FOCUS_PATHS` may name a table instead of files
(`bigquery://PROJECT/DATASET/TABLE`, `athena://CATALOG/DATABASE/TABLE?workgroup=...&output=s3://...`,
`snowflake://ACCOUNT/DB/SCHEMA/TABLE`). The provider renders its one SQL text per query into the
backend's `dialect` (see `render`) and hands it to the backend, which only runs it:

- `WarehouseTable`: the parsed URL (scheme, path parts, query-string options, a display form).
- `WarehouseResult`: the rows and the bytes the engine says it scanned.
- `WarehouseBackend`: constructed as `Backend(table: WarehouseTable, settings: Settings)`; `run`
  takes SQL rendered in `dialect` with positional `?` placeholders and the parameters in order
  (str, int, Decimal, datetime.date), converts them to the driver's own binding, and maps the
  SDK's exceptions through one `ErrorMap` table (finops_mcp/engine/retry.py) to `ScopeFailure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from finops_mcp.engine.context import CallContext


@dataclass(frozen=True)
class WarehouseTable:
    scheme: str  # "bigquery" | "athena" | "snowflake"
    location: tuple[str, ...]  # path parts, e.g. ("PROJECT", "DATASET", "TABLE")
    options: Mapping[str, str]  # query-string options (workgroup, output, warehouse, role, ...)
    display: str  # the configured URL, safe to show (no secrets)


@dataclass(frozen=True)
class WarehouseResult:
    rows: list[tuple[object, ...]]
    bytes_scanned: int | None  # as the engine reports it, None when it does not


class WarehouseBackend(Protocol):
    dialect: ClassVar[str]  # sqlglot dialect name the SQL is rendered in

    def run(self, sql: str, params: Sequence[object], ctx: CallContext | None) -> WarehouseResult:
        """Run `sql` (in `dialect`, positional `?` placeholders) with `params` bound in order.

        params are str, int, Decimal or datetime.date; the backend converts them to its driver's
        binding and maps SDK exceptions through one ErrorMap table to ScopeFailure.
        """
        ...

    def close(self) -> None: ...
