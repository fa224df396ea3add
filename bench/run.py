"""`make bench`: ratios measured in one run on this machine (see docs/performance.md).

1. Fan-out: wall time / ideal (ceil(calls/workers) x latency) at 16 workers, and speedup vs 1 worker,
   with a latency-injecting fake provider.
2. Cache: a repeated get_cost answered from the cache vs the first (miss), on the demo dataset.
3. Start-up: process spawn to the first tools/list answer, finops-mcp vs a minimal one-tool MCPServer.
4. tools/list size in characters (the model's context cost).
5. FOCUS at 10M generated rows: get_cost by service x month end to end vs the same in pandas.
6. FOCUS in place vs raw DuckDB: first / warm call and peak RSS at 10M and 30M Parquet rows, and a
   2M-row csv.gz first-ever vs restarted first call (`bench/focus_inplace.py`).
Set BENCH_ROWS to change the size of part 5 (default 10,000,000).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from finops_mcp.models import GetCostRequest
from finops_mcp.periods import add_months, month_start, utc_today
from finops_mcp.service import FinOpsService
from finops_mcp.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
RESULTS: list[tuple[str, str, str, str]] = []


def record(name: str, value: str, goal: str, met: bool | None) -> None:
    status = "n/a" if met is None else ("met" if met else "NOT MET")
    RESULTS.append((name, value, goal, status))
    print(f"  {name}: {value} (goal {goal}: {status})", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- 1. fan-out
def bench_fanout() -> None:
    from tests.fakes.provider import FakeProvider

    calls, latency = 64, 0.05
    walls = {}
    for workers in (16, 1):
        fake = FakeProvider(scope_ids=[f"s{i}" for i in range(calls)], latency=latency, services=("x",))
        svc = FinOpsService(load_settings(max_workers=workers, cache_ttl_seconds=0), providers={"fake": fake})
        req = GetCostRequest(compare_previous=False, period="last_7_days")
        start = time.perf_counter()
        report = asyncio.run(svc.get_cost(req))
        walls[workers] = time.perf_counter() - start
        assert len(report.errors) == 0 and report.meta.scopes_queried == calls
        svc.close()
    ideal = math.ceil(calls / 16) * latency
    ratio = walls[16] / ideal
    record(
        "fan-out wall/ideal (64 calls x 50 ms, 16 workers)",
        f"{ratio:.2f} ({walls[16] * 1000:.0f} ms vs {ideal * 1000:.0f} ms)",
        "<= 1.3",
        ratio <= 1.3,
    )
    speedup = walls[1] / walls[16]
    record("fan-out speedup 16 workers vs 1", f"{speedup:.1f}x", ">= 10x", speedup >= 10)


# ----------------------------------------------------------------------------- 2. cache
def bench_cache() -> None:
    from finops_mcp.demo.generator import ensure_demo

    data = ensure_demo(CACHE / "demo")
    settings = load_settings(
        providers=["focus"], focus_paths=[data.paths_setting], focus_budgets=str(data.budgets_file)
    )
    svc = FinOpsService(settings)
    req = GetCostRequest(period="last_90_days", group_by=["service", "account"])
    asyncio.run(svc.get_cost(GetCostRequest(period="last_7_days", compare_previous=False)))  # load the data
    start = time.perf_counter()
    miss = asyncio.run(svc.get_cost(req))
    t_miss = time.perf_counter() - start
    hits = []
    for _ in range(20):
        start = time.perf_counter()
        hit = asyncio.run(svc.get_cost(req))
        hits.append(time.perf_counter() - start)
    assert hit.meta.cached and not miss.meta.cached and hit.total == miss.total
    t_hit = statistics.median(hits)
    record(
        "cache hit vs miss (get_cost 90 days, service x account)",
        f"{t_miss / t_hit:.0f}x ({t_miss * 1000:.1f} ms vs {t_hit * 1000:.2f} ms)",
        "hit much faster",
        t_hit < t_miss,
    )
    svc.close()


# ----------------------------------------------------------------------------- 3./4. start-up
def first_tools_list(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    payload = "".join(json.dumps(m) + "\n" for m in messages)
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
        cwd=CACHE,
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write(payload)
    proc.stdin.flush()
    size = 0
    for line in proc.stdout:
        data = json.loads(line)
        if data.get("id") == 2:
            size = len(json.dumps(data["result"]["tools"]))
            break
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return elapsed, size


def bench_startup() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINOPS_")}
    bin_dir = Path(sys.executable).parent
    ours, base, size = [], [], 0
    for _ in range(7):
        t, size = first_tools_list([str(bin_dir / "finops-mcp")], env)
        ours.append(t)
        base.append(first_tools_list([sys.executable, str(ROOT / "bench" / "minimal_server.py")], env)[0])
    o, b = statistics.median(ours), statistics.median(base)
    record(
        "spawn to first tools/list: finops-mcp vs minimal MCPServer",
        f"{o / b:.2f}x ({o * 1000:.0f} ms vs {b * 1000:.0f} ms)",
        "<= 1.15x",
        o / b <= 1.15,
    )
    record("tools/list size (all tools)", f"{size} characters", "<= 8000", size <= 8000)
    schemas_env = {**env, "FINOPS_OUTPUT_SCHEMAS": "true"}
    with_schemas = first_tools_list([str(bin_dir / "finops-mcp")], schemas_env)[1]
    record(
        "tools/list size with output schemas (FINOPS_OUTPUT_SCHEMAS=true)",
        f"{with_schemas} characters ({with_schemas / size:.2f}x without)",
        "<= 12000 to make them default-on",
        with_schemas <= 12000,
    )


# ----------------------------------------------------------------------------- 5. FOCUS 10M rows
def bench_focus_scale() -> None:
    from finops_mcp.demo.generator import generate, rows_for_scale

    target = int(os.environ.get("BENCH_ROWS", "10000000"))
    scale = target / rows_for_scale(1.0)
    end = utc_today() - timedelta(days=1)
    root = CACHE / f"focus-{target}-{end}"
    marker = root / ".done"
    start = time.perf_counter()
    if not marker.exists():
        data = generate(root, end=end, months=7, seed=7, scale=scale)
        marker.write_text(json.dumps({"rows": data.rows}))
    rows = json.loads(marker.read_text())["rows"]
    print(f"  dataset: {rows:,} rows ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    paths = f"bench={root}/exports/**/*"
    settings = load_settings(providers=["focus"], focus_paths=[paths], cache_ttl_seconds=0)
    svc = FinOpsService(settings)
    first_day = add_months(month_start(end), -6)  # the generator covers 7 months
    req = GetCostRequest(
        start_date=first_day,
        end_date=end,
        granularity="monthly",
        group_by=["service"],
        compare_previous=False,
        top_n=1000,
    )
    start = time.perf_counter()
    asyncio.run(svc.get_cost(GetCostRequest(period="last_7_days", compare_previous=False)))
    load = time.perf_counter() - start
    times = []
    for _ in range(5):
        start = time.perf_counter()
        report = asyncio.run(svc.get_cost(req))
        times.append(time.perf_counter() - start)
    ours = statistics.median(times)
    record(
        f"FOCUS {rows / 1e6:.1f}M rows get_cost service x month (data loaded once in {load:.1f} s)",
        f"{ours:.3f} s",
        "<= 0.5 s",
        ours <= 0.5,
    )
    svc.close()
    try:
        pandas_time, pandas_total = pandas_query(root, first_day, end)
    except ImportError:
        record("FOCUS vs pandas", "pandas not installed", ">= 5x", None)
        return
    ok = abs(float(report.total) - pandas_total) < 1.0
    record(
        "FOCUS get_cost vs the same in pandas (same loaded data)",
        f"{pandas_time / ours:.1f}x faster ({pandas_time:.2f} s vs {ours:.3f} s; totals agree: {ok})",
        ">= 5x",
        pandas_time / ours >= 5 and ok,
    )


def pandas_query(root: Path, start: Any, end: Any) -> tuple[float, float]:
    import pandas as pd

    frames = []
    for path in sorted((root / "exports").rglob("*")):
        name = path.name
        if name.endswith(".parquet"):
            frames.append(pd.read_parquet(path, columns=["ServiceName", "ChargePeriodStart", "BilledCost"]))
        elif name.endswith(".csv") or name.endswith(".csv.gz"):
            head = pd.read_csv(path, nrows=0)
            if "BilledCost" in head.columns:
                frames.append(pd.read_csv(path, usecols=["ServiceName", "ChargePeriodStart", "BilledCost"]))
    df = pd.concat(frames, ignore_index=True)
    df["ChargePeriodStart"] = pd.to_datetime(df["ChargePeriodStart"], utc=True)
    begin = time.perf_counter()
    day = df["ChargePeriodStart"].dt.tz_convert("UTC").dt.tz_localize(None)
    mask = (day >= pd.Timestamp(start)) & (day < pd.Timestamp(end) + pd.Timedelta(days=1))
    sub = df.loc[mask]
    out = sub.groupby([sub["ServiceName"], day[mask].dt.to_period("M")])["BilledCost"].sum()
    elapsed = time.perf_counter() - begin
    return elapsed, float(out.sum())


def bench_focus_inplace() -> None:
    from bench import focus_inplace

    focus_inplace.bench(CACHE / "inplace", record)


def main() -> None:
    CACHE.mkdir(exist_ok=True)
    only = set(sys.argv[1:])
    for name, fn in [
        ("fanout", bench_fanout),
        ("cache", bench_cache),
        ("startup", bench_startup),
        ("focus", bench_focus_scale),
        ("inplace", bench_focus_inplace),
    ]:
        if not only or name in only:
            print(f"[{name}]", file=sys.stderr, flush=True)
            fn()
    width = max(len(r[0]) for r in RESULTS)
    print(f"\n{'measure'.ljust(width)} | value | goal | status")
    for name, value, goal, status in RESULTS:
        print(f"{name.ljust(width)} | {value} | {goal} | {status}")


if __name__ == "__main__":
    main()
