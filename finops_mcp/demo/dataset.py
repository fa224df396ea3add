"""What a generated demo dataset is: its files, budgets and spikes (`DemoDataset`), the
generator's constants, and the manifest that records it (written last, read by `load_dataset`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from finops_mcp.demo import catalog as cat
from finops_mcp.periods import Span, add_months, month_start

GENERATOR_VERSION = "1"
DEFAULT_MONTHS = 7
DEFAULT_SEED = 7
REQUIRED_TAGS: tuple[str, ...] = cat.REQUIRED_TAGS
MANIFEST = "manifest.json"
BUDGETS_FILE = "budgets.yaml"
EXPORTS_DIR = "exports"
# Rows per unit of `scale` at months=7: ~735 rows a day x 183-215 days (148,052 for end 2026-11-20).
# `rows_for_scale` gives the count for given arguments.
ROWS_PER_SCALE_UNIT = 148_000


# ============================================================================================ results
@dataclass(frozen=True)
class DemoSpike:
    """An injected cost spike: SEASONAL usage of `service` in `account` multiplied by `factor`."""

    provider: str
    account: str
    account_name: str
    service: str
    first_day: date
    last_day: date
    factor: float
    ongoing: bool  # still on at `end`


@dataclass(frozen=True)
class DemoBudget:
    """A generated budget and the status it has as of `end` (run-rate forecast, `models.budget_state`)."""

    name: str
    status: str  # exceeded | forecast_exceeded | warning | ok
    period: str
    period_start: date
    period_end: date
    amount: Decimal
    actual: Decimal
    forecast: Decimal
    thresholds: tuple[float, ...]
    cost_type: str
    filters: dict[str, Any]
    why: str


@dataclass
class DemoDataset:
    root: Path
    files: list[Path]  # cost data files (CSV, gzipped CSV, Parquet)
    rows: int  # cost rows over all files
    start: date
    end: date
    budgets_file: Path
    required_tags: list[str]
    paths_setting: str  # for FINOPS_FOCUS_PATHS
    other_files: list[Path] = field(default_factory=list)  # non-cost FOCUS files in the export tree
    spikes: list[DemoSpike] = field(default_factory=list)
    budgets: list[DemoBudget] = field(default_factory=list)
    seed: int = DEFAULT_SEED
    scale: float = 1.0
    months: int = DEFAULT_MONTHS
    seconds: float = 0.0  # generation time

    @property
    def exports_dir(self) -> Path:
        return self.root / EXPORTS_DIR


# ========================================================================================= periods
def _bounds(span: Span) -> tuple[date, date]:
    return span.start, span.end


def data_start(end: date, months: int = DEFAULT_MONTHS) -> date:
    """First day of the data: the 1st of the month `months - 1` before `end`'s month."""
    return add_months(month_start(end), -(months - 1))


# ========================================================================================= manifest
def _jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _write_manifest(ds: DemoDataset) -> None:
    data = {
        "generator_version": GENERATOR_VERSION,
        "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "start": ds.start.isoformat(),
        "end": ds.end.isoformat(),
        "months": ds.months,
        "seed": ds.seed,
        "scale": ds.scale,
        "rows": ds.rows,
        "seconds": ds.seconds,
        "files": [p.relative_to(ds.root).as_posix() for p in ds.files],
        "other_files": [p.relative_to(ds.root).as_posix() for p in ds.other_files],
        "budgets_file": ds.budgets_file.relative_to(ds.root).as_posix(),
        "required_tags": ds.required_tags,
        "spikes": [_jsonable(asdict(s)) for s in ds.spikes],
        "budgets": [_jsonable(asdict(b)) for b in ds.budgets],
    }
    tmp = ds.root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, ds.root / MANIFEST)


def load_dataset(root: Path) -> DemoDataset:
    """The DemoDataset of a generated folder (paths relative to where the folder is now)."""
    root = Path(root)
    data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    spikes = [
        DemoSpike(
            s["provider"],
            s["account"],
            s["account_name"],
            s["service"],
            date.fromisoformat(s["first_day"]),
            date.fromisoformat(s["last_day"]),
            float(s["factor"]),
            bool(s["ongoing"]),
        )
        for s in data["spikes"]
    ]
    budgets = [
        DemoBudget(
            name=b["name"],
            status=b["status"],
            period=b["period"],
            period_start=date.fromisoformat(b["period_start"]),
            period_end=date.fromisoformat(b["period_end"]),
            amount=Decimal(b["amount"]),
            actual=Decimal(b["actual"]),
            forecast=Decimal(b["forecast"]),
            thresholds=tuple(b["thresholds"]),
            cost_type=b["cost_type"],
            filters=b["filters"],
            why=b["why"],
        )
        for b in data["budgets"]
    ]
    return DemoDataset(
        root=root,
        files=[root / p for p in data["files"]],
        rows=int(data["rows"]),
        start=date.fromisoformat(data["start"]),
        end=date.fromisoformat(data["end"]),
        budgets_file=root / data["budgets_file"],
        required_tags=list(data["required_tags"]),
        paths_setting=paths_setting_for(root),
        other_files=[root / p for p in data["other_files"]],
        spikes=spikes,
        budgets=budgets,
        seed=int(data["seed"]),
        scale=float(data["scale"]),
        months=int(data["months"]),
        seconds=float(data.get("seconds", 0.0)),
    )


def paths_setting_for(root: Path) -> str:
    return f"demo={Path(root) / EXPORTS_DIR}/**/*"
