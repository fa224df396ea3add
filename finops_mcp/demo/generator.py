"""Deterministic demo data: a realistic multi-cloud FOCUS 1.2 dataset and a budgets file.

`generate(out_dir, end=..., months=7, seed=7, scale=1.0)` writes::

    <out_dir>/
      exports/
        aws/<YYYY-MM>/part-0.parquet            AWS, main organization (Parquet)
        aws/contract-commitments/part-0.csv     FOCUS 1.3 contract commitments: not cost rows
        aws-acme-labs/<YYYY-MM>/part-0.csv      AWS, an acquired company's own payer (plain CSV)
        azure/<YYYY-MM>/part-0.csv.gz           Azure (gzipped CSV)
        gcp/<YYYY-MM>/part-0.parquet            Google Cloud (Parquet)
      budgets.yaml                              one budget per status (see `DemoBudget`)
      manifest.json                             what was generated; written last

Files are split by billing period (the month). CSV timestamps are ISO-8601 with `Z`, account ids
are quoted text (leading zeros), Tags is JSON text; Parquet timestamps are TIMESTAMPTZ (UTC) and
Tags a MAP. Costs have at most 6 decimals. `paths_setting` (`demo=<out_dir>/exports/**/*`) matches
the data files and the non-cost file, never budgets.yaml or the manifest.

Everything is computed in DuckDB SQL from a small resource plan (`resources.build_plan`); the
noise is an integer hash of (resource line, day, seed) in SQL, so the same arguments give the same
rows; with the same DuckDB version the files are identical byte for byte (each file is written by a
single-threaded query: a stable row order without a costly sort). No pyarrow, numpy or pandas.

Size: about 735 rows per day per unit of `scale` (~148,000 rows at scale 1 and months=7, 24 s for
10M rows on 2 cores); `rows_for_scale` gives the count for given arguments.

The story a FinOps practitioner finds in it:

- ~8% of resources miss one or more of the required tags (`REQUIRED_TAGS`), some have no tags;
- an AWS Compute Savings Plan, an RDS Reserved Instance (partial upfront, bought ~45 days into the
  data) and an Azure VM reservation (monthly payment). Two Savings Plan instances were retired 12
  days before `end` and two reserved Azure VMs 25 days before: their commitments show `Unused`
  rows since then;
- spikes (`DemoDataset.spikes`): AWS Lambda in acme-data at 5x for 3 days about two weeks before
  `end`, and BigQuery analysis in acme-data-platform at 6x for the last 4 days (still ongoing);
- monthly Tax rows (AWS and Google Cloud, complete months), a Google Cloud promotional credit
  (daily) and an AWS MAP credit (monthly), and two `Correction` rows.

`ensure_demo()` generates the dataset once per day into a cache directory and reuses it.
"""

from __future__ import annotations

import os
import shutil
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from finops_mcp.demo import catalog as cat
from finops_mcp.demo.budgets import _actual, _check_budgets, _plan_budgets, _write_budgets
from finops_mcp.demo.cache import dataset_key as dataset_key  # re-exported: the demo's public face
from finops_mcp.demo.cache import default_cache_dir as default_cache_dir
from finops_mcp.demo.cache import ensure_demo as ensure_demo
from finops_mcp.demo.dataset import (
    BUDGETS_FILE,
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    EXPORTS_DIR,
    MANIFEST,
    REQUIRED_TAGS,
    DemoDataset,
    DemoSpike,
    _write_manifest,
    data_start,
    paths_setting_for,
)
from finops_mcp.demo.dataset import DemoBudget as DemoBudget
from finops_mcp.demo.dataset import load_dataset as load_dataset
from finops_mcp.demo.extras import _build_extra, _write_contract_commitments
from finops_mcp.demo.resources import build_plan
from finops_mcp.demo.rows import _load_plan, _narrow, _slice_query
from finops_mcp.periods import add_months, month_end


