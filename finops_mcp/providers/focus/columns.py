"""The view's columns (`COLUMNS`) and how one FOCUS file's columns map onto them: the SELECT list
of text, money, day and tags expressions (`select_list`), and whether a file is cost data at all
(`classify`). The normalization rules are in `loader`'s docstring."""

from __future__ import annotations

import re

from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.datasets import FileStat

MONEY = "DECIMAL(38,10)"
# the view's columns and their types, in order
COLUMNS: tuple[tuple[str, str], ...] = (
    ("charge_day", "DATE"),
    ("provider_name", "VARCHAR"),
    ("service", "VARCHAR"),
    ("account", "VARCHAR"),
    ("account_name", "VARCHAR"),
    ("region", "VARCHAR"),
    ("resource_id", "VARCHAR"),
    ("resource_name", "VARCHAR"),
    ("resource_type", "VARCHAR"),
    ("charge_category", "VARCHAR"),
    ("charge_frequency", "VARCHAR"),
    ("billed_cost", MONEY),
    ("effective_cost", MONEY),
    ("currency", "VARCHAR"),
    ("commitment_id", "VARCHAR"),
    ("commitment_name", "VARCHAR"),
    ("commitment_status", "VARCHAR"),
    ("tags", "VARCHAR"),
    ("quantity", MONEY),
    ("unit", "VARCHAR"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)
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
_US_PER_DAY = 86_400_000_000


Columns = tuple[tuple[str, str], ...]  # (name, duckdb type) in file order


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
            return _money_expr(qty, path), (_text_expr(unit) if unit is not None else "CAST(NULL AS VARCHAR)")
    return f"CAST(NULL AS {MONEY})", "CAST(NULL AS VARCHAR)"


def _utc_day(tstz: str) -> str:
    # epoch arithmetic: ~5x faster than CAST(<TIMESTAMPTZ> AS DATE) on DuckDB 2.0 (ICU per row)
    return f"CAST(DATE '1970-01-01' + CAST(floor(epoch_us({tstz}) / {_US_PER_DAY}) AS INTEGER) AS DATE)"


def _day_expr(col: tuple[str, str], path: str) -> str:
    name, typ = col
    ident = quote_ident(name)
    if typ == "DATE":
        return ident
    if typ.startswith("TIMESTAMP WITH TIME ZONE") or typ == "TIMESTAMPTZ":
        return _utc_day(ident)
    if typ.startswith("TIMESTAMP"):  # naive: taken as UTC
        return f"CAST({ident} AS DATE)"
    if typ == "VARCHAR":
        return _utc_day(f"CAST(NULLIF(trim({ident}), '') AS TIMESTAMPTZ)")
    raise ScopeFailure(
        "invalid_query", f"FOCUS file {path}: column {name} has type {typ}, expected a timestamp"
    )


def _tags_expr(col: tuple[str, str] | None, validate: bool) -> str:
    """Tags as JSON object text. `validate` (the one-time CSV conversion) fails on invalid JSON."""
    if col is None:
        return "CAST(NULL AS VARCHAR)"
    name, typ = col
    ident = quote_ident(name)
    if typ.startswith("MAP(") or typ.startswith("STRUCT("):
        return f"CAST(to_json({ident}) AS VARCHAR)"
    text = ident if typ == "VARCHAR" else f"CAST({ident} AS VARCHAR)"
    braced = f"CASE WHEN starts_with(ltrim({text}), '{{') THEN {text} ELSE '{{' || {text} || '}}' END"
    if validate:
        braced = f"CAST(CAST({braced} AS JSON) AS VARCHAR)"
    return f"CASE WHEN trim({text}) = '' OR trim({text}) = 'null' THEN NULL ELSE {braced} END"


def select_list(columns: Columns, path: str, *, validate_tags: bool = False) -> tuple[str, list[str]]:
    """The SELECT list mapping a file's columns onto `COLUMNS`, and notes about the mapping."""
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
            exprs[target] = "CAST(NULL AS VARCHAR)"
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
    exprs["tags"] = _tags_expr(cols.get("Tags"), validate_tags)
    exprs["quantity"], exprs["unit"] = _quantity_exprs(cols, path)
    for id_col in ID_COLUMNS:
        found = cols.get(id_col)
        if found is not None and _INTEGER_TYPES.match(found[1]):
            notes.append(
                f"{found[0]} is stored as a number ({found[1]}): leading zeros of account ids are lost"
            )
    return ", ".join(f"{exprs[c]} AS {c}" for c in COLUMN_NAMES), notes


def classify(columns: Columns, f: FileStat) -> str | None:
    """None for a cost file, else why the file is skipped. Raises for cost rows without a currency."""
    cols = _Cols(columns)
    missing = [c for c in REQUIRED if not cols.has(c)]
    if not missing:
        if not cols.has("BillingCurrency"):
            raise ScopeFailure(
                "invalid_query",
                f"FOCUS file {f.path} has cost columns but no BillingCurrency column; amounts without a "
                "currency cannot be reported",
            )
        return None
    what = "not FOCUS cost rows"
    if cols.has("ContractCommitmentId") or any(
        n.lower().startswith("contractcommitment") for n, _ in columns
    ):
        what = "a FOCUS contract-commitments file, not cost rows"
    return f"{what} (no {' / '.join(missing)} column)"
