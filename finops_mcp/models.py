"""Request and report models: the tool contract (see docs/tools.md).

Requests reject unknown fields and explain every field, because a model reads these schemas.
Money is `Decimal` inside and a JSON number rounded to cents outside; every amount sits next to
its currency. Reports carry `schema_version` so clients can detect contract changes.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from finops_mcp.providers import SCOPE_KINDS, ProviderId

SCHEMA_VERSION = "1.0"

PeriodName = Literal[
    "month_to_date", "last_month", "last_7_days", "last_30_days", "last_90_days", "year_to_date"
]
Granularity = Literal["total", "daily", "monthly"]
CostType = Literal["billed", "effective"]
BaseDimension = Literal["service", "account", "region", "resource", "charge_category"]
BASE_DIMENSIONS: tuple[str, ...] = ("service", "account", "region", "resource", "charge_category")
ErrorCode = Literal[
    "auth",
    "forbidden",
    "throttled",
    "timeout",
    "not_found",
    "not_configured",
    "upstream",
    "invalid_query",
    "cancelled",
    "no_data",
]
# Codes that mean "fix the configuration" (CLI exit 2 when every scope failed with one of them).
CONFIG_ERROR_CODES: frozenset[str] = frozenset({"not_configured", "no_data"})
CostBasis = Literal["billed_last_30_days", "list_price", "recommender", "unknown"]
Severity = Literal["low", "medium", "high"]
CheckCategory = Literal["waste", "governance", "anomaly", "commitment"]
BudgetState = Literal["exceeded", "forecast_exceeded", "warning", "ok"]

# A tag key as the clouds allow it (AWS: letters, digits, spaces and _ . : / = + - @; Azure/GCP subsets).
TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$", re.UNICODE)
TAG_DIMENSION = "tag:"  # a dimension `tag:<key>` groups by the value of tag <key>


def tag_key(dim: str) -> str | None:
    """The tag key of a `tag:<key>` dimension (possibly empty), None for any other dimension."""
    return dim[len(TAG_DIMENSION) :] if dim.startswith(TAG_DIMENSION) else None


SCOPE_RE = re.compile(rf"^({'|'.join(SCOPE_KINDS)}):[\w.\-:/@ ]{{1,200}}$")
CHECK_SELECTOR_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+){0,3}$")
CENT = Decimal("0.01")
AUDIT_PAGE_SIZE = 25
AUDIT_MAX_PAGE_SIZE = 500

# Input bounds: advertised in the tools' input schemas (maxItems / maxLength / maxProperties) so a
# model sees them, and checked before any work starts, so an oversized call is refused at once
# with the field named. Every list, string and map of a request is one of these types.
MAX_LIST_ITEMS = 200
MAX_TEXT_LENGTH = 256
MAX_TAG_FILTERS = 20
MAX_AMOUNT = 10**12
# A non-negative amount: a JSON number (a numeric string is accepted too, and bounded the same way).
Amount = Annotated[
    Decimal,
    Field(ge=0, le=MAX_AMOUNT),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": MAX_AMOUNT}),
]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]


def _json_list(value: Any) -> Any:
    """Accept a JSON-encoded list passed as a string (some clients do that) or a single value."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return [value]
    return value


def _each(pattern: re.Pattern[str], problem: str) -> AfterValidator:
    """Every item of a list must match `pattern`; a bad one is named: `'<item>' <problem>`."""

    def check(values: list[str]) -> list[str]:
        for value in values:
            if not pattern.match(value):
                raise ValueError(f"{value!r} {problem}")
        return values

    return AfterValidator(check)


# A request's lists: a JSON-encoded list in a string, or a single value, is taken as that list.
AsList = BeforeValidator(_json_list)
TextList = Annotated[list[Text], Field(max_length=MAX_LIST_ITEMS), AsList]
ScopeList = Annotated[
    TextList, _each(SCOPE_RE, "is not a scope; use '<kind>:<id>' such as 'aws:123456789012' or 'focus:demo'")
]
CheckList = Annotated[
    TextList, _each(CHECK_SELECTOR_RE, "is not a check id or prefix; e.g. 'aws.ebs' or 'focus.cost_spike'")
]


def to_cents(value: Decimal) -> float:
    return float(value.quantize(CENT, rounding=ROUND_HALF_UP))


