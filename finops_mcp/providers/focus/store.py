"""Lazy, thread-safe cache of FOCUS dataset views that rebuilds a view when its files change.

Nothing is read until a dataset is first used. On every use the dataset's globs are expanded and
the files stat'ed (cheap); when the set of files or any size/mtime differs from what the view was
built over, a new view is built on a fresh database and swapped in (files already described, and
CSV files already converted, are not read again). Calls still running on the old
database keep it alive until they finish (DuckDB frees it with its last cursor). One lock per
dataset: concurrent first calls wait for a single load. A load that failed is not retried until
the files change (the same failure is raised again).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from finops_mcp.engine.context import CallContext
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.csvcache import CsvCache
from finops_mcp.providers.focus.datasets import DatasetSpec, FileSet, FileStat, dataset_roots, resolve_files
from finops_mcp.providers.focus.loader import Columns, LoadedDataset, load_dataset


class DatasetStore:
    def __init__(self, specs: Mapping[str, DatasetSpec], csv_cache: CsvCache | None = None) -> None:
        self._specs = dict(specs)
        self._csv_cache = csv_cache or CsvCache(None)
        self._described: dict[FileStat, Columns] = {}
        self._loaded: dict[str, LoadedDataset] = {}
        self._failed: dict[str, tuple[tuple[FileStat, ...], ScopeFailure]] = {}
        self._locks = {name: threading.Lock() for name in self._specs}

    def names(self) -> list[str]:
        return list(self._specs)

    def spec(self, name: str) -> DatasetSpec:
        spec = self._specs.get(name)
        if spec is None:
            known = ", ".join(f"focus:{n}" for n in self._specs) or "none (FINOPS_FOCUS_PATHS is empty)"
            raise ScopeFailure("not_found", f"no FOCUS dataset named {name!r}; configured: {known}")
        return spec

    def files(self, name: str) -> FileSet:
        return resolve_files(self.spec(name))

    def get(self, name: str, ctx: CallContext | None = None) -> LoadedDataset:
        """The dataset, loaded from its current files (loading or reloading it if needed)."""
        fileset = self.files(name)
        lock = self._locks[name]
        while not lock.acquire(timeout=0.1):  # another call is loading it: wait, unless cancelled
            if ctx is not None:
                ctx.raise_if_cancelled()
        try:
            return self._current(name, fileset, ctx)
        finally:
            lock.release()

    def _current(self, name: str, fileset: FileSet, ctx: CallContext | None) -> LoadedDataset:
        """Under the dataset's lock: the loaded dataset if its files are unchanged, else a fresh load."""
        current = self._loaded.get(name)
        if current is not None and current.signature == fileset.signature:
            return current
        failed = self._failed.get(name)
        if failed is not None and failed[0] == fileset.signature:
            raise ScopeFailure(failed[1].code, failed[1].message)
        try:
            loaded = load_dataset(
                name,
                fileset,
                dataset_roots(self.spec(name)),
                self._csv_cache,
                ctx.raise_if_cancelled if ctx is not None else None,
                self._described,
            )
        except ScopeFailure as exc:
            self._failed[name] = (fileset.signature, exc)
            raise
        self._failed.pop(name, None)
        # The old database (if any) is dropped, not closed: running calls may still use it.
        self._loaded[name] = loaded
        return loaded

    def peek(self, name: str) -> LoadedDataset | None:
        """The dataset as last loaded, without touching any file."""
        return self._loaded.get(name)

    def close(self) -> None:
        for name in list(self._loaded):
            with self._locks[name]:
                loaded = self._loaded.pop(name, None)
            if loaded is not None:
                loaded.close()
