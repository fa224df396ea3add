"""Build one FOCUS dataset's view over its files, in place, on a locked-down DuckDB database.

Every dataset gets its own in-memory DuckDB database (one DuckDB instance: the lock's allow-list is
per instance) holding one view, `focus_cost` (columns: `COLUMNS`), over the files themselves: nothing
is copied into memory, so memory does not grow with rows. Parquet exports are read in place (DuckDB
reads only the columns and row groups a query needs); CSV / gzipped CSV exports are read from their
normalized Parquet twin in the CSV cache (`csvcache`), converted once.

Normalization (FOCUS 1.0 - 1.3), as view expressions:

- `charge_day` is the UTC calendar day of ChargePeriodStart (a DATE: day/month grouping stays cheap;
  DuckDB 2.0 is slow at truncating TIMESTAMPTZ, so TIMESTAMPTZ becomes a day by epoch arithmetic).
  Naive TIMESTAMPs and ISO text without an offset are taken as UTC; text with `Z` or an offset is
  honoured.
- `provider_name` is ServiceProviderName (1.3) or ProviderName; `account` is SubAccountId, else
  BillingAccountId; `region` is RegionId, else RegionName. Empty strings become NULL.
- `billed_cost` / `effective_cost` are DECIMAL(38,10): sums are exact. A file without EffectiveCost
  uses BilledCost for it (noted).
- `tags` is the Tags column as JSON text (a Parquet MAP / STRUCT is rendered as JSON; Azure's
  brace-less `"k": "v", ...` form gets its braces). It is read lazily: only a query naming a tag key
  extracts it, with the `tag_value(tags, key)` macro (a JSON pointer lookup: any key is safe).
- `partition_month` is the billing month of a Hive-style folder (`datasets.billing_month`) or NULL:
  a constant per branch of the view, so a period filter on it skips whole files.
- `quantity` / `unit` are PricingQuantity / PricingUnit, else ConsumedQuantity / ConsumedUnit (a
  pair is taken together, never one's quantity with the other's unit); NULL when the file has neither.
- CSV is read with every column as text so account ids keep their leading zeros.

A file is cost data when it has BilledCost and ChargePeriodStart columns; other files (e.g. the
FOCUS 1.3 contract-commitments dataset exported to the same folder) are skipped and reported, never
counted. A file that cannot be read (a half-written or corrupt Parquet file) is skipped and named
in the dataset's notes while the rest are counted; when no cost file can be read at all, the
dataset fails (`upstream` / `invalid_query` naming the file), and when the files hold no FOCUS cost
rows, it fails with `no_data`. A value that is not a number / timestamp fails the dataset naming
the file. Error messages never carry SQL text.

The lock, after the view is built (FIELD-NOTES, "Querying FOCUS in place, locked"):
`SET allowed_directories` / `allowed_paths` to exactly the configured folders / files and the
dataset's CSV-cache files, then `SET enable_external_access = false`, then
`SET lock_configuration = true`; extension autoload / autoinstall are off from the start. No later
query on that database can read outside those locations, write outside them, fetch URLs, attach
databases, load extensions or undo the lock. DuckDB >= 1.5 also refuses symlinks out of the allowed
folders (`datasets` skips such files itself). The lock is defence in depth: SQL stays server-built.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import duckdb

from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus import storage
from finops_mcp.providers.focus.columns import (  # noqa: F401 - re-exported, the loader's names
    COLUMN_NAMES,
    COLUMNS,
    MONEY,
    REQUIRED,
    TEXT_SOURCES,
    Columns,
    classify,
    quote_ident,
    select_list,
)
from finops_mcp.providers.focus.datasets import FileKind, FileSet, FileStat, Root

if TYPE_CHECKING:
    from finops_mcp.providers.focus.csvcache import CsvCache

TABLE = "focus_cost"
# tag_value(tags, key): the key's value as text, NULL when missing (JSON pointer: '~' and '/' escaped)
TAG_MACRO = (
    "CREATE MACRO tag_value(t, k) AS json_extract_string(t, '/' || replace(replace(k, '~', '~0'), '/', '~1'))"
)

_MAX_MESSAGE = 300


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class LoadedDataset:
    """A dataset's view, built and locked. Query it through `cursor()` (one per call / thread)."""

    name: str
    connection: duckdb.DuckDBPyConnection
    signature: tuple[FileStat, ...]
    files: int
    rows: int
    first_day: date | None
    last_day: date | None
    providers: tuple[str, ...]
    currencies: tuple[str, ...]  # most cost first
    skipped: tuple[SkippedFile, ...]
    ignored: tuple[str, ...]
    notes: tuple[str, ...]  # caveats every call on this dataset must pass on (ctx.note)
    _closed: bool = False

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.connection.cursor()

    @property
    def main_currency(self) -> str | None:
        return self.currencies[0] if self.currencies else None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(duckdb.Error):
                self.connection.close()