Money = Annotated[
    Decimal,
    PlainSerializer(to_cents, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "description": "Amount rounded to cents; see `currency`."}),
]
Percent = Annotated[
    float,
    PlainSerializer(lambda v: round(v, 2), return_type=float, when_used="json"),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    providers: Annotated[list[ProviderId], AsList] | None = Field(
        None,
        description="Limit to these providers (aws, azure, gcp, focus). Default: all configured.",
        max_length=4,
    )
    scopes: ScopeList | None = Field(
        None,
        description="Limit to these scopes, e.g. 'aws:123456789012', 'azure:<subscription-id>', "
        "'gcp-project:<id>', 'focus:<dataset>'. See the finops://providers resource.",
    )


class CostFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    services: TextList | None = Field(
        None, description="Service names as the data spells them, e.g. ['Amazon Elastic Compute Cloud']."
    )
    accounts: TextList | None = Field(None, description="Account / subscription / project ids.")
    regions: TextList | None = Field(None, description="Region ids, e.g. ['us-east-1', 'westeurope'].")
    tags: dict[Text, TextList] | None = Field(
        None,
        description="Tag key -> allowed values, e.g. {'team': ['data', 'web']}.",
        max_length=MAX_TAG_FILTERS,
    )

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            return {k: ([v] if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("tags")
    @classmethod
    def _tag_keys(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        for key in value or {}:
            if not TAG_KEY_RE.match(key):
                raise ValueError(
                    f"tag key {key!r} has characters a tag key cannot have; e.g. 'team' or 'cost-center'"
                )
        return value

    def is_empty(self) -> bool:
        return not (self.services or self.accounts or self.regions or self.tags)


class GetCostRequest(_Request):
    """Inputs of get_cost."""

    period: PeriodName | None = Field(
        None,
        description="Named period (UTC calendar days). Default month_to_date. Not with start/end_date.",
    )
    start_date: date | None = Field(
        None, description="First day, ISO date (e.g. 2026-10-01). Needs end_date."
    )
    end_date: date | None = Field(None, description="Last day, inclusive, ISO date (e.g. 2026-10-31).")
    granularity: Granularity = Field("total", description="total, daily or monthly rows.")
    group_by: Annotated[list[Text], AsList] = Field(
        default_factory=lambda: ["service"],
        description="Up to 2 of service, account, region, resource, charge_category, tag:<key>.",
        max_length=2,
    )
    filters: CostFilters | None = Field(None, description="Only count cost matching these filters.")
    cost_type: CostType = Field(
        "billed",
        description="billed = invoiced cost; effective = amortized (commitments spread, credits netted).",
    )
    compare_previous: bool = Field(True, description="Also return the preceding period of equal length.")
    include_forecast: bool = Field(False, description="Add a forecast of the current month's total.")
    top_n: int = Field(20, ge=1, le=1000, description="Rows kept; the rest are folded into one 'other' row.")
    explain_change: bool = Field(
        False,
        description="With compare_previous: add `drivers`, the changes that explain the difference "
        "between the two periods (one level deeper than group_by where the data allows), ranked.",
    )

    @field_validator("group_by")
    @classmethod
    def _group_dims(cls, value: list[str]) -> list[str]:
        if len(value) > 2:
            raise ValueError("at most 2 dimensions, e.g. ['service', 'region']")
        if len(set(value)) != len(value):
            raise ValueError("dimensions must differ, e.g. ['service', 'account']")
        for dim in value:
            if dim in BASE_DIMENSIONS:
                continue
            if (key := tag_key(dim)) is not None and TAG_KEY_RE.match(key):
                continue
            raise ValueError(
                f"{dim!r} is not a dimension; use one of {', '.join(BASE_DIMENSIONS)} or 'tag:<key>' "
                "(letters, digits, spaces and _ . : / = + - @ only), e.g. ['service', 'tag:team']"
            )
        return value

    @model_validator(mode="after")
    def _dates(self) -> GetCostRequest:
        if (self.start_date is None) != (self.end_date is None):
            missing = "end_date" if self.end_date is None else "start_date"
            raise ValueError(
                f"{missing} is required with the other date, e.g. start_date=2026-10-01, end_date=2026-10-31"
            )
        if self.start_date and self.end_date:
            if self.period is not None:
                raise ValueError("give either period or start_date/end_date, not both")
            if self.end_date < self.start_date:
                raise ValueError(
                    "end_date is before start_date; end_date is inclusive, e.g. 2026-10-01..2026-10-31"
                )
            if (self.end_date - self.start_date).days > 731:
                raise ValueError("the range is longer than 2 years; query at most 731 days at a time")
        if self.explain_change and not self.compare_previous:
            raise ValueError(
                "explain_change compares with the previous period: set compare_previous=true "
                "(the default) or drop explain_change"
            )
        return self


class RunAuditRequest(_Request):
    """Inputs of run_finops_audit."""

    regions: TextList | None = Field(
        None, description="Regions to scan. Default: configured / enabled regions."
    )
    checks: CheckList | None = Field(
        None,
        description="Check ids or prefixes, e.g. ['aws.ebs', 'focus.untagged_cost']. See finops://checks.",
    )
    min_monthly_cost: Amount = Field(
        Decimal(0), description="Drop findings whose estimated monthly cost is below this amount."
    )
    limit: int = Field(
        AUDIT_PAGE_SIZE,
        ge=1,
        le=AUDIT_MAX_PAGE_SIZE,
        description="Findings per page (highest monthly cost first); `summary` always covers all of them.",
    )
    cursor: str | None = Field(
        None,
        max_length=512,
        description="`next_cursor` of the previous page, with the same other arguments.",
    )


class GetBudgetStatusRequest(_Request):
    """Inputs of get_budget_status."""

    names: TextList | None = Field(None, description="Only budgets with these names.")


# ----------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScopeError(_Out):
    provider: str
    scope: str
    code: ErrorCode
    message: str
    retryable: bool = False


class Basis(_Out):
    """What the numbers are: a reader can tell billed from amortized, and how fresh the data is."""

    metric: str = Field(description="What is summed, e.g. 'billed cost' or 'estimated monthly cost'.")
    credits: str = Field(description="Whether credits and refunds are in the amounts, per provider.")
    data_through: dict[str, date] = Field(
        default_factory=dict, description="Latest charge day in the data, per scope (where known)."
    )
    billed_requests: int = Field(0, description="Upstream requests that cost money (see billed_requests).")


class Meta(_Out):
    cached: bool = Field(False, description="True when every scope's answer came from the cache.")
    billed_requests: dict[str, int] = Field(
        default_factory=dict, description="Upstream requests that cost money, by API (e.g. aws.ce)."
    )
    bytes_scanned: dict[str, int] = Field(
        default_factory=dict, description="Bytes scanned by queries billed per byte, by API (gcp.bigquery)."
    )
    duration_ms: int = 0
    scopes_queried: int = 0
    notes: list[str] = Field(default_factory=list, description="Caveats a reader should know.")
    demo: bool | None = Field(None, description="True when the data is the generated demo dataset.")
    basis: Basis | None = Field(None, description="What the amounts are and how fresh the data is.")


class DateRange(_Out):
    start: date
    end: date = Field(description="Inclusive.")


class CostRow(_Out):
    provider: str
    scope: str
    period_start: date | None = None
    keys: dict[str, str]
    cost: Money
    previous_cost: Money | None = None
    change_pct: Percent | None = None
    currency: str


Quantity = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "description": "Usage quantity in `usage_unit`."}),
]
DriverKind = Literal["new", "gone", "up", "down"]


class CostDriver(_Out):
    """One change between the previous period and this one, at the level where it happens."""

    provider: str
    scope: str
    dimension: str = Field(description="The dimension `key` belongs to (a group_by one, or one deeper).")
    key: str
    within: dict[str, str] = Field(
        default_factory=dict, description="The keys of the row this driver sits in, e.g. {'service': ...}."
    )
    previous_cost: Money
    cost: Money
    change: Money
    change_pct: Percent | None = Field(None, description="None when the previous cost was zero (new).")
    kind: DriverKind = Field(description="new: absent before; gone: absent now; up / down otherwise.")
    currency: str
    usage_unit: str | None = Field(None, description="Unit of the quantities, when one unit is known.")
    previous_quantity: Quantity | None = None
    quantity: Quantity | None = None
    volume_effect: Money | None = Field(
        None, description="Part of `change` from the quantity used, at the previous rate."
    )
    rate_effect: Money | None = Field(
        None, description="Part of `change` from the rate (price per unit), at this period's quantity."
    )


class CostForecast(_Out):
    period: DateRange
    amount: Money
    currency: str
    method: str = Field(description="How it was computed, e.g. 'run_rate' or 'aws_cost_explorer'.")


class CurrencyTotal(_Out):
    currency: str
    total: Money
    previous_total: Money | None = None


class CostReport(_Out):
    schema_version: str = SCHEMA_VERSION
    period: DateRange
    previous_period: DateRange | None = None
    granularity: Granularity
    group_by: list[str]
    cost_type: CostType
    currency: str
    total: Money
    previous_total: Money | None = None
    change_pct: Percent | None = None
    other_currencies: list[CurrencyTotal] = Field(
        default_factory=list, description="Totals in further currencies; never added to `total`."
    )
    forecast: CostForecast | None = None
    rows: list[CostRow]
    drivers: list[CostDriver] | None = Field(
        None, description="With explain_change: the largest changes, ranked by absolute change."
    )
    drivers_explained_pct: Percent | None = Field(
        None,
        description="Share (0-100) of the gross change (sum of absolute changes of every series at "
        "the drivers' level) that the listed drivers account for.",
    )
    errors: list[ScopeError] = Field(default_factory=list)
    meta: Meta = Field(default_factory=Meta)


class Finding(_Out):
    check: str
    provider: str
    scope: str
    region: str | None = None
    resource_id: str
    resource_type: str
    resource_name: str | None = None
    detail: str
    estimated_monthly_cost: Money
    cost_basis: CostBasis
    currency: str
    severity: Severity
    category: CheckCategory = "waste"
    recommendation: str
    tags: dict[str, str] = Field(default_factory=dict)
    source: str | None = Field(
        None, description="The cloud API the finding comes from (e.g. the cloud's own recommendations)."
    )


class CheckTotal(_Out):
    count: int
    estimated_monthly_cost: Money
    category: CheckCategory = "waste"


class AuditSummary(_Out):
    findings: int
    estimated_monthly_waste: Money = Field(description="Sum over findings in the 'waste' category.")
    currency: str
    by_check: dict[str, CheckTotal]
    scopes_scanned: int
    regions_scanned: int


class AuditReport(_Out):
    schema_version: str = SCHEMA_VERSION
    findings: list[Finding] = Field(description="One page, highest estimated_monthly_cost first.")
    summary: AuditSummary = Field(description="Covers every finding, not only this page.")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null: last page.")
    report_uri: str | None = Field(None, description="Resource holding every finding (kept for a while).")
    checks_run: list[str]
    errors: list[ScopeError] = Field(default_factory=list)
    meta: Meta = Field(default_factory=Meta)


class BudgetStatus(_Out):
    provider: str
    scope: str
    name: str
    period: str
    period_start: date
    period_end: date
    limit: Money | None = Field(description="None when the budget has no fixed limit.")
    actual: Money
    forecast: Money | None = None
    currency: str
    percent_used: Percent | None = None
    forecast_percent: Percent | None = None
    status: BudgetState
    thresholds: list[float] = Field(default_factory=list, description="Alert thresholds, percent of limit.")


class BudgetSummary(_Out):
    total: int
    exceeded: int
    forecast_exceeded: int
    warning: int
    ok: int


class BudgetReport(_Out):
    schema_version: str = SCHEMA_VERSION
    budgets: list[BudgetStatus]
    summary: BudgetSummary
    errors: list[ScopeError] = Field(default_factory=list)
    meta: Meta = Field(default_factory=Meta)


def budget_state(
    limit: Decimal | None, actual: Decimal, forecast: Decimal | None, thresholds: list[float]
) -> BudgetState:
    """The contract's status rule, in one place."""
    if limit is None or limit <= 0:
        return "ok"
    if actual >= limit:
        return "exceeded"
    if forecast is not None and forecast >= limit:
        return "forecast_exceeded"
    warn_at = min(thresholds) if thresholds else 80.0
    if actual * 100 >= limit * Decimal(str(warn_at)):
        return "warning"
    return "ok"
