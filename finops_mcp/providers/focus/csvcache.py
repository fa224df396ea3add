"""CSV paid for once: each CSV / gzipped CSV export file is converted once to a normalized Parquet file.

CSV has no column statistics and must be parsed again by every query (seconds per query on a few
million rows), so the first time a CSV file is seen it is converted, on a separate short-lived,
unlocked DuckDB connection, into a Parquet file holding the normalized `focus_cost` columns
(`loader.select_list`), next to a small JSON sidecar (the file's skip reason or mapping notes). A
restarted server (every stdio client session starts one) then reads the Parquet file directly.

- Location: `FINOPS_FOCUS_CACHE_DIR`, default the user cache dir (`$XDG_CACHE_HOME/finops-mcp/focus`,
  `~/.cache/finops-mcp/focus`; `~/Library/Caches/...` on macOS, `%LOCALAPPDATA%\\finops-mcp\\focus` on
  Windows).
- Key: the source's real path + size + mtime (+ the normalization version). A changed file gets a
  new key, and the entries of its older versions are removed when the new one is written.
- Written to a temporary name in the same folder, then renamed (atomic): a reader never sees half a
  file, and two servers converting the same file at once both end up with the same complete entry.
- Entries not used for `MAX_AGE_DAYS` are pruned; using an entry refreshes its mtime.
- Validation happens here, once: a value that is not a number or a timestamp, or Tags that are not
  JSON, fails the conversion and the error names the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus import loader, storage
from finops_mcp.providers.focus.datasets import FileStat
from finops_mcp.providers.focus.loader import sql_string

VERSION = 2  # bump when the normalized layout changes (2: quantity, unit)
MAX_AGE_DAYS = 30
_LOCK = threading.Lock()


def default_cache_dir() -> Path:
    """The user cache dir for finops-mcp (see the module docstring)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "finops-mcp"


@dataclass(frozen=True)
class CachedCsv:
    """What the cache knows about one CSV file: its Parquet twin, or why it is not cost data."""

    source: FileStat
    parquet: str | None  # None when the file is skipped
    skip: str | None
    notes: tuple[str, ...]


class CsvCache:
    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = Path(os.path.expanduser(str(folder))) if folder else default_cache_dir()
        self.folder = self.folder / "focus"

    def _stem(self, f: FileStat) -> tuple[str, str]:
        source = hashlib.sha256(f.path.encode()).hexdigest()[:20]
        version = hashlib.sha256(f"{f.size}:{f.mtime_ns}:{VERSION}".encode()).hexdigest()[:12]
        return source, f"{source}-{version}"

    def lookup(self, f: FileStat) -> CachedCsv | None:
        """The cache entry for the file as it is now, or None (touches the entry: it stays)."""
        _, stem = self._stem(f)
        meta = self.folder / f"{stem}.json"
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        parquet = self.folder / f"{stem}.parquet"
        if data.get("skip") is None and not parquet.is_file():
            return None
        now = time.time()
        for p in (meta, parquet):
            with contextlib.suppress(OSError):
                os.utime(p, (now, now))
        return CachedCsv(
            f,
            None if data.get("skip") is not None else str(parquet),
            data.get("skip"),
            tuple(data.get("notes", ())),
        )

    def get(self, f: FileStat) -> CachedCsv:
        """The entry for the file, converting it first if needed. Raises ScopeFailure naming the file."""
        found = self.lookup(f)
        if found is not None:
            return found
        return self._convert(f)

    def _convert(self, f: FileStat) -> CachedCsv:
        source, stem = self._stem(f)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScopeFailure(
                "not_configured",
                f"FOCUS CSV cache folder {self.folder} cannot be created ({exc.strerror or exc}); set "
                "FINOPS_FOCUS_CACHE_DIR to a writable folder",
            ) from None
        tag = f"{os.getpid()}-{threading.get_ident()}"
        tmp_parquet = self.folder / f".{stem}.{tag}.parquet.tmp"
        tmp_meta = self.folder / f".{stem}.{tag}.json.tmp"
        con = loader.new_connection()
        try:
            if storage.is_url(f.path):
                storage.register(con, [storage.parse_url(f.path)])
            columns = loader.describe_file(con, f)
            skip = loader.classify(columns, f)
            notes: list[str] = []
            if skip is None:
                select, notes = loader.select_list(columns, f.path, validate_tags=True)
                try:
                    con.execute(
                        f"COPY (SELECT {select} FROM {loader.reader_sql('csv', sql_string(f.path))}) "
                        f"TO {sql_string(str(tmp_parquet))} (FORMAT parquet, COMPRESSION zstd)"
                    )
                except duckdb.Error as exc:
                    raise loader.file_failure(f.path, exc) from None
            meta = {"version": VERSION, "source": f.path, "size": f.size, "mtime_ns": f.mtime_ns,
                    "skip": skip, "notes": notes}  # fmt: skip
            tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
            if skip is None:
                os.replace(tmp_parquet, self.folder / f"{stem}.parquet")
            os.replace(tmp_meta, self.folder / f"{stem}.json")
        except OSError as exc:
            raise ScopeFailure(
                "upstream",
                f"FOCUS CSV cache: cannot write to {self.folder} ({exc.strerror or exc}); set "
                "FINOPS_FOCUS_CACHE_DIR to a writable folder",
            ) from None
        finally:
            con.close()
            for tmp in (tmp_parquet, tmp_meta):
                with contextlib.suppress(OSError):
                    tmp.unlink()
        self._prune(source, stem)
        parquet = None if skip is not None else str(self.folder / f"{stem}.parquet")
        return CachedCsv(f, parquet, skip, tuple(notes))

    def _prune(self, source: str, keep: str) -> None:
        """Remove older versions of this source, and entries unused for MAX_AGE_DAYS."""
        cutoff = time.time() - MAX_AGE_DAYS * 86400
        with _LOCK:
            try:
                entries = list(self.folder.iterdir())
            except OSError:
                return
            for p in entries:
                stem = p.name.split(".", 1)[0]
                if not stem or stem == keep:
                    continue
                try:
                    old = stem.startswith(source + "-") or p.stat().st_mtime < cutoff
                    if old:
                        p.unlink()
                except OSError:
                    continue
