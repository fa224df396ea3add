"""The demo data generator: determinism, content a FinOps reader expects, budgets, ensure_demo cache."""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from finops_mcp.demo import generator as gen
from finops_mcp.demo.generator import DemoDataset, ensure_demo, generate, rows_for_scale
from finops_mcp.models import budget_state

END = date(2026, 11, 20)
STATUSES = ["exceeded", "forecast_exceeded", "warning", "ok"]


def _files_of(ds: DemoDataset, *suffixes: str) -> list[str]:
    return [str(p) for p in ds.files if p.as_posix().endswith(suffixes)]


def _connect(ds: DemoDataset) -> duckdb.DuckDBPyConnection:
    """One view `cost` over every data file, read the way a careful reader would (CSV as text)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    parquet = _files_of(ds, ".parquet")
    csv = _files_of(ds, ".csv", ".csv.gz")
    common = """
        ProviderName AS provider, ServiceName AS service, SubAccountId AS account,
        BillingAccountId AS billing,
        ChargeCategory AS category, ChargeClass AS charge_class, ChargeFrequency AS frequency,
        ChargeDescription AS description, CommitmentDiscountId AS commitment,
        CommitmentDiscountStatus AS status,
        ResourceId AS resource_id, BillingCurrency AS currency, ChargePeriodStart::VARCHAR AS start_text,
        CAST(BilledCost AS DECIMAL(18,6)) AS billed, CAST(EffectiveCost AS DECIMAL(18,6)) AS effective,
        CAST(ListCost AS DECIMAL(18,6)) AS list, CAST(ContractedCost AS DECIMAL(18,6)) AS contracted
    """
    con.execute(
        f"""
        CREATE TABLE cost AS
        SELECT {common}, CAST(ChargePeriodStart AS DATE) AS day, CAST(to_json(Tags) AS VARCHAR) AS tags,
               'parquet' AS fmt
        FROM read_parquet(?, union_by_name = true)
        UNION ALL
        SELECT {common}, CAST(CAST(ChargePeriodStart AS TIMESTAMPTZ) AS DATE) AS day,
               NULLIF(Tags, '') AS tags,
               'csv' AS fmt
        FROM read_csv(?, all_varchar = true, header = true, union_by_name = true)
    """,
        [parquet, csv],
    )
    return con


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoDataset, DemoDataset]:
    a = generate(tmp_path_factory.mktemp("a"), end=END)
    b = generate(tmp_path_factory.mktemp("b"), end=END)
    return a, b


@pytest.fixture(scope="module")
def ds(pair: tuple[DemoDataset, DemoDataset]) -> DemoDataset:
    return pair[0]


@pytest.fixture(scope="module")
def con(ds: DemoDataset) -> Iterator[duckdb.DuckDBPyConnection]:
    c = _connect(ds)
    yield c
    c.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


# ------------------------------------------------------------------------------------- determinism
def _digest(ds: DemoDataset) -> dict[str, str]:
    out = {}
    for p in sorted(ds.root.rglob("*")):
        if p.is_file() and p.name != gen.MANIFEST:
            out[p.relative_to(ds.root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_same_arguments_same_bytes_and_rows(pair: tuple[DemoDataset, DemoDataset]) -> None:
    a, b = pair
    assert _digest(a) == _digest(b)  # same bytes, file by file (budgets.yaml included)
    assert a.rows == b.rows and a.budgets == b.budgets and a.spikes == b.spikes
    con = duckdb.connect()
    one_per_format = {
        f.name: (f, g) for f, g in zip(a.files, b.files, strict=True) if "2026-11" in f.as_posix()
    }
    assert len(one_per_format) == 3
    for fa, fb in one_per_format.values():
        reader = "read_parquet(?)" if fa.name.endswith(".parquet") else "read_csv(?, all_varchar = true)"
        rows = (
            "SELECT md5(string_agg(h, ',' ORDER BY h)) "
            f"FROM (SELECT md5(CAST(t AS VARCHAR)) AS h FROM {reader} t)"
        )
        assert _one(con, rows, [str(fa)]) == _one(con, rows, [str(fb)])


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    a = generate(tmp_path / "s1", end=END, months=2, scale=0.05, seed=1)
    b = generate(tmp_path / "s2", end=END, months=2, scale=0.05, seed=2)
    assert _digest(a) != _digest(b)


# ------------------------------------------------------------------------------------- volume, shape
def test_row_count_and_rows_for_scale(ds: DemoDataset, con: duckdb.DuckDBPyConnection) -> None:
    assert ds.rows >= 100_000
    assert _one(con, "SELECT count(*) FROM cost") == ds.rows
    assert rows_for_scale(1.0, end=END) == ds.rows
    assert rows_for_scale(2.0, end=END) == pytest.approx(2 * ds.rows, rel=0.03)


def test_covers_six_full_months_and_the_current_month(
    ds: DemoDataset, con: duckdb.DuckDBPyConnection
) -> None:
    assert ds.start == date(2026, 5, 1) and ds.end == END
    first, last, months = _one(
        con, "SELECT min(day), max(day), count(DISTINCT strftime(day, '%Y-%m')) FROM cost"
    )
    assert (first, last, months) == (ds.start, END, 7)
    # daily usage: a period of one day, starting at midnight UTC
    assert (
        _one(
            con,
            "SELECT count(*) FROM cost WHERE category = 'Usage' AND start_text NOT LIKE '% 00:00:00%' "
            "AND start_text NOT LIKE '%T00:00:00Z'",
        )
        == 0
    )


def test_three_providers_one_currency(con: duckdb.DuckDBPyConnection) -> None:
    providers = {r[0] for r in con.execute("SELECT DISTINCT provider FROM cost").fetchall()}
    assert providers == {"AWS", "Microsoft", "Google Cloud"}
    assert {r[0] for r in con.execute("SELECT DISTINCT currency FROM cost").fetchall()} == {"USD"}
    per_provider = dict(
        con.execute("SELECT provider, count(DISTINCT service) FROM cost GROUP BY ALL").fetchall()
    )
    assert all(n >= 6 for n in per_provider.values())


def test_all_formats_layout_and_the_non_cost_file(ds: DemoDataset) -> None:
    names = {p.name for p in ds.files}
    assert names == {"part-0.parquet", "part-0.csv", "part-0.csv.gz"}
    for p in ds.files:
        rel = p.relative_to(ds.root / "exports").parts
        assert len(rel) == 3 and len(rel[1]) == 7 and rel[1][4] == "-"  # <export>/<YYYY-MM>/part-0.*
        if p.name.endswith(".gz"):
            assert p.read_bytes()[:2] == b"\x1f\x8b"
            with gzip.open(p, "rt") as fh:
                assert fh.readline().startswith("BilledCost,")
    (other,) = ds.other_files
    assert other.relative_to(ds.root).as_posix() == "exports/aws/contract-commitments/part-0.csv"
    header = other.read_text().splitlines()[0].split(",")
    assert (
        "ContractCommitmentId" in header and "BilledCost" not in header and "ChargePeriodStart" not in header
    )
    # the paths setting matches the data files and the non-cost file, not the budgets or the manifest
    name, pattern = ds.paths_setting.split("=", 1)
    assert name == "demo"
    matched = {Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file()}
    assert matched == set(ds.files) | {other}
    assert ds.budgets_file == ds.root / "budgets.yaml" and ds.budgets_file.is_file()
    assert ds.required_tags == ["team", "environment", "cost-center"]


def test_leading_zero_account_ids_survive_in_csv_and_parquet(ds: DemoDataset) -> None:
    con = duckdb.connect()
    csv = _files_of(ds, "aws-acme-labs/2026-10/part-0.csv")
    rows = con.execute(
        "SELECT DISTINCT BillingAccountId, SubAccountId FROM read_csv(?, all_varchar = true)", [csv]
    ).fetchall()
    assert ("004417295530", "092235618840") in rows
    assert '"092235618840"' in Path(csv[0]).read_text()  # quoted in the file
    parquet = _files_of(ds, "aws/2026-10/part-0.parquet")
    assert _one(con, "SELECT typeof(SubAccountId) FROM read_parquet(?) LIMIT 1", [parquet]) == "VARCHAR"
    accounts = {
        r[0] for r in con.execute("SELECT DISTINCT SubAccountId FROM read_parquet(?)", [parquet]).fetchall()
    }
    assert {"012345678901", "068719532447"} <= accounts


def test_costs_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    # ListCost >= ContractedCost >= BilledCost for usage (committed usage bills 0)
    assert (
        _one(
            con,
            "SELECT count(*) FROM cost WHERE category = 'Usage' AND NOT (list >= contracted "
            "AND contracted >= billed)",
        )
        == 0
    )
    assert (
        _one(con, "SELECT count(*) FROM cost WHERE status = 'Used' AND (billed <> 0 OR effective <= 0)") == 0
    )
    frequencies = {r[0] for r in con.execute("SELECT DISTINCT frequency FROM cost").fetchall()}
    assert frequencies == {"Usage-Based", "Recurring", "One-Time"}
    assert _one(con, "SELECT count(*) FROM cost WHERE charge_class = 'Correction'") == 2
    assert (
        _one(con, "SELECT count(*) FROM cost WHERE charge_class IS NOT NULL AND charge_class <> 'Correction'")
        == 0
    )


# ------------------------------------------------------------------------------------- the story
def test_spikes_are_injected(ds: DemoDataset, con: duckdb.DuckDBPyConnection) -> None:
    assert len(ds.spikes) == 2
    past, ongoing = ds.spikes
    assert not past.ongoing and (past.last_day - past.first_day).days == 2
    assert (END - past.first_day).days in range(12, 18)
    assert ongoing.ongoing and ongoing.last_day == END and (END - ongoing.first_day).days in range(2, 6)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE svc_day AS
        SELECT account, service, day, sum(effective) AS cost FROM cost WHERE category = 'Usage' GROUP BY ALL
    """)
    for spike in ds.spikes:
        base = _one(
            con,
            "SELECT CAST(avg(cost) AS DECIMAL(18,6)) FROM svc_day "
            "WHERE account = ? AND service = ? AND day >= ? AND day < ?",
            [spike.account, spike.service, spike.first_day - timedelta(days=14), spike.first_day],
        )
        days = con.execute(
            "SELECT day, cost FROM svc_day "
            "WHERE account = ? AND service = ? AND day BETWEEN ? AND ? ORDER BY day",
            [spike.account, spike.service, spike.first_day, spike.last_day],
        ).fetchall()
        assert len(days) == (spike.last_day - spike.first_day).days + 1
        for _, cost in days:
            assert cost > 3 * base and cost - base > 25
    # the past spike returns to normal
    after = con.execute(
        "SELECT max(cost) FROM svc_day WHERE account = ? AND service = ? AND day > ?",
        [past.account, past.service, past.last_day],
    ).fetchone()
    base = _one(
        con,
        "SELECT CAST(avg(cost) AS DECIMAL(18,6)) FROM svc_day "
        "WHERE account = ? AND service = ? AND day < ? AND day >= ?",
        [past.account, past.service, past.first_day, past.first_day - timedelta(days=14)],
    )
    assert after is not None and after[0] < Decimal("1.6") * base


