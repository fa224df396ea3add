"""In place, still locked: the view over the files, the lock, path safety, never a silent zero,
Hive pruning, lazy tags, the CSV cache and change detection."""

from __future__ import annotations

import asyncio
import os
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.models import GetCostRequest
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery
from finops_mcp.providers.focus import csvcache
from finops_mcp.providers.focus.provider import FocusProvider
from finops_mcp.service import FinOpsService
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.focusdata import FIRST, row, write_csv, write_parquet

ALL = Span(FIRST, FIRST + timedelta(days=90))
TOTAL = CostQuery(ALL, "total", (), "billed")


def total(
    provider: FocusProvider, name: str, query: CostQuery = TOTAL, ctx: CallContext | None = None
) -> Decimal:
    lines = provider.cost(scope(name), query, ctx or CallContext())
    return sum((line.cost for line in lines), Decimal(0))


def provider_for(tmp_path: Path, *paths: str) -> FocusProvider:
    return FocusProvider(make_settings(focus_paths=list(paths), focus_cache_dir=str(tmp_path / "cache")))


# ------------------------------------------------------------------------------------- the lock


def test_the_locked_connection_refuses_files_urls_attach_and_symlink_escapes(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    write_csv(secret / "other.csv", [row(FIRST, "999")])
    write_parquet(secret / "other.parquet", [row(FIRST, "999")])
    data = tmp_path / "data"
    write_parquet(data / "a.parquet", [row(FIRST, "1.5")])
    write_csv(data / "b.csv", [row(FIRST, "2.5")])
    os.symlink(secret / "other.parquet", data / "escape.parquet")
    (tmp_path / "data_evil").mkdir()  # a sibling whose name starts like the allowed folder
    write_parquet(tmp_path / "data_evil/x.parquet", [row(FIRST, "7")])
    provider = provider_for(tmp_path, f"d={data}/*")
    ctx = CallContext()
    assert total(provider, "d", ctx=ctx) == Decimal("4.0")  # the symlink is not followed
    assert any("symlink" in n and "escape.parquet" in n for n in ctx.notes)
    cur = provider._store.get("d").cursor()
    stolen = data / "stolen.csv"
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        f"SELECT * FROM read_parquet('{secret}/other.parquet')",
        f"SELECT * FROM read_csv('{secret}/other.csv')",
        f"SELECT * FROM read_parquet('{data}/escape.parquet')",  # a symlink out of the allowed folder
        f"SELECT * FROM read_parquet('{data}/../secret/other.parquet')",
        f"SELECT * FROM read_parquet('{tmp_path}/data_evil/x.parquet')",
        f"COPY (SELECT 1) TO '{tmp_path}/out.csv' (FORMAT csv)",
        f"COPY focus_cost TO '{secret}/out.parquet' (FORMAT parquet)",
        f"ATTACH '{tmp_path / 'x.duckdb'}' AS x",
        "SELECT * FROM 'https://example.com/data.csv'",
        "SELECT * FROM read_parquet('s3://bucket/data.parquet')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "RESET lock_configuration",
    ):
        with pytest.raises(duckdb.Error):
            cur.execute(sql).fetchall()
    assert not (tmp_path / "out.csv").exists() and not (secret / "out.parquet").exists()
    assert not (tmp_path / "x.duckdb").exists() and not stolen.exists()
    # the configured files are still read, in place
    assert cur.execute("SELECT sum(billed_cost) FROM focus_cost").fetchone() == (Decimal("4.0"),)
    provider.close()


def test_dotdot_segments_and_symlinked_config_paths_are_refused(tmp_path: Path) -> None:
    write_parquet(tmp_path / "real/a.parquet", [row(FIRST, "1")])
    os.symlink(tmp_path / "real", tmp_path / "link")
    for entry, expect in (
        (f"d={tmp_path}/real/../real/*.parquet", "'..'"),
        (f"d={tmp_path}/link/*.parquet", f"configure the real path {tmp_path}/real"),
        (f"d={tmp_path}/link", "symlink"),
    ):
        provider = provider_for(tmp_path, entry)
        with pytest.raises(ScopeFailure) as err:
            total(provider, "d")
        assert err.value.code == "not_configured" and expect in err.value.message
    assert total(provider_for(tmp_path, f"d={tmp_path}/real/*.parquet"), "d") == Decimal(1)


