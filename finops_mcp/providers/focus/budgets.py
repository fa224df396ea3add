"""Budgets for FOCUS data: the `FINOPS_FOCUS_BUDGETS` file (YAML or JSON) and their actual/forecast.

FOCUS exports carry no budgets, so they are declared in a file::

    budgets:
      - name: monthly-total
        amount: 250000
        currency: USD              # optional, see below
        period: monthly            # monthly | quarterly | annually (default monthly)
        dataset: demo              # optional, see below
        cost_type: billed          # billed | effective (default billed)
        filters:                   # optional; same shape as get_cost filters, plus providers
          services: [Amazon EC2]
          accounts: ["012345678901"]   # quote account ids: YAML reads 0123 as an octal number
          regions: [us-east-1]
          tags: {team: [data]}
          providers: [AWS]         # FOCUS ServiceProviderName / ProviderName values
        thresholds: [50, 80, 100]  # alert thresholds, percent of amount
        description: free text     # optional, ignored

A bare top-level list of budgets is accepted too. A `.json` file is read as JSON, anything else as
YAML. Unknown keys are errors (a typo must not silently widen a budget); errors name the file,
the budget and the field.

Rules:

- Dataset: a budget with `dataset` applies to that dataset only; a budget without one applies to
  every configured dataset and is reported once per dataset scope, each time measuring that
  dataset's cost (with one dataset, that is simply the dataset).
- Period: the calendar month / quarter / year containing `today` (UTC).
- Actual: cost in the budget's currency from the period start through `today`, inclusive.
- Currency: the budget's `currency` if set (only cost in that currency counts); otherwise the
  currency with the most cost in the period, else the dataset's main currency. Cost in other
  currencies is never added; a note says it was left out.
- Forecast: `finops_mcp.forecast.run_rate` (actual / elapsed days x days in the period; elapsed days run from
  the period start through the dataset's last charge day in the period, or today if earlier).
  No row in the period: no forecast.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from finops_mcp.errors import ScopeFailure
from finops_mcp.models import CostFilters
from finops_mcp.periods import calendar_span
from finops_mcp.providers.base import BudgetLine, Filters
from finops_mcp.providers.focus.executor import Runner
from finops_mcp.providers.focus.queries import project

BudgetPeriod = Literal["monthly", "quarterly", "annually"]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value


class BudgetFilters(CostFilters):
    """get_cost's filters plus `providers` (FOCUS ProviderName / ServiceProviderName values)."""

    providers: list[str] | None = None

    @field_validator("providers", mode="before")
    @classmethod
    def _providers(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> Any:
        value = _as_list(value)
        if isinstance(value, list) and any(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            raise ValueError(
                "account ids must be quoted strings so leading zeros survive, e.g. accounts: ['012345678901']"
            )
        return value


class BudgetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(gt=0, description="The budget limit, in `currency`.")
    currency: str | None = Field(None, min_length=1, max_length=10)
    period: BudgetPeriod = "monthly"
    dataset: str | None = Field(None, min_length=1)
    cost_type: Literal["billed", "effective"] = "billed"
    filters: BudgetFilters = Field(default_factory=BudgetFilters)
    thresholds: list[float] = Field(default_factory=list)
    description: str | None = Field(None, description="Free text for people; not used.")

    @field_validator("amount", mode="before")
    @classmethod
    def _exact_amount(cls, value: Any) -> Any:
        return str(value) if isinstance(value, float) else value

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("thresholds", mode="before")
    @classmethod
    def _threshold_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("thresholds")
    @classmethod
    def _threshold_range(cls, value: list[float]) -> list[float]:
        for t in value:
            if not 0 < t <= 1000:
                raise ValueError(
                    f"threshold {t} is not a percent of the amount in (0, 1000], e.g. [50, 80, 100]"
                )
        return sorted(value)

    def applies_to(self, dataset: str) -> bool:
        return self.dataset is None or self.dataset == dataset


class BudgetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    budgets: list[BudgetSpec] = Field(default_factory=list)


def _budget_label(data: Any, index: int) -> str:
    try:
        name = data["budgets"][index].get("name")
    except (KeyError, IndexError, TypeError, AttributeError):
        name = None
    return f"budgets[{index}]" + (f" ({name!r})" if isinstance(name, str) else "")


def _format_error(path: str, data: Any, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] == "budgets" and isinstance(loc[1], int):
            where = _budget_label(data, loc[1])
            rest = ".".join(str(p) for p in loc[2:])
            where = f"{where}.{rest}" if rest else where
        else:
            where = ".".join(str(p) for p in loc) or "(top level)"
        problems.append(f"{where}: {err['msg']}")
    return f"FINOPS_FOCUS_BUDGETS file {path}: " + "; ".join(problems)


def parse_budgets(text: str, path: str) -> list[BudgetSpec]:
    """Parse a budgets file's text; raise ScopeFailure('not_configured') naming the file and field."""
    try:
        if path.lower().endswith(".json"):
            data: Any = json.loads(text) if text.strip() else None
        else:
            import yaml  # only when a YAML budgets file is used

            data = yaml.safe_load(text)
    except Exception as exc:
        raise ScopeFailure(
            "not_configured",
            f"FINOPS_FOCUS_BUDGETS file {path} is not valid YAML/JSON: {' '.join(str(exc).split())}",
        ) from None
    if data is None:
        return []
    if isinstance(data, list):
        data = {"budgets": data}
    if not isinstance(data, dict):
        raise ScopeFailure(
            "not_configured",
            f"FINOPS_FOCUS_BUDGETS file {path}: expected a 'budgets:' list (or a bare list), "
            f"got {type(data).__name__}",
        )
    try:
        budgets = BudgetsFile.model_validate(data).budgets
    except ValidationError as exc:
        raise ScopeFailure("not_configured", _format_error(path, data, exc)) from None
    seen: set[tuple[str, str | None]] = set()
    for b in budgets:
        if (b.name, b.dataset) in seen:
            raise ScopeFailure(
                "not_configured",
                f"FINOPS_FOCUS_BUDGETS file {path}: budget name {b.name!r} appears twice"
                + (f" for dataset {b.dataset!r}" if b.dataset else ""),
            )
        seen.add((b.name, b.dataset))
    return budgets


class BudgetFile:
    """The configured budgets file, parsed again only when it changes (thread-safe)."""

    def __init__(self, path: str | None) -> None:
        self.path = os.path.expanduser(path) if path else None
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._budgets: list[BudgetSpec] = []

    def budgets(self) -> list[BudgetSpec]:
        if self.path is None:
            return []
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise ScopeFailure(
                "not_configured",
                f"FINOPS_FOCUS_BUDGETS file {self.path} cannot be read: {exc.strerror or exc}",
            ) from None
        key = (st.st_size, st.st_mtime_ns)
        with self._lock:
            if key != self._key:
                try:
                    with open(self.path, encoding="utf-8") as fh:
                        text = fh.read()
                except (OSError, UnicodeDecodeError) as exc:
                    raise ScopeFailure(
                        "not_configured", f"FINOPS_FOCUS_BUDGETS file {self.path} cannot be read: {exc}"
                    ) from None
                self._budgets = parse_budgets(text, self.path)
                self._key = key
            return list(self._budgets)


def budget_lines(
    cur: Runner,
    dataset: str,
    budgets: Sequence[BudgetSpec],
    today: date,
    default_currency: str | None,
) -> tuple[list[BudgetLine], list[str]]:
    """Actual and forecast of each budget that applies to `dataset`, plus notes for the caller."""
    lines: list[BudgetLine] = []
    notes: list[str] = []
    for b in budgets:
        if not b.applies_to(dataset):
            continue
        span = calendar_span(b.period, today)
        p = project(
            cur,
            span,
            today,
            b.cost_type,
            Filters.from_model(b.filters),
            tuple(b.filters.providers or ()),
            currency=b.currency,
            default_currency=default_currency,
        )
        label = f"FOCUS budget {b.name!r} (dataset {dataset!r})"
        if p.other_currencies:
            notes.append(
                f"{label} counts {p.currency} cost only; cost in {', '.join(p.other_currencies)} is left out"
            )
        if p.forecast is None:
            notes.append(f"{label}: no cost rows between {span.start} and {today}, so no forecast")
        lines.append(
            BudgetLine(
                name=b.name,
                period=b.period,
                span=span,
                limit=b.amount,
                actual=p.actual,
                currency=p.currency,
                forecast=p.forecast,
                thresholds=tuple(b.thresholds),
            )
        )
    return lines, notes