@pytest.mark.parametrize("keys", ["provider, service", "provider, account, service"])
def test_no_other_spikes(ds: DemoDataset, con: duckdb.DuckDBPyConnection, keys: str) -> None:
    """Only the injected spikes stand out (2x the trailing 14-day mean and $25 over it) in the last
    30 days of usage: commitments, taxes and purchases must not look like spikes."""
    flagged = con.execute(f"""
        WITH d AS (SELECT {keys}, day, sum(effective) AS cost FROM cost WHERE category = 'Usage'
                   GROUP BY ALL),
        w AS (SELECT *, avg(cost) OVER (PARTITION BY {keys} ORDER BY day
                                        ROWS BETWEEN 14 PRECEDING AND 1 PRECEDING) AS base FROM d)
        SELECT DISTINCT service FROM w
        WHERE day > ? AND cost > 2 * coalesce(base, 0) AND cost - coalesce(base, 0) >= 25
    """, [END - timedelta(days=30)]).fetchall()  # fmt: skip
    assert {r[0] for r in flagged} == {s.service for s in ds.spikes}


def test_some_resources_miss_required_tags(con: duckdb.DuckDBPyConnection) -> None:
    total, missing, none = _one(
        con,
        """
        SELECT count(DISTINCT resource_id),
               count(DISTINCT resource_id) FILTER (WHERE tags IS NULL
                   OR json_extract_string(tags, '$.team') IS NULL
                   OR json_extract_string(tags, '$.environment') IS NULL
                   OR json_extract_string(tags, '$."cost-center"') IS NULL),
               count(DISTINCT resource_id) FILTER (WHERE tags IS NULL)
        FROM cost WHERE category = 'Usage' AND resource_id IS NOT NULL
    """,
    )
    assert total > 300
    assert 0.04 <= missing / total <= 0.15
    assert none > 0


