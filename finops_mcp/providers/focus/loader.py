"""Load one FOCUS dataset's files into one normalized in-memory DuckDB table, then lock DuckDB down.

Every dataset gets its own in-memory DuckDB database holding one table, `focus_cost`
(see `TABLE_DDL`), so a changed dataset is reloaded alone and queries need no dataset filter.

Normalization (FOCUS 1.0 - 1.3):

- `charge_day` is the UTC calendar day of ChargePeriodStart, computed once at load: a DATE column
  makes day/month grouping cheap (DuckDB 2.0 is slow at truncating TIMESTAMPTZ on large scans).
  TIMESTAMPTZ values are converted to UTC; naive TIMESTAMPs and ISO text without an offset are
  taken as UTC; ISO text with `Z` or an offset is honoured.
- `provider_name` is ServiceProviderName (1.3) or ProviderName; `account` is SubAccountId, else
  BillingAccountId; `region` is RegionId, else RegionName. Empty strings become NULL.
- `billed_cost` / `effective_cost` are DECIMAL(38,10): sums are exact. A file without EffectiveCost
  uses BilledCost for it (noted).
- `tags` is MAP(VARCHAR, VARCHAR) from a JSON text column (CSV, or text in Parquet; Azure's
  brace-less `"k": "v", ...` form is accepted), a Parquet MAP, or a Parquet STRUCT.
- `quantity` / `unit` are PricingQuantity / PricingUnit, else ConsumedQuantity / ConsumedUnit (a
  pair is taken together, never one's quantity with the other's unit); NULL when the file has neither.
- CSV is read with every column as text so account ids keep their leading zeros.

A file is cost data when it has BilledCost and ChargePeriodStart columns; other files (e.g. the
FOCUS 1.3 contract-commitments dataset exported to the same folder) are skipped and reported, never
counted. Files with the same format and columns are read together (DuckDB reads them in parallel);
if such a group fails, its files are retried one by one so the error names the bad file.

After loading, `SET enable_external_access = false` and `SET lock_configuration = true`: no later
query on that database can read or write files, fetch URLs, load extensions or undo the lock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.datasets import FileKind, FileSet, FileStat

TABLE = "focus_cost"
MONEY = "DECIMAL(38,10)"
TABLE_DDL = f"""
CREATE TABLE {TABLE} (
    charge_day DATE,
    provider_name VARCHAR,
    service VARCHAR,
    account VARCHAR,
    account_name VARCHAR,
    region VARCHAR,
    resource_id VARCHAR,
    resource_name VARCHAR,
    resource_type VARCHAR,
    charge_category VARCHAR,
    charge_frequency VARCHAR,
    billed_cost {MONEY},
    effective_cost {MONEY},
    currency VARCHAR,
    commitment_id VARCHAR,
    commitment_name VARCHAR,
    commitment_status VARCHAR,
    tags MAP(VARCHAR, VARCHAR),
    quantity {MONEY},
    unit VARCHAR
)
"""

# normalized column -> FOCUS columns to take it from, first present wins (COALESCE over those present)
TEXT_SOURCES: dict[str, tuple[str, ...]] = {
    "provider_name": ("ServiceProviderName", "ProviderName"),
    "service": ("ServiceName",),
    "account": ("SubAccountId", "BillingAccountId"),
    "account_name": ("SubAccountName", "BillingAccountName"),
    "region": ("RegionId", "RegionName"),
    "resource_id": ("ResourceId",),
    "resource_name": ("ResourceName",),
    "resource_type": ("ResourceType",),
    "charge_category": ("ChargeCategory",),
    "charge_frequency": ("ChargeFrequency",),
    "currency": ("BillingCurrency",),
    "commitment_id": ("CommitmentDiscountId",),
    "commitment_name": ("CommitmentDiscountName",),
    "commitment_status": ("CommitmentDiscountStatus",),
}
ID_COLUMNS = ("SubAccountId", "BillingAccountId")
REQUIRED = ("BilledCost", "ChargePeriodStart")
_INTEGER_TYPES = re.compile(r"^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$")
_NUMERIC_TYPES = re.compile(
    r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\)|VARCHAR)$"
)
_MAX_MESSAGE = 300


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass
class LoadedDataset:
    """A dataset loaded and locked. Query it through `cursor()` (one per call / thread)."""

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


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def file_failure(path: str, exc: BaseException) -> ScopeFailure:
    """A ScopeFailure naming the file: unreadable -> upstream, invalid content -> invalid_query."""
    if isinstance(exc, (duckdb.IOException, duckdb.PermissionException, OSError)):
        return ScopeFailure("upstream", f"cannot read FOCUS file {path}: {_short(exc)}")
    return ScopeFailure("invalid_query", f"FOCUS file {path} is not valid FOCUS data: {_short(exc)}")


def _reader(kind: FileKind) -> str:
    if kind == "parquet":
        return "read_parquet(?)"
    # every column as text: account ids keep leading zeros, nothing is guessed from a sample
    return "read_csv(?, all_varchar = true, header = true)"


Columns = tuple[tuple[str, str], ...]  # (name, duckdb type) in file order


def describe_file(con: duckdb.DuckDBPyConnection, f: FileStat) -> Columns:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {_reader(f.kind)}", [[f.path]]).fetchall()
    except duckdb.Error as exc:
        raise file_failure(f.path, exc) from None
    return tuple((str(r[0]), str(r[1])) for r in rows)


class _Cols:
    """Case-insensitive access to a file's columns and their types."""

    def __init__(self, columns: Columns) -> None:
        self._by_lower = {name.lower(): (name, typ) for name, typ in columns}

    def get(self, name: str) -> tuple[str, str] | None:
        return self._by_lower.get(name.lower())

    def has(self, name: str) -> bool:
        return name.lower() in self._by_lower