# ------------------------------------------------------------------------------------- never a silent zero


def test_a_path_of_only_non_focus_csv_is_no_data_not_zero(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "people.csv").write_text("name,age\nann,3\nbob,4\n")
    (folder / "prices.csv").write_text("sku,price\na,1.0\n")
    provider = provider_for(tmp_path, f"d={folder}/*.csv")
    with pytest.raises(ScopeFailure) as err:
        total(provider, "d")
    assert err.value.code == "no_data" and "no FOCUS cost rows" in err.value.message
    # through the service: a per-scope error, not 0.00
    svc = FinOpsService(
        make_settings(providers=["focus"], focus_paths=[f"d={folder}/*.csv"],
                      focus_cache_dir=str(tmp_path / "cache"))
    )  # fmt: skip
    report = asyncio.run(svc.get_cost(GetCostRequest(start_date=FIRST, end_date=FIRST)))
    assert [(e.scope, e.code) for e in report.errors] == [("focus:d", "no_data")]
    svc.close()


def test_a_half_written_parquet_among_good_ones_is_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    write_parquet(folder / "good-1.parquet", [row(FIRST, "1.25")])
    write_parquet(folder / "good-2.parquet", [row(FIRST, "2.5")])
    whole = (folder / "good-2.parquet").read_bytes()
    (folder / "half.parquet").write_bytes(whole[: len(whole) // 2])  # a copy cut off mid-way
    (folder / "garbage.parquet").write_bytes(b"PAR1 not really" * 10)
    provider = provider_for(tmp_path, f"d={folder}/*.parquet")
    ctx = CallContext()
    assert total(provider, "d", ctx=ctx) == Decimal("3.75")
    skipped = [n for n in ctx.notes if "unreadable" in n]
    assert skipped and all("SELECT" not in n and "LINE" not in n for n in ctx.notes)
    assert any("half.parquet" in n for n in skipped) and any("garbage.parquet" in n for n in skipped)
    info = provider.describe()["datasets"][0]
    assert info["files"] == 2 and {Path(s["path"]).name for s in info["skipped_files"]} == {
        "half.parquet",
        "garbage.parquet",
    }


def test_query_errors_carry_no_sql_text(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "BilledCost": pa.array([1.5, 2.0]),
            "ChargePeriodStart": pa.array(["2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z"]),
            "BillingCurrency": pa.array(["USD", "USD"]),
            "Tags": pa.array(['{"team": "a"}', "{not json"]),
        }
    )
    pq.write_table(table, folder / "x.parquet")
    provider = provider_for(tmp_path, f"d={folder}/*")
    # tags are read lazily: a query without tags never parses them
    assert total(provider, "d") == Decimal("3.5")
    with pytest.raises(ScopeFailure) as err:
        total(provider, "d", CostQuery(ALL, "total", ("tag:team",), "billed"))
    assert err.value.code == "invalid_query" and "FOCUS dataset 'd'" in err.value.message
    for fragment in ("SELECT", "FROM", "tag_value", "LINE"):
        assert fragment not in err.value.message


# ------------------------------------------------------------------------------------- Hive pruning


def test_hive_partitions_are_pruned_by_the_requested_period(tmp_path: Path) -> None:
    base = tmp_path / "cur"
    months = [date(2024, m, 1) for m in range(1, 9)]
    for i, m in enumerate(months):
        key = "BILLING_PERIOD" if i % 2 else "billingperiodstart"
        value = f"{m:%Y-%m}" if i % 2 else f"{m:%Y-%m-%d}T00:00:00.000Z"
        write_parquet(base / f"{key}={value}/part-0.parquet", [row(m + timedelta(days=3), str(i + 1))])
    write_csv(base / "BILLING_PERIOD=2024-05/extra.csv", [row(date(2024, 5, 9), "0.5")])
    # a file filed under January holding a May charge: a May query does not open January's files
    write_parquet(base / "BILLING_PERIOD=2024-01/late.parquet", [row(date(2024, 5, 20), "1000")])
    provider = provider_for(tmp_path, f"cur={base}/**/*")
    may = CostQuery(Span(date(2024, 5, 1), date(2024, 5, 31)), "total", (), "billed")
    assert total(provider, "cur", may) == Decimal("5.5")
    year = CostQuery(Span(date(2024, 1, 1), date(2024, 12, 31)), "total", (), "billed")
    assert total(provider, "cur", year) == sum(range(1, 9)) + Decimal("1000.5")
    march = CostQuery(Span(date(2024, 3, 1), date(2024, 3, 31)), "total", (), "billed")
    assert total(provider, "cur", march) == Decimal(3)
    june = CostQuery(Span(date(2024, 6, 1), date(2024, 6, 30)), "total", (), "billed")
    assert total(provider, "cur", june) == Decimal(6)


# ------------------------------------------------------------------------------------- CSV paid once


def test_csv_is_converted_once_and_a_restarted_server_answers_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "d"
    write_csv(folder / "a.csv.gz", [row(FIRST, "1.10"), row(FIRST, "2.20", SubAccountId="000000000042")])
    write_csv(folder / "b.csv", [row(FIRST, "3.30")])
    first = provider_for(tmp_path, f"d={folder}/*")
    assert total(first, "d") == Decimal("6.60")
    cache = tmp_path / "cache" / "focus"
    assert len(list(cache.glob("*.parquet"))) == 2 and len(list(cache.glob("*.json"))) == 2
    first.close()

    def no_conversion(self: csvcache.CsvCache, f: object) -> None:
        raise AssertionError(f"converted again: {f}")

    monkeypatch.setattr(csvcache.CsvCache, "_convert", no_conversion)
    restarted = provider_for(tmp_path, f"d={folder}/*")
    lines = restarted.cost(scope("d"), CostQuery(ALL, "total", ("account",), "billed"), CallContext())
    assert {dict(line.keys)["account"]: line.cost for line in lines} == {
        "012345678901": Decimal("4.40"),
        "000000000042": Decimal("2.20"),
    }
    # the cached files are inside the lock's allow-list, nothing else of the cache is
    cur = restarted._store.get("d").cursor()
    with pytest.raises(duckdb.Error):
        cur.execute(f"SELECT * FROM glob('{cache}/*')").fetchall()
    monkeypatch.undo()
    # a changed file: converted again at the next call, its old entry pruned
    write_csv(folder / "b.csv", [row(FIRST, "10")])
    st = os.stat(folder / "b.csv")
    os.utime(folder / "b.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert total(restarted, "d") == Decimal("13.30")
    assert len(list(cache.glob("*.parquet"))) == 2
    restarted.close()


def test_a_changed_file_is_seen_at_the_next_call_not_after_the_cache_ttl(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    write_parquet(folder / "a.parquet", [row(FIRST, "1")])
    settings = make_settings(
        providers=["focus"], focus_paths=[f"d={folder}/*"], focus_cache_dir=str(tmp_path / "cache"),
        cache_ttl_seconds=3600,
    )  # fmt: skip
    svc = FinOpsService(settings)
    req = GetCostRequest(start_date=FIRST, end_date=FIRST, compare_previous=False)
    assert asyncio.run(svc.get_cost(req)).total == 1
    again = asyncio.run(svc.get_cost(req))
    assert again.total == 1 and again.meta.cached  # unchanged: from the cache
    write_csv(folder / "b.csv", [row(FIRST, "2.5")])  # a new file
    fresh = asyncio.run(svc.get_cost(req))
    assert fresh.total == 3.5 and not fresh.meta.cached
    svc.close()