def test_unused_commitments_are_visible(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT category, billed, effective, description, day, commitment FROM cost WHERE status = 'Unused'"
    ).fetchall()
    assert len(rows) >= 20
    assert {r[0] for r in rows} == {"Usage"}
    assert all(r[1] == 0 and r[2] > 0 for r in rows)
    assert all("unused" in r[3].lower() and "hours" in r[3] for r in rows)
    assert min(r[4] for r in rows) >= END - timedelta(days=30)
    assert len({r[5] for r in rows}) == 2  # the Savings Plan and the Azure reservation
    purchases = con.execute(
        "SELECT billed, effective, commitment FROM cost WHERE category = 'Purchase'"
    ).fetchall()
    assert purchases and all(b > 0 and e == 0 and c for b, e, c in purchases)
    assert len({c for _, _, c in purchases}) == 3


def test_credits_are_negative_and_taxes_present(con: duckdb.DuckDBPyConnection) -> None:
    credits = con.execute("SELECT provider, billed, effective FROM cost WHERE category = 'Credit'").fetchall()
    assert {p for p, _, _ in credits} == {"AWS", "Google Cloud"}
    assert all(b < 0 and e < 0 for _, b, e in credits)
    taxes = con.execute(
        "SELECT provider, count(*), min(billed) FROM cost WHERE category = 'Tax' GROUP BY ALL"
    )
    by_provider = {p: (n, low) for p, n, low in taxes.fetchall()}
    assert set(by_provider) == {"AWS", "Google Cloud"} and all(low > 0 for _, low in by_provider.values())


