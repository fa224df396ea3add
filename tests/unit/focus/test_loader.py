"""Loading: shapes of files, skipped datasets, strings, UTC days, lockdown, reloads, bad files, threads."""

from __future__ import annotations

import gzip
import os
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery
from finops_mcp.providers.focus import store as store_mod
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.conftest import Acme, csv_provider, make_settings, scope
from tests.unit.focus.focusdata import FIRST, LAST, row, truth_cost, write_csv, write_parquet

ALL = Span(FIRST, LAST)


def by_key(lines) -> dict:
    return {(line.keys, line.period_start, line.currency): line.cost for line in lines}


def test_every_shape_of_file_is_loaded_once(acme: Acme, ctx: CallContext) -> None:
    info = acme.provider.describe()["datasets"][0]
    assert info["loaded"] and info["files"] == 10 and info["rows"] == len(acme.rows)
    assert info["providers"] == ["AWS", "Google Cloud", "Microsoft"]
    assert (info["first_day"], info["last_day"]) == ("2024-03-01", "2024-05-31")
    assert info["currencies"] == ["USD", "EUR"]
    assert [Path(s["path"]).name for s in info["skipped_files"]] == ["contract_commitments.csv"]
    assert "contract-commitments" in info["skipped_files"][0]["reason"]
    assert [Path(p).name for p in info["ignored_files"]] == ["manifest.json"]
    lines = acme.provider.cost(acme.scope, CostQuery(ALL, "total", ("service",), "billed"), ctx)
    assert by_key(lines) == truth_cost(acme.rows, FIRST, LAST)


def test_account_ids_stay_strings_with_leading_zeros(acme: Acme, ctx: CallContext) -> None:
    lines = acme.provider.cost(acme.scope, CostQuery(ALL, "total", ("account",), "billed"), ctx)
    accounts = {dict(line.keys)["account"] for line in lines}
    assert accounts == {
        "012345678901",
        "000123456789",
        "00000000-aaaa-bbbb-cccc-000000000001",
        "0ABCDE-012345",
    }


def test_numeric_looking_ids_in_csv_are_not_inferred_as_numbers(tmp_path: Path, ctx: CallContext) -> None:
    rows = [
        row(FIRST + timedelta(days=i), "1.10", SubAccountId=f"{i:012d}", BillingAccountId="000000000042")
        for i in range(40)
    ]
    provider, sc = csv_provider(tmp_path, rows)
    lines = provider.cost(sc, CostQuery(ALL, "total", ("account",), "billed"), ctx)
    assert sorted(dict(line.keys)["account"] for line in lines) == [f"{i:012d}" for i in range(40)]


def test_skipped_files_are_noted_in_every_call(acme: Acme) -> None:
    def skipped_noted(c: CallContext) -> bool:
        return any("skipped 1 file(s)" in n and "contract_commitments.csv" in n for n in c.notes)

    query = CostQuery(ALL, "total", ("service",), "billed")
    for call in (
        lambda c: acme.provider.cost(acme.scope, query, c),
        lambda c: acme.provider.forecast(acme.scope, query, c),
        lambda c: acme.provider.audit(
            acme.provider.audit_units(acme.scope, None, c)[0], acme.provider.checks(), c
        ),
    ):
        c = CallContext()
        call(c)
        assert skipped_noted(c)
    # the file missing EffectiveCost is noted too
    c = CallContext()
    acme.provider.cost(acme.scope, query, c)
    assert any("no EffectiveCost column" in n and "export.csv" in n for n in c.notes)


def test_charge_days_are_utc_days(tmp_path: Path, ctx: CallContext) -> None:
    west = timezone(timedelta(hours=-5))
    east = timezone(timedelta(hours=9))
    rows = [
        row(datetime(2024, 3, 1, 21, tzinfo=west), "1"),  # 2024-03-02 02:00 UTC
        row(datetime(2024, 3, 2, 8, tzinfo=east), "2"),  # 2024-03-01 23:00 UTC
        row(datetime(2024, 3, 2, 0, tzinfo=timezone.utc), "4"),
    ]
    q = CostQuery(Span(date(2024, 3, 1), date(2024, 3, 2)), "daily", (), "billed")
    expected = {((), date(2024, 3, 1), "USD"): Decimal(2), ((), date(2024, 3, 2), "USD"): Decimal(5)}
    for i, write in enumerate(
        (
            lambda p: write_csv(p / "x.csv", rows),
            lambda p: write_parquet(p / "x.parquet", rows, timestamps="tz"),
            lambda p: write_parquet(p / "x.parquet", rows, timestamps="naive"),
            lambda p: write_parquet(p / "x.parquet", rows, timestamps="text"),
        )
    ):
        folder = tmp_path / str(i)
        write(folder)
        provider = FocusProvider(make_settings(focus_paths=[f"d={folder}/*"]))
        assert by_key(provider.cost(scope("d"), q, ctx)) == expected
        provider.close()