def _text_expr(col: tuple[str, str]) -> str:
    name, typ = col
    ident = quote_ident(name)
    if typ == "VARCHAR":
        return f"NULLIF({ident}, '')"
    return f"NULLIF(CAST({ident} AS VARCHAR), '')"


def _money_expr(col: tuple[str, str], path: str) -> str:
    name, typ = col
    if not _NUMERIC_TYPES.match(typ):
        raise ScopeFailure(
            "invalid_query", f"FOCUS file {path}: column {name} has type {typ}, expected a number"
        )
    ident = quote_ident(name)
    if typ == "VARCHAR":
        return f"CAST(NULLIF(trim({ident}), '') AS {MONEY})"
    return f"CAST({ident} AS {MONEY})"


QUANTITY_SOURCES = (("PricingQuantity", "PricingUnit"), ("ConsumedQuantity", "ConsumedUnit"))


def _quantity_exprs(cols: _Cols, path: str) -> tuple[str, str]:
    """(quantity, unit) expressions: the first quantity column present, with its own unit."""
    for qty_col, unit_col in QUANTITY_SOURCES:
        qty = cols.get(qty_col)
        if qty is not None:
            unit = cols.get(unit_col)
            return _money_expr(qty, path), (_text_expr(unit) if unit is not None else "NULL")
    return "NULL", "NULL"


def _day_expr(col: tuple[str, str], path: str) -> str:
    name, typ = col
    ident = quote_ident(name)
    if typ == "DATE":
        return ident
    if typ.startswith("TIMESTAMP"):
        # TIMESTAMPTZ -> DATE uses the session time zone, which is UTC; naive timestamps are UTC
        return f"CAST({ident} AS DATE)"
    if typ == "VARCHAR":
        return f"CAST(CAST(NULLIF(trim({ident}), '') AS TIMESTAMPTZ) AS DATE)"
    raise ScopeFailure(
        "invalid_query", f"FOCUS file {path}: column {name} has type {typ}, expected a timestamp"
    )