def sql_string(value: str) -> str:
    """A SQL string literal (for server-built paths only: never tool input)."""
    return "'" + value.replace("'", "''") + "'"


def clean_error(exc: BaseException) -> str:
    """DuckDB's message without SQL text (no `LINE n:` excerpt, no caret line), shortened."""
    lines = []
    for line in str(exc).splitlines():
        if line.strip().startswith("LINE ") or set(line.strip()) <= {"^", " "}:
            break
        lines.append(line)
    text = " ".join(" ".join(lines).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def file_failure(path: str, exc: BaseException) -> ScopeFailure:
    """A ScopeFailure naming the file: unreadable -> upstream, invalid content -> invalid_query."""
    if isinstance(exc, (duckdb.IOException, duckdb.PermissionException, OSError)):
        return ScopeFailure("upstream", f"cannot read FOCUS file {path}: {clean_error(exc)}")
    return ScopeFailure("invalid_query", f"FOCUS file {path} is not valid FOCUS data: {clean_error(exc)}")


def reader_sql(kind: FileKind, files: str) -> str:
    """The table function reading `files` (a SQL expression: `?` or a literal list)."""
    if kind == "parquet":
        return f"read_parquet({files})"
    # every column as text: account ids keep leading zeros, nothing is guessed from a sample
    return f"read_csv({files}, all_varchar = true, header = true)"


def describe_file(con: duckdb.DuckDBPyConnection, f: FileStat) -> Columns:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {reader_sql(f.kind, '?')}", [[f.path]]).fetchall()
    except duckdb.Error as exc:
        raise file_failure(f.path, exc) from None
    return tuple((str(r[0]), str(r[1])) for r in rows)


def new_connection() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB instance, UTC, that never installs or auto-loads an extension."""
    con = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute("SET TimeZone = 'UTC'")
    return con


def lock_down(con: duckdb.DuckDBPyConnection, directories: Iterable[str], paths: Iterable[str]) -> None:
    """Only these folders / files from SQL after this, no network, and no way to turn it back on.

    The order is DuckDB's: the allow-lists first, then external access off, then the lock."""
    dirs = sorted({d.rstrip("/\\") + "/" for d in directories})  # trailing '/': no sibling prefix match
    con.execute(f"SET allowed_directories = [{', '.join(sql_string(d) for d in dirs)}]")
    con.execute(f"SET allowed_paths = [{', '.join(sql_string(p) for p in sorted(set(paths)))}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


@dataclass
class Source:
    """One readable cost file as the view reads it: the file itself (Parquet) or its cached twin."""

    file: FileStat
    read_path: str
    columns: Columns | None  # None: already normalized (CSV cache)
    notes: tuple[str, ...] = ()


@dataclass
class _Plan:
    sources: list[Source] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    unreadable: list[ScopeFailure] = field(default_factory=list)


def _plan(
    con: duckdb.DuckDBPyConnection,
    fileset: FileSet,
    csv_cache: CsvCache,
    described: dict[FileStat, Columns],
    check_cancelled: Callable[[], None],
) -> _Plan:
    plan = _Plan()
    for f in fileset.files:
        check_cancelled()
        if f.size == 0:
            plan.skipped.append(SkippedFile(f.path, "empty file"))
            continue
        if f.kind == "csv":
            cached = csv_cache.get(f)
            if cached.parquet is None:
                plan.skipped.append(SkippedFile(f.path, cached.skip or "not FOCUS cost rows"))
            else:
                plan.sources.append(Source(f, cached.parquet, None, cached.notes))
            continue
        columns = described.get(f)
        if columns is None:
            try:
                columns = describe_file(con, f)
            except ScopeFailure as exc:  # a half-written / corrupt file: skipped, named
                plan.unreadable.append(exc)
                plan.skipped.append(SkippedFile(f.path, f"unreadable ({_reason(exc)})"))
                continue
            described[f] = columns
        reason = classify(columns, f)
        if reason is not None:
            plan.skipped.append(SkippedFile(f.path, reason))
            continue
        plan.sources.append(Source(f, f.path, columns))
    return plan


def _reason(exc: ScopeFailure) -> str:
    return exc.message.split(": ", 1)[-1]


def view_sql(sources: Sequence[Source]) -> tuple[str, dict[str, list[str]]]:
    """`CREATE VIEW focus_cost` over the sources (one UNION ALL branch per layout and billing month),
    and the mapping notes by note -> files."""
    groups: dict[tuple[Columns | None, date | None], list[Source]] = {}
    for src in sources:
        groups.setdefault((src.columns, src.file.billing_month), []).append(src)
    file_notes: dict[str, list[str]] = {}
    branches: list[str] = []
    for (columns, month), members in groups.items():
        if columns is None:
            select = ", ".join(COLUMN_NAMES)
            for src in members:
                for note in src.notes:
                    file_notes.setdefault(note, []).append(src.file.path)
        else:
            select, notes = select_list(columns, members[0].file.path)
            for note in notes:
                file_notes.setdefault(note, []).extend(s.file.path for s in members)
        month_sql = f"DATE '{month.isoformat()}'" if month else "CAST(NULL AS DATE)"
        files = "[" + ", ".join(sql_string(s.read_path) for s in members) + "]"
        branches.append(f"SELECT {select}, {month_sql} AS partition_month FROM read_parquet({files})")
    return f"CREATE OR REPLACE VIEW {TABLE} AS " + "\nUNION ALL\n".join(branches), file_notes


def load_dataset(
    name: str,
    fileset: FileSet,
    roots: Sequence[Root],
    csv_cache: CsvCache,
    check_cancelled: Callable[[], None] | None = None,
    described: dict[FileStat, Columns] | None = None,
) -> LoadedDataset:
    """Build the dataset's view over its files on a fresh database and lock it. Raises ScopeFailure."""
    con = new_connection()
    try:
        storage.register(con, [storage.parse_url(r.path) for r in roots if storage.is_url(r.path)])
        return _load(con, name, fileset, roots, csv_cache, check_cancelled or (lambda: None), described or {})
    except BaseException:
        con.close()
        raise


def _load(
    con: duckdb.DuckDBPyConnection,
    name: str,
    fileset: FileSet,
    roots: Sequence[Root],
    csv_cache: CsvCache,
    check_cancelled: Callable[[], None],
    described: dict[FileStat, Columns],
) -> LoadedDataset:
    plan = _plan(con, fileset, csv_cache, described, check_cancelled)
    con.execute(TAG_MACRO)
    while True:
        if not plan.sources:
            if plan.unreadable:
                raise plan.unreadable[0]
            raise _no_data(name, fileset, plan.skipped)
        sql, file_notes = view_sql(plan.sources)
        con.execute(sql)
        try:
            stats = _stats(con)
            break
        except duckdb.Error:
            bad = _find_unreadable(con, plan.sources, check_cancelled)
            if not bad:
                raise
            for src, exc in bad:
                plan.sources.remove(src)
                plan.unreadable.append(exc)
                plan.skipped.append(SkippedFile(src.file.path, f"unreadable ({_reason(exc)})"))
    if stats.rows == 0:
        raise _no_data(name, fileset, plan.skipped)

    def names(path: str) -> list[str]:
        return storage.aliases(path) if storage.is_url(path) else [path]

    lock_down(
        con,
        [n for r in roots if r.is_dir for n in names(r.path)],
        [n for r in roots if not r.is_dir for n in names(r.path)]
        + [s.read_path for s in plan.sources if s.columns is None],
    )
    notes = _notes(name, fileset, plan.skipped, file_notes, stats)
    return LoadedDataset(
        name=name,
        connection=con,
        signature=fileset.signature,
        files=len(plan.sources),
        rows=stats.rows,
        first_day=stats.first_day,
        last_day=stats.last_day,
        providers=stats.providers,
        currencies=stats.currencies,
        skipped=tuple(plan.skipped),
        ignored=fileset.ignored,
        notes=notes,
    )


def _find_unreadable(
    con: duckdb.DuckDBPyConnection, sources: Sequence[Source], check_cancelled: Callable[[], None]
) -> list[tuple[Source, ScopeFailure]]:
    """The sources whose data cannot be read (the view failed): each read alone. Invalid values
    (not a number / timestamp) are not skipped: they fail the dataset, naming the file."""
    bad: list[tuple[Source, ScopeFailure]] = []
    for src in sources:
        check_cancelled()
        select = ", ".join(COLUMN_NAMES) if src.columns is None else select_list(src.columns, "")[0]
        try:
            con.execute(
                f"SELECT count(*), max(charge_day), max(currency), sum(billed_cost) FROM "
                f"(SELECT {select} FROM read_parquet(?))",
                [[src.read_path]],
            ).fetchall()
        except duckdb.ConversionException as exc:
            raise file_failure(src.file.path, exc) from None
        except duckdb.Error as exc:
            bad.append((src, file_failure(src.file.path, exc)))
    return bad


def _no_data(name: str, fileset: FileSet, skipped: Sequence[SkippedFile]) -> ScopeFailure:
    why = "; ".join(sorted({s.reason for s in skipped})[:3])
    return ScopeFailure(
        "no_data",
        f"FOCUS dataset {name!r}: no FOCUS cost rows in its {len(fileset.files)} file(s)"
        + (f" ({why})" if why else "")
        + "; point FINOPS_FOCUS_PATHS at the FOCUS cost export (files with BilledCost and "
        "ChargePeriodStart columns)",
    )


@dataclass(frozen=True)
class Stats:
    rows: int
    undated: int
    no_currency: int
    first_day: date | None
    last_day: date | None
    providers: tuple[str, ...]
    currencies: tuple[str, ...]


# what a dataset holds, in one scan of four columns (the warehouse datasets run it too)
STATS_SQL = (
    f"SELECT currency, provider_name, count(*), count(charge_day), min(charge_day), max(charge_day), "
    f"sum(abs(billed_cost)) FROM {TABLE} GROUP BY 1, 2"
)


def _stats(con: duckdb.DuckDBPyConnection) -> Stats:
    return summarize(con.execute(STATS_SQL).fetchall())


def summarize(groups: Sequence[tuple[Any, ...]]) -> Stats:
    """`STATS_SQL`'s rows -> Stats (currencies by cost, largest first)."""
    rows = sum(int(g[2]) for g in groups)
    dated = sum(int(g[3]) for g in groups)
    firsts = [g[4] for g in groups if g[4] is not None]
    lasts = [g[5] for g in groups if g[5] is not None]
    providers = sorted({str(g[1]) for g in groups if g[1] is not None})
    by_currency: dict[str, tuple[Any, int]] = {}
    for currency, _, count, _, _, _, cost in groups:
        if currency is None:
            continue
        old_cost, old_count = by_currency.get(currency, (0, 0))
        by_currency[currency] = (old_cost + (cost or 0), old_count + int(count))
    currencies = sorted(by_currency, key=lambda c: (-by_currency[c][0], -by_currency[c][1], c))
    no_currency = sum(int(g[2]) for g in groups if g[0] is None)
    return Stats(
        rows, rows - dated, no_currency, min(firsts, default=None), max(lasts, default=None),
        tuple(providers), tuple(currencies),
    )  # fmt: skip


def tags_of(value: Any) -> dict[str, str]:
    """A `tags` value (JSON object text) as a dict of text values (None / invalid JSON: empty).
    A JSON list of {"key", "value"} objects (BigQuery's key/value tag arrays) is read as that map."""
    if not value:
        return {}
    try:
        data = json.loads(value) if isinstance(value, str) else dict(value)
    except (ValueError, TypeError):
        return {}
    if isinstance(data, list):
        data = {i["key"]: i.get("value") for i in data if isinstance(i, Mapping) and "key" in i}
    if not isinstance(data, Mapping):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None}


def _names(paths: Iterable[str], limit: int = 5) -> str:
    items = list(paths)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _notes(
    name: str,
    fileset: FileSet,
    skipped: Sequence[SkippedFile],
    file_notes: dict[str, list[str]],
    stats: Stats,
) -> tuple[str, ...]:
    notes = list(fileset.notes)
    by_reason: dict[str, list[str]] = {}
    for s in skipped:
        by_reason.setdefault(s.reason, []).append(s.path)
    for reason, paths in by_reason.items():
        notes.append(f"FOCUS dataset {name!r}: skipped {len(paths)} file(s), {reason}: {_names(paths)}")
    for note, paths in file_notes.items():
        notes.append(f"FOCUS dataset {name!r}: {len(paths)} file(s) have {note}: {_names(paths)}")
    if stats.undated:
        notes.append(
            f"FOCUS dataset {name!r}: {stats.undated} row(s) without ChargePeriodStart are not counted"
        )
    if stats.no_currency:
        notes.append(
            f"FOCUS dataset {name!r}: {stats.no_currency} row(s) without BillingCurrency are reported with "
            "an empty currency"
        )
    return tuple(notes)