def test_connection_is_locked_down_after_loading(acme: Acme, tmp_path: Path, ctx: CallContext) -> None:
    acme.provider.cost(acme.scope, CostQuery(ALL, "total", (), "billed"), ctx)
    dataset = acme.provider._store.get("acme")
    cur = dataset.cursor()
    target = tmp_path / "stolen.csv"
    for sql in (
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        f"COPY focus_cost TO '{target}'",
        f"COPY (SELECT 1) TO '{target}' (FORMAT csv)",
        "SET enable_external_access = true",
        "RESET enable_external_access",
        "SET lock_configuration = false",
        f"ATTACH '{tmp_path / 'x.duckdb'}' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM 'https://example.com/data.csv'",
    ):
        with pytest.raises(duckdb.Error):
            cur.execute(sql).fetchall()
    assert not target.exists() and not (tmp_path / "x.duckdb").exists()
    # and the table is still there
    assert cur.execute("SELECT count(*) FROM focus_cost").fetchone() == (len(acme.rows),)


def test_reload_when_files_change(tmp_path: Path, ctx: CallContext) -> None:
    folder = tmp_path / "d"
    write_csv(folder / "a.csv", [row(FIRST, "1.25")])
    provider = FocusProvider(make_settings(focus_paths=[f"d={folder}/*"]))
    q = CostQuery(Span(FIRST, FIRST), "total", (), "billed")

    def cost() -> Decimal:
        return sum((line.cost for line in provider.cost(scope("d"), q, ctx)), Decimal(0))

    assert cost() == Decimal("1.25")
    first = provider._store.peek("d")
    assert cost() == Decimal("1.25") and provider._store.peek("d") is first  # unchanged: no reload
    write_parquet(folder / "b.parquet", [row(FIRST, "2.5")])  # a new file
    assert cost() == Decimal("3.75")
    write_csv(folder / "a.csv", [row(FIRST, "10"), row(FIRST, "0.01")])  # a file rewritten
    st = os.stat(folder / "a.csv")
    os.utime(folder / "a.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert cost() == Decimal("12.51")
    (folder / "b.parquet").unlink()  # a file removed
    assert cost() == Decimal("10.01")


def test_an_invalid_file_is_named_and_retried_only_when_it_changes(tmp_path: Path, ctx: CallContext) -> None:
    folder = tmp_path / "d"
    good = [row(FIRST, "1")]
    write_csv(folder / "a.csv", good)
    write_csv(folder / "b.csv", good)
    write_csv(folder / "c.csv", [row(FIRST, "not-a-number")])
    provider = FocusProvider(make_settings(focus_paths=[f"d={folder}/*"]))
    q = CostQuery(Span(FIRST, FIRST), "total", (), "billed")
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("d"), q, ctx)
    assert err.value.code == "invalid_query" and "c.csv" in err.value.message
    assert "a.csv" not in err.value.message
    with pytest.raises(ScopeFailure):  # same files: same answer
        provider.cost(scope("d"), q, ctx)
    write_csv(folder / "c.csv", [row(FIRST, "2")])
    st = os.stat(folder / "c.csv")
    os.utime(folder / "c.csv", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert [line.cost for line in provider.cost(scope("d"), q, ctx)] == [Decimal(4)]


def test_a_corrupt_parquet_file_is_named(tmp_path: Path, ctx: CallContext) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/broken.parquet").write_bytes(b"PAR1 this is not parquet")
    provider = FocusProvider(make_settings(focus_paths=[f"d={tmp_path}/d/*"]))
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("d"), CostQuery(Span(FIRST, FIRST), "total", (), "billed"), ctx)
    assert err.value.code in ("invalid_query", "upstream") and "broken.parquet" in err.value.message


def test_bad_tags_json_and_missing_currency_are_errors(tmp_path: Path, ctx: CallContext) -> None:
    folder = tmp_path / "tags"
    folder.mkdir()
    text = 'BilledCost,ChargePeriodStart,BillingCurrency,Tags\n1,2024-03-01T00:00:00Z,USD,"{bad json"\n'
    (folder / "x.csv").write_text(text)
    provider = FocusProvider(make_settings(focus_paths=[f"d={folder}/*"]))
    q = CostQuery(Span(FIRST, FIRST), "total", (), "billed")
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("d"), q, ctx)
    assert err.value.code == "invalid_query" and "x.csv" in err.value.message
    write_csv(tmp_path / "cur/y.csv", [row(FIRST, "1")], drop=("BillingCurrency",))
    provider = FocusProvider(make_settings(focus_paths=[f"d={tmp_path}/cur/*"]))
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("d"), q, ctx)
    assert err.value.code == "invalid_query" and "BillingCurrency" in err.value.message