def _tags_expr(col: tuple[str, str] | None) -> str:
    if col is None:
        return "NULL"
    name, typ = col
    ident = quote_ident(name)
    target = "MAP(VARCHAR, VARCHAR)"
    if typ.startswith("MAP("):
        return f"CAST({ident} AS {target})"
    if typ.startswith("STRUCT("):
        return f"CAST(to_json({ident}) AS {target})"
    text = ident if typ in ("VARCHAR", "JSON") else f"CAST({ident} AS VARCHAR)"
    return (
        f"CASE WHEN trim({text}) = '' OR trim({text}) = 'null' THEN NULL "
        f"WHEN starts_with(ltrim({text}), '{{') THEN CAST(CAST({text} AS JSON) AS {target}) "
        f"ELSE CAST(CAST('{{' || {text} || '}}' AS JSON) AS {target}) END"
    )


def select_list(columns: Columns, path: str) -> tuple[str, list[str]]:
    """The SELECT list mapping a file's columns onto `focus_cost`, and notes about the mapping."""
    cols = _Cols(columns)
    notes: list[str] = []
    exprs: dict[str, str] = {}
    billed = cols.get("BilledCost")
    start = cols.get("ChargePeriodStart")
    assert billed is not None and start is not None
    exprs["charge_day"] = _day_expr(start, path)
    for target, sources in TEXT_SOURCES.items():
        present = [c for c in (cols.get(s) for s in sources) if c is not None]
        if not present:
            exprs[target] = "NULL"
        elif len(present) == 1:
            exprs[target] = _text_expr(present[0])
        else:
            exprs[target] = "COALESCE(" + ", ".join(_text_expr(c) for c in present) + ")"
    exprs["billed_cost"] = _money_expr(billed, path)
    effective = cols.get("EffectiveCost")
    if effective is None:
        exprs["effective_cost"] = exprs["billed_cost"]
        notes.append("no EffectiveCost column: effective cost uses BilledCost")
    else:
        exprs["effective_cost"] = _money_expr(effective, path)
    exprs["tags"] = _tags_expr(cols.get("Tags"))
    exprs["quantity"], exprs["unit"] = _quantity_exprs(cols, path)
    for id_col in ID_COLUMNS:
        found = cols.get(id_col)
        if found is not None and _INTEGER_TYPES.match(found[1]):
            notes.append(
                f"{found[0]} is stored as a number ({found[1]}): leading zeros of account ids are lost"
            )
    order = [
        "charge_day", "provider_name", "service", "account", "account_name", "region", "resource_id",
        "resource_name", "resource_type", "charge_category", "charge_frequency", "billed_cost",
        "effective_cost", "currency", "commitment_id", "commitment_name", "commitment_status", "tags",
        "quantity", "unit",
    ]  # fmt: skip
    return ", ".join(f"{exprs[c]} AS {c}" for c in order), notes


def _classify(columns: Columns) -> str | None:
    """None for a cost file, else why the file is skipped."""
    cols = _Cols(columns)
    missing = [c for c in REQUIRED if not cols.has(c)]
    if not missing:
        return None
    what = "not FOCUS cost rows"
    if cols.has("ContractCommitmentId") or any(
        n.lower().startswith("contractcommitment") for n, _ in columns
    ):
        what = "a FOCUS contract-commitments file, not cost rows"
    return f"{what} (no {' / '.join(missing)} column)"


def _insert(con: duckdb.DuckDBPyConnection, kind: FileKind, files: Sequence[str], select: str) -> None:
    con.execute(f"INSERT INTO {TABLE} SELECT {select} FROM {_reader(kind)}", [list(files)])