# ------------------------------------------------------------------------------------- budgets
def _period(end: date, period: str) -> tuple[date, date]:
    if period == "monthly":
        first = end.replace(day=1)
    elif period == "quarterly":
        first = date(end.year, (end.month - 1) // 3 * 3 + 1, 1)
    else:
        first = date(end.year, 1, 1)
    months = {"monthly": 1, "quarterly": 3, "annually": 12}[period]
    index = first.year * 12 + first.month - 1 + months
    return first, date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


def _budget_statuses(
    ds: DemoDataset, extra_elapsed: int = 0, con: duckdb.DuckDBPyConnection | None = None
) -> list[str]:
    """Statuses recomputed from budgets.yaml and the files (independent of the generator's numbers)."""
    own = con is None
    con = con or _connect(ds)
    spec = yaml.safe_load(ds.budgets_file.read_text())["budgets"]
    out: list[str] = []
    for b in spec:
        first, last = _period(ds.end, b["period"])
        where, params = ["day BETWEEN ? AND ?"], [first, ds.end]
        filters = b.get("filters") or {}
        if "providers" in filters:
            where.append("list_contains(?, provider)")
            params.append(filters["providers"])
        if "services" in filters:
            where.append("list_contains(?, service)")
            params.append(filters["services"])
        for key, values in (filters.get("tags") or {}).items():
            where.append(f"list_contains(?, json_extract_string(tags, '$.\"{key}\"'))")
            params.append(values)
        column = "billed" if b["cost_type"] == "billed" else "effective"
        actual = Decimal(
            _one(con, f"SELECT coalesce(sum({column}), 0) FROM cost WHERE {' AND '.join(where)}", params)
        )
        elapsed = min((ds.end - first).days + 1 + extra_elapsed, (last - first).days + 1)
        forecast = actual * ((last - first).days + 1) / elapsed
        out.append(
            budget_state(Decimal(str(b["amount"])), actual, forecast, [float(t) for t in b["thresholds"]])
        )
    if own:
        con.close()
    return out


@pytest.mark.parametrize(
    "end",
    [
        date(2026, 11, 1),
        date(2026, 11, 2),
        date(2026, 11, 15),
        date(2026, 11, 30),
        date(2026, 10, 31),
        date(2026, 9, 30),
        date(2027, 2, 1),
    ],
)
def test_one_budget_of_each_status(tmp_path: Path, end: date) -> None:
    ds = generate(tmp_path, end=end, months=3, scale=0.05)
    assert [b.status for b in ds.budgets] == STATUSES
    assert _budget_statuses(ds) == STATUSES
    spec = yaml.safe_load(ds.budgets_file.read_text())["budgets"]
    assert {b["period"] for b in spec} <= {"monthly", "quarterly", "annually"}
    assert all(b["currency"] == "USD" and b["thresholds"] for b in spec)
    scopes = [tuple(sorted((b.get("filters") or {}).keys())) for b in spec]
    assert sorted(scopes) == [(), ("providers",), ("services",), ("tags",)]
    last_day = (end + timedelta(days=1)).day == 1
    assert (spec[1]["period"] != "monthly") == last_day  # forecast == actual on a month's last day
    days_in_month = _period(end, "monthly")[1].day
    if days_in_month / (end.day + 1) >= 1.05:
        # also holds for an engine that counts `end + 1` (today) as an elapsed day
        assert _budget_statuses(ds, extra_elapsed=1) == STATUSES


def test_on_dec_31_no_budget_can_be_forecast_exceeded(tmp_path: Path) -> None:
    ds = generate(tmp_path, end=date(2026, 12, 31), months=2, scale=0.05)
    assert [b.status for b in ds.budgets] == ["exceeded", "warning", "warning", "ok"]
    assert _budget_statuses(ds) == ["exceeded", "warning", "warning", "ok"]


def test_budget_amounts_at_scale_one(ds: DemoDataset, con: duckdb.DuckDBPyConnection) -> None:
    spec = yaml.safe_load(ds.budgets_file.read_text())
    assert [b["name"] for b in spec["budgets"]] == [b.name for b in ds.budgets]
    assert _budget_statuses(ds, con=con) == STATUSES
    warning = ds.budgets[2]
    assert warning.forecast < warning.amount <= warning.actual * 100 / Decimal(str(min(warning.thresholds)))


# ------------------------------------------------------------------------------------- ensure_demo
@pytest.fixture
def fast_generate(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """generate at a small scale, recording where it wrote."""
    calls: list[Path] = []
    real = gen.generate

    def small(out_dir: Path, **kwargs: Any) -> DemoDataset:
        calls.append(Path(out_dir))
        kwargs["scale"] = 0.03
        return real(out_dir, **kwargs)

    monkeypatch.setattr(gen, "generate", small)
    return calls


def test_ensure_demo_generates_once_and_reuses(tmp_path: Path, fast_generate: list[Path]) -> None:
    today = date(2026, 11, 21)
    first = ensure_demo(tmp_path, today=today)
    assert first.root == tmp_path / gen.dataset_key(date(2026, 11, 20))
    assert first.end == date(2026, 11, 20) and first.months == 7 and len(fast_generate) == 1
    marker = first.root / gen.MANIFEST
    stamp = marker.stat().st_mtime_ns
    again = ensure_demo(tmp_path, today=today)
    assert len(fast_generate) == 1 and marker.stat().st_mtime_ns == stamp
    assert again == first
    assert again.paths_setting == f"demo={first.root}/exports/**/*"
    assert [p.name for p in tmp_path.iterdir()] == [first.root.name]  # nothing left behind


def test_ensure_demo_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(out_dir: Path, **kwargs: Any) -> DemoDataset:
        (Path(out_dir) / "exports" / "aws").mkdir(parents=True)
        (Path(out_dir) / "exports" / "aws" / "part-0.parquet").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(gen, "generate", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_demo(tmp_path, today=date(2026, 11, 21))
    assert list(tmp_path.iterdir()) == []  # no half dataset, no temp folder


def test_ensure_demo_concurrent_callers(tmp_path: Path, fast_generate: list[Path]) -> None:
    today = date(2026, 11, 21)
    results: list[DemoDataset] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            results.append(ensure_demo(tmp_path, today=today))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2
    assert len({r.root for r in results}) == 1
    assert 1 <= len(fast_generate) <= 2
    assert [p.name for p in tmp_path.iterdir()] == [results[0].root.name]
    assert (results[0].root / gen.MANIFEST).is_file() and all(p.is_file() for p in results[0].files)


def test_ensure_demo_replaces_incomplete_and_prunes_old(tmp_path: Path, fast_generate: list[Path]) -> None:
    today = date(2026, 11, 21)
    key = gen.dataset_key(date(2026, 11, 20))
    (tmp_path / key / "exports").mkdir(parents=True)  # no manifest: never trusted
    old = tmp_path / gen.dataset_key(date(2026, 10, 1))
    (old / "exports").mkdir(parents=True)
    (old / gen.MANIFEST).write_text("{}")
    recent = tmp_path / gen.dataset_key(date(2026, 11, 19))
    recent.mkdir()
    week_ago = time.time() - 7 * 86400
    os.utime(old, (week_ago, week_ago))
    ds = ensure_demo(tmp_path, today=today)
    assert len(fast_generate) == 1 and (ds.root / gen.MANIFEST).is_file()
    assert not old.exists() and recent.exists()


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FINOPS_DEMO_DIR", str(tmp_path / "explicit"))
    assert gen.default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("FINOPS_DEMO_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert gen.default_cache_dir() == tmp_path / "xdg" / "finops-mcp" / "demo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert gen.default_cache_dir() == Path.home() / ".cache" / "finops-mcp" / "demo"


def test_generate_refuses_foreign_exports_folder(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    with pytest.raises(FileExistsError):
        generate(tmp_path, end=END, months=1, scale=0.05)


def test_regenerate_in_place_replaces_previous(tmp_path: Path) -> None:
    first = generate(tmp_path, end=END, months=2, scale=0.05)
    second = generate(tmp_path, end=END - timedelta(days=40), months=1, scale=0.05)
    on_disk = sorted(p for p in (tmp_path / "exports").rglob("part-0.*") if p not in second.other_files)
    assert on_disk == sorted(second.files) and set(first.files) != set(second.files)
    assert gen.load_dataset(tmp_path) == second