def test_minimal_csv_with_azure_style_tags_and_empty_values(tmp_path: Path, ctx: CallContext) -> None:
    text = (
        "BilledCost,ChargePeriodStart,BillingCurrency,ServiceName,Tags\n"
        '1.5,2024-03-01T10:00:00Z,USD,Storage,"""team"": ""data"", ""env"": ""prod"""\n'
        "2.5,2024-03-01T11:00:00Z,USD,,\n"
        '1e-2,2024-03-01,USD,Storage,"{""team"": 7, ""n"": null}"\n'
    )
    with gzip.open(tmp_path / "x.csv.gz", "wt") as fh:
        fh.write(text)
    provider = FocusProvider(make_settings(focus_paths=[f"d={tmp_path}/*.csv.gz"]))
    q = CostQuery(Span(FIRST, FIRST), "total", ("service", "tag:team"), "effective")
    assert by_key(provider.cost(scope("d"), q, ctx)) == {
        ((("service", "Storage"), ("tag:team", "data")), None, "USD"): Decimal("1.5"),
        ((("service", "Storage"), ("tag:team", "7")), None, "USD"): Decimal("0.01"),
        ((("service", ""), ("tag:team", "")), None, "USD"): Decimal("2.5"),
    }


def test_concurrent_first_calls_load_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [row(FIRST + timedelta(days=i % 20), f"{i}.01", ServiceName=f"s{i % 3}") for i in range(300)]
    provider, sc = csv_provider(tmp_path, rows)
    loads = []
    real = store_mod.load_dataset

    def counting(*args, **kwargs):
        loads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(store_mod, "load_dataset", counting)
    q = CostQuery(ALL, "monthly", ("service",), "billed")
    results, errors = [], []
    barrier = threading.Barrier(12)

    def call() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                results.append(by_key(provider.cost(sc, q, CallContext())))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(loads) == 1 and len(results) == 60
    expected = truth_cost(rows, FIRST, LAST, granularity="monthly")
    assert all(r == expected for r in results)


def test_classify_error(acme: Acme) -> None:
    p = acme.provider
    assert p.classify_error(duckdb.IOException("x")) == ("upstream", False)
    assert p.classify_error(duckdb.ConversionException("x")) == ("invalid_query", False)
    assert p.classify_error(duckdb.InterruptException("x")) == ("cancelled", False)
    assert p.classify_error(ScopeFailure("not_configured", "x")) == ("not_configured", False)
    assert p.classify_error(ValueError("x")) is None


def test_rows_without_dates_and_numeric_account_columns_are_noted(tmp_path: Path, ctx: CallContext) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "d"
    folder.mkdir()
    table = pa.table(
        {
            "SubAccountId": pa.array([12345678901, 42], pa.int64()),
            "BilledCost": pa.array([1.5, 2.0]),
            "ChargePeriodStart": pa.array(["2024-03-01T00:00:00Z", None]),
            "BillingCurrency": pa.array(["USD", "USD"]),
        }
    )
    pq.write_table(table, folder / "x.parquet")
    provider = FocusProvider(make_settings(focus_paths=[f"d={folder}/*"]))
    lines = provider.cost(scope("d"), CostQuery(ALL, "total", ("account",), "billed"), ctx)
    assert by_key(lines) == {((("account", "12345678901"),), None, "USD"): Decimal("1.5")}
    assert any("1 row(s) without ChargePeriodStart" in n for n in ctx.notes)
    assert any("SubAccountId is stored as a number" in n for n in ctx.notes)


def test_the_provider_implements_the_protocol_and_is_registered(acme: Acme) -> None:
    from finops_mcp.providers import IMPLEMENTED, load
    from finops_mcp.providers.base import Provider

    assert isinstance(acme.provider, Provider) and FocusProvider.name == "focus"
    provider = load("focus", make_settings(focus_paths=[f"{acme.base}/**/*.csv"]))
    assert IMPLEMENTED["focus"].endswith("provider:FocusProvider")
    assert [s.id for s in provider.scopes(CallContext())] == ["focus:acme"]


def test_a_call_waiting_for_a_load_can_be_cancelled(tmp_path: Path) -> None:
    from finops_mcp.engine.context import Cancelled, CancelToken

    provider, _ = csv_provider(tmp_path, [row(FIRST, "1")])
    lock = provider._store._locks["t"]
    token = CancelToken()
    with lock:  # as if another call were loading the dataset
        token.cancel("gone")
        with pytest.raises(Cancelled):
            provider._store.get("t", CallContext(cancel=token))