def lock_down(con: duckdb.DuckDBPyConnection) -> None:
    """No file system or network access from SQL after this, and no way to turn it back on."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def new_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    return con


def load_dataset(
    name: str, fileset: FileSet, check_cancelled: Callable[[], None] | None = None
) -> LoadedDataset:
    """Read the dataset's files into a fresh, locked database. Raises ScopeFailure naming a bad file."""
    con = new_connection()
    try:
        return _load(con, name, fileset, check_cancelled or (lambda: None))
    except BaseException:
        con.close()
        raise


def _load(
    con: duckdb.DuckDBPyConnection, name: str, fileset: FileSet, check_cancelled: Callable[[], None]
) -> LoadedDataset:
    con.execute(TABLE_DDL)
    skipped: list[SkippedFile] = []
    groups: dict[tuple[FileKind, Columns], list[str]] = {}
    file_notes: dict[str, list[str]] = {}
    for f in fileset.files:
        check_cancelled()
        if f.size == 0:
            skipped.append(SkippedFile(f.path, "empty file"))
            continue
        columns = describe_file(con, f)
        reason = _classify(columns)
        if reason is not None:
            skipped.append(SkippedFile(f.path, reason))
            continue
        if not _Cols(columns).has("BillingCurrency"):
            raise ScopeFailure(
                "invalid_query",
                f"FOCUS file {f.path} has cost columns but no BillingCurrency column; amounts without a "
                "currency cannot be reported",
            )
        groups.setdefault((f.kind, columns), []).append(f.path)
    loaded_files = 0
    for (kind, columns), paths in groups.items():
        check_cancelled()
        select, mapping_notes = select_list(columns, paths[0])
        for note in mapping_notes:
            file_notes.setdefault(note, []).extend(paths)
        try:
            _insert(con, kind, paths, select)
        except duckdb.Error as exc:
            if len(paths) == 1:
                raise file_failure(paths[0], exc) from None
            for path in paths:  # the failed statement inserted nothing: find the bad file
                check_cancelled()
                try:
                    _insert(con, kind, [path], select)
                except duckdb.Error as one_exc:
                    raise file_failure(path, one_exc) from None
        loaded_files += len(paths)
    stats = _stats(con)
    lock_down(con)
    notes = _notes(name, fileset, skipped, file_notes, stats)
    return LoadedDataset(
        name=name,
        connection=con,
        signature=fileset.signature,
        files=loaded_files,
        rows=stats.rows,
        first_day=stats.first_day,
        last_day=stats.last_day,
        providers=stats.providers,
        currencies=stats.currencies,
        skipped=tuple(skipped),
        ignored=fileset.ignored,
        notes=notes,
    )


@dataclass(frozen=True)
class _Stats:
    rows: int
    undated: int
    no_currency: int
    first_day: date | None
    last_day: date | None
    providers: tuple[str, ...]
    currencies: tuple[str, ...]


def _stats(con: duckdb.DuckDBPyConnection) -> _Stats:
    row = con.execute(
        f"SELECT count(*), count(*) - count(charge_day), count(*) - count(currency), min(charge_day), "
        f"max(charge_day) FROM {TABLE}"
    ).fetchone()
    assert row is not None
    providers = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT provider_name FROM {TABLE} WHERE provider_name IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    currencies = [
        r[0]
        for r in con.execute(
            f"SELECT currency FROM {TABLE} WHERE currency IS NOT NULL GROUP BY currency "
            "ORDER BY sum(abs(billed_cost)) DESC NULLS LAST, count(*) DESC, currency"
        ).fetchall()
    ]
    return _Stats(int(row[0]), int(row[1]), int(row[2]), row[3], row[4], tuple(providers), tuple(currencies))


def _names(paths: Iterable[str], limit: int = 5) -> str:
    items = list(paths)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _notes(
    name: str,
    fileset: FileSet,
    skipped: Sequence[SkippedFile],
    file_notes: dict[str, list[str]],
    stats: _Stats,
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
    if stats.rows == 0:
        notes.append(f"FOCUS dataset {name!r}: the files hold no cost rows")
    return tuple(notes)
