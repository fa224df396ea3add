"""The demo dataset's cache directory: generated once per day (atomically, safe for concurrent
callers) and reused; old datasets pruned.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from finops_mcp.demo.dataset import (
    DEFAULT_MONTHS,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    MANIFEST,
    DemoDataset,
    load_dataset,
)


# ===================================================================================== ensure_demo
def default_cache_dir() -> Path:
    """$FINOPS_DEMO_DIR, else $XDG_CACHE_HOME/finops-mcp/demo, else ~/.cache/finops-mcp/demo."""
    explicit = os.environ.get("FINOPS_DEMO_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "finops-mcp" / "demo"


def dataset_key(end: date, seed: int = DEFAULT_SEED) -> str:
    return f"v{GENERATOR_VERSION}-{end.isoformat()}-seed{seed}"


def ensure_demo(cache_dir: Path | None = None, *, today: date | None = None) -> DemoDataset:
    """The demo dataset ending yesterday (UTC), generated once into `cache_dir` and reused.

    The data is generated in a temporary folder next to the final one and renamed into place when
    complete, so a crash never leaves half a dataset, and concurrent callers either reuse the
    finished folder or race to rename identical data (the loser's copy is removed). Datasets of
    other days or generator versions older than 3 days are pruned.
    """
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    today = today or datetime.now(timezone.utc).date()
    end = today - timedelta(days=1)
    key = dataset_key(end)
    final = base / key
    if (final / MANIFEST).is_file():
        return load_dataset(final)
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=base))
    try:
        from finops_mcp.demo import generator  # here: the generator imports this module

        generator.generate(tmp, end=end, months=DEFAULT_MONTHS, seed=DEFAULT_SEED, scale=1.0)
        _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(base, keep=key)
    return load_dataset(final)


def _publish(tmp: Path, final: Path) -> None:
    for _ in range(3):
        try:
            os.rename(tmp, final)
            return
        except OSError:
            if (final / MANIFEST).is_file():
                return  # another process published the same dataset first
            if final.exists():  # a leftover without a manifest (not ours to trust): replace it
                stale = final.with_name(f".stale-{final.name}-{os.getpid()}-{time.monotonic_ns()}")
                try:
                    os.rename(final, stale)
                except OSError:
                    continue
                shutil.rmtree(stale, ignore_errors=True)
    raise OSError(f"could not move the demo dataset into {final}")


def _prune(base: Path, keep: str, *, max_age_days: float = 3.0, tmp_age_hours: float = 6.0) -> None:
    """Remove datasets older than `max_age_days` (but never `keep` nor the newest other one, which a
    server started before midnight may still read) and temporary folders older than `tmp_age_hours`."""
    now = time.time()
    datasets: list[tuple[float, Path]] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name == keep or not entry.is_dir():
                continue
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if entry.name.startswith((".tmp-v", ".stale-v")):
            if age > tmp_age_hours * 3600:
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith("v") and "-seed" in entry.name:
            datasets.append((age, entry))
    for age, entry in sorted(datasets)[1:]:
        if age > max_age_days * 86400:
            shutil.rmtree(entry, ignore_errors=True)