# ========================================================================================= generate
def _workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


_GZIP_CHUNK = 4 << 20


def _gzip(src: Path, dst: Path) -> None:
    """gzip at level 1 (DuckDB's own gzip writer is ~3x slower); zlib releases the GIL, so the
    workers compress in parallel. The gzip header carries no name or time: same bytes every run."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 31)
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(_GZIP_CHUNK):
            fout.write(comp.compress(chunk))
        fout.write(comp.flush())
    src.unlink()


def _write_slices(
    con: duckdb.DuckDBPyConnection, seed: int, exports_dir: Path, slices: list[tuple[cat.Export, str]]
) -> list[tuple[Path, int]]:
    """One file per (export, month), written by a pool of workers; each query runs on one thread
    (deterministic row order), the files are written in parallel."""

    def job(cursor: duckdb.DuckDBPyConnection, export: cat.Export, mkey: str) -> tuple[Path, int]:
        folder = exports_dir / export.folder / mkey
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-0.{export.fmt}"
        csv_out = export.fmt != "parquet"
        target = path.with_name("part-0.csv.tmp") if export.fmt == "csv.gz" else path
        if export.fmt == "parquet":
            options = "FORMAT parquet, COMPRESSION snappy"
        else:
            options = "FORMAT csv, HEADER true, FORCE_QUOTE (BillingAccountId, SubAccountId)"
        query = _slice_query(seed, export.key, mkey, csv_out)
        quoted = str(target).replace("'", "''")
        try:
            row = cursor.execute(f"COPY ({query}) TO '{quoted}' ({options})").fetchone()
        finally:
            cursor.close()
        if target != path:
            _gzip(target, path)
        return path, int(row[0]) if row else 0

    con.execute("SET threads = 1")
    # the biggest files first, so that the pool does not end on one long job
    ordered = sorted(slices, key=lambda s: (-s[0].fleet, s[0].key, s[1]))
    with ThreadPoolExecutor(max_workers=_workers()) as pool:
        futures = [pool.submit(job, con.cursor(), ex, mkey) for ex, mkey in ordered]
        results = [f.result() for f in futures]
    con.execute("RESET threads")
    return sorted(results, key=lambda r: str(r[0]))


def _validate(end: date, months: int, seed: int, scale: float) -> None:
    if not isinstance(end, date) or isinstance(end, datetime):
        raise TypeError("end must be a datetime.date")
    if not 1 <= months <= 36:
        raise ValueError("months must be between 1 and 36")
    if not 0 < scale <= 10_000:
        raise ValueError("scale must be > 0")
    if not isinstance(seed, int):
        raise TypeError("seed must be an int")


def generate(
    out_dir: Path, *, end: date, months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED, scale: float = 1.0
) -> DemoDataset:
    """Write the demo dataset into `out_dir` (see the module docstring). Deterministic for the arguments.

    `out_dir` may exist; a previous demo dataset in it is replaced. It must not hold an `exports`
    folder that the generator did not write.
    """
    _validate(end, months, seed, scale)
    began = time.perf_counter()
    root = Path(out_dir)
    exports_dir = root / EXPORTS_DIR
    if exports_dir.exists():
        if not (root / MANIFEST).exists():
            raise FileExistsError(
                f"{exports_dir} exists and is not a demo dataset; choose an empty directory"
            )
        shutil.rmtree(exports_dir)
        (root / MANIFEST).unlink()
    exports_dir.mkdir(parents=True, exist_ok=True)
    start = data_start(end, months)
    sql_seed = seed % 2_147_483_647
    plan = build_plan(start, end, seed, scale)

    con = duckdb.connect(":memory:")
    try:
        _load_plan(con, plan)
        con.execute(f"""
            CREATE TABLE daily AS
            SELECT export, provider, sub_id, service, team, i,
                   sum(CAST(billed AS DECIMAL(18,6))) AS billed,
                   sum(CAST(effective AS DECIMAL(18,6))) AS effective
            FROM ({_narrow(sql_seed)}) GROUP BY ALL
        """)
        con.execute(f"""
            CREATE TABLE commit_daily AS
            SELECT commitment, i, sum(qty) AS qty, sum(CAST(effective AS DECIMAL(18,6))) AS effective
            FROM ({_narrow(sql_seed, "l.commitment IS NOT NULL AND d.i >= l.commit_from")}) GROUP BY ALL
        """)
        facts = _build_extra(con, plan)
        present = {
            (str(e), str(m))
            for e, m in con.execute(
                "SELECT DISTINCT dl.export, d.mkey FROM daily dl JOIN days d ON d.i = dl.i "
                "UNION SELECT DISTINCT export, mkey FROM extra"
            ).fetchall()
        }
        slices = [(ex, mkey) for ex in cat.EXPORTS for mkey in sorted({m for e, m in present if e == ex.key})]
        written = _write_slices(con, sql_seed, exports_dir, slices)
        budgets = _plan_budgets(lambda sc, first: _actual(con, sc, first, end), end)
    finally:
        con.close()

    other = exports_dir / "aws" / "contract-commitments" / "part-0.csv"
    _write_contract_commitments(other, plan, facts)
    budgets_file = root / BUDGETS_FILE
    _write_budgets(budgets_file, budgets, end)
    _check_budgets(budgets, end)
    acct = cat.ACCOUNT_BY_ID
    spikes = [
        DemoSpike(
            cat.EXPORT_BY_KEY[s.export].provider,
            s.account,
            acct[s.account].name,
            s.service,
            s.first,
            s.last,
            s.factor,
            s.ongoing,
        )
        for s in plan.spikes
        if s.first >= start
    ]
    dataset = DemoDataset(
        root=root,
        files=[p for p, _ in written],
        rows=sum(n for _, n in written),
        start=start,
        end=end,
        budgets_file=budgets_file,
        required_tags=list(REQUIRED_TAGS),
        paths_setting=paths_setting_for(root),
        other_files=[other],
        spikes=spikes,
        budgets=budgets,
        seed=seed,
        scale=scale,
        months=months,
        seconds=round(time.perf_counter() - began, 3),
    )
    _write_manifest(dataset)
    return dataset


# ========================================================================================= sizing
def rows_for_scale(
    scale: float = 1.0, *, end: date | None = None, months: int = DEFAULT_MONTHS, seed: int = DEFAULT_SEED
) -> int:
    """Cost rows `generate` writes for these arguments (exact for usage rows, +-0.1% overall).

    Rows grow linearly with `scale` (about `ROWS_PER_SCALE_UNIT` per unit at months=7), so
    `scale = target / rows_for_scale(1.0)` gives about `target` rows. `end` defaults to yesterday (UTC).
    """
    end = end or (datetime.now(timezone.utc).date() - timedelta(days=1))
    _validate(end, months, seed, scale)
    start = data_start(end, months)
    plan = build_plan(start, end, seed, scale)
    complete = sum(1 for m in range(months) if month_end(add_months(start, m)) <= end)
    taxed: set[tuple[str, str, str]] = set()
    for r in plan.resources:
        if cat.EXPORT_BY_KEY[r.export].tax_rate > 0:
            taxed.add((r.export, r.account.id, r.service))
    extras = (
        plan.days  # Savings Plan fee
        + (plan.days - plan.sp_decommission_i)  # unused Savings Plan
        + 1
        + (plan.days - plan.ri_purchase_i)  # RDS RI fees
        + months  # Azure reservation payments
        + (plan.days - plan.azure_decommission_i)  # unused reservation
        + len(taxed) * complete  # taxes
        + plan.days
        + complete  # credits
        + (2 if months >= 3 else 0)  # corrections
    )
    return plan.usage_rows + extras
