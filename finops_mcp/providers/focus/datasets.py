"""Which files make up which FOCUS dataset.

`FINOPS_FOCUS_PATHS` is a list of entries, each `glob` or `name=glob`:

- Entries with the same name form one dataset (its files are the union of their matches).
- An unnamed entry's dataset name comes from the glob: the last directory before the first
  wildcard (`/data/exports/aws/**/*.parquet` -> `aws`). A path without wildcards that ends in a
  data suffix is a single file and is named after its parent directory
  (`/data/exports/focus.csv` -> `exports`); any other path without wildcards is a directory and
  means every data file below it (`/data/exports/azure` -> `azure`, `/data/exports/azure/**/*`).
  Hive-style `key=value` folders are passed over when naming
  (`/exports/cur/BILLING_PERIOD=2026-10/*.parquet` -> `cur`).
- `name=` is recognized only when the text before the first `=` looks like a name (letters,
  digits, `_ . - @` and spaces, no `/`), so Hive-style folders such as
  `/exports/BILLING_PERIOD=2026-10/*.parquet` are read as plain globs. A relative glob starting
  with such a folder needs an explicit name: `aws=BILLING_PERIOD=*/*.parquet`.
- Names are cleaned to what a scope id allows (`focus:<name>`); characters outside
  `[A-Za-z0-9_.@ -]` become `-`.

A warehouse table instead of files: `bigquery://PROJECT/DATASET/TABLE`,
`athena://CATALOG/DATABASE/TABLE?workgroup=...&output=s3://...`, `snowflake://ACCOUNT/DB/SCHEMA/TABLE`
(see `warehouse.dataset`); unnamed, it is named after the table. Such a dataset is that one table.

Globs support `**` (any depth). Data files are `.parquet`, `.csv` and `.csv.gz` (case-insensitive),
mixed freely; other files a glob matches (manifests, JSON...) are listed as ignored.

Safety (the DuckDB lock allows only these locations, see `loader`): a glob with a `..` segment is
refused, and so is one whose fixed part (the folders before the first wildcard) is or passes through
a symlink (the error names the real path to configure instead). A matched file that is a symlink
resolving outside its glob's fixed folder is skipped and noted, never read.

Hive-style partitions: a folder `billing_period=2026-09` / `BillingPeriodStart=2026-09-01...` (any
case; `BILLING_PERIOD`, `billingperiod`) gives the file a billing month (`FileStat.billing_month`),
which lets queries skip the files of months they do not ask for.
"""

from __future__ import annotations

import glob as globlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus import storage

FileKind = Literal["parquet", "csv"]

_WILDCARD = re.compile(r"[*?\[]")
_NAME_PREFIX = re.compile(r"^\s*([\w.@ \-]+?)\s*=(.+)$")
_NAME_CLEAN = re.compile(r"[^\w.@ \-]")
DATA_SUFFIXES: tuple[str, ...] = (".parquet", ".csv", ".csv.gz")
DEFAULT_NAME = "focus"
_HIVE_PERIOD = re.compile(
    r"^(?:billing_?period(?:_?start)?)=(\d{4})-?(\d{2})(?:[-\d]*)?(?:[T ].*)?$", re.IGNORECASE
)


def billing_month(path: str) -> date | None:
    """The first day of the billing month a Hive-style folder in `path` names, or None."""
    for part in reversed(path.replace("\\", "/").split("/")[:-1]):
        match = _HIVE_PERIOD.match(part)
        if match:
            year, month = int(match.group(1)), int(match.group(2))
            if 1 <= month <= 12:
                return date(year, month, 1)
    return None


def file_kind(path: str) -> FileKind | None:
    """`parquet` or `csv` (plain or gzipped) from the file name, or None for other files."""
    lower = path.lower()
    if lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith(".csv") or lower.endswith(".csv.gz"):
        return "csv"
    return None


def clean_name(name: str) -> str:
    cleaned = _NAME_CLEAN.sub("-", name.strip()).strip()
    return cleaned[:200] or DEFAULT_NAME


TABLE_SCHEMES = ("bigquery", "athena", "snowflake")


def is_table_url(entry: str) -> bool:
    """A warehouse table (`bigquery://...`, `athena://...`, `snowflake://...`), not files."""
    scheme, sep, _rest = entry.strip().partition("://")
    return bool(sep) and scheme.lower() in TABLE_SCHEMES


def dataset_name_for(pattern: str) -> str:
    """The dataset name an unnamed entry gets (see the module docstring)."""
    if is_table_url(pattern):  # the table's name
        return clean_name(pattern.strip().split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1])
    path = os.path.expanduser(pattern.strip()).replace("\\", "/").rstrip("/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    wild = next((i for i, part in enumerate(parts) if _WILDCARD.search(part)), None)
    if wild is not None:
        folders = parts[:wild]
    elif file_kind(path) is not None:
        folders = parts[:-1]
    else:
        folders = parts
    folders = [p for p in folders if p != ".." and "=" not in p]  # skip Hive-style key=value folders
    return clean_name(folders[-1]) if folders else DEFAULT_NAME


@dataclass(frozen=True)
class DatasetSpec:
    """A named dataset and the globs (as configured) whose files make it up."""

    name: str
    globs: tuple[str, ...]


def parse_focus_paths(entries: Sequence[str]) -> dict[str, DatasetSpec]:
    """`FINOPS_FOCUS_PATHS` entries -> datasets by name, in first-seen order. Touches no file."""
    grouped: dict[str, list[str]] = {}
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        match = _NAME_PREFIX.match(entry)
        if match and match.group(2).strip():
            name, pattern = clean_name(match.group(1)), match.group(2).strip()
        else:
            name, pattern = dataset_name_for(entry), entry
        patterns = grouped.setdefault(name, [])
        if pattern not in patterns:
            patterns.append(pattern)
    return {name: DatasetSpec(name, tuple(patterns)) for name, patterns in grouped.items()}


@dataclass(frozen=True)
class FileStat:
    """One data file and what says whether it changed."""

    path: str
    kind: FileKind
    size: int
    mtime_ns: int
    billing_month: date | None = None  # from a Hive-style billing period folder, if any


@dataclass(frozen=True)
class FileSet:
    """The files a dataset's globs match right now."""

    files: tuple[FileStat, ...]
    ignored: tuple[str, ...] = ()  # matched, but not .parquet/.csv/.csv.gz
    empty_globs: tuple[str, ...] = ()  # globs that matched no data file (others did)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def signature(self) -> tuple[FileStat, ...]:
        return self.files


def _expand(pattern: str) -> str:
    path = os.path.expanduser(pattern)
    if not _WILDCARD.search(path) and os.path.isdir(path):
        return os.path.join(path, "**", "*")
    return path


@dataclass(frozen=True)
class Root:
    """The fixed part of a configured glob: the one folder (or file) the lock allows for it."""

    path: str  # absolute, no symlink on the way
    is_dir: bool

    def contains(self, real: str) -> bool:
        if not self.is_dir:
            return real == self.path
        sep = "/" if storage.is_url(self.path) else os.sep
        return real.startswith(self.path.rstrip(sep) + sep)


def _url_root(pattern: str) -> Root:
    url = storage.parse_url(pattern)
    parts = url.key.split("/")
    wild = next((i for i, part in enumerate(parts) if _WILDCARD.search(part)), None)
    if wild is None and file_kind(url.key) is not None:
        return Root(url.text, False)
    fixed = "/".join(parts[:wild] if wild is not None else parts).strip("/")
    return Root(f"{url.scheme}://{url.bucket}/{fixed}".rstrip("/") + "/", True)


def glob_root(name: str, pattern: str) -> Root:
    """The glob's fixed folder (or file), checked: no `..` segment, no symlink on the way."""
    path = os.path.abspath(os.path.expanduser(pattern)) if not _has_dotdot(pattern) else None
    if path is not None and storage.is_url(pattern):
        return _url_root(pattern)
    if path is None:
        raise ScopeFailure(
            "not_configured",
            f"FOCUS dataset {name!r}: FINOPS_FOCUS_PATHS entry {pattern!r} has a '..' segment; "
            "give the folder's absolute path instead",
        )
    parts = path.split(os.sep)
    wild = next((i for i, part in enumerate(parts) if _WILDCARD.search(part)), None)
    fixed = os.sep.join(parts[:wild]) if wild is not None else path
    fixed = fixed or os.sep
    real = os.path.realpath(fixed)
    if real != fixed:
        raise ScopeFailure(
            "not_configured",
            f"FOCUS dataset {name!r}: FINOPS_FOCUS_PATHS entry {pattern!r} goes through a symlink "
            f"({fixed} is {real}); configure the real path {real} instead",
        )
    is_dir = wild is not None or os.path.isdir(fixed)
    return Root(fixed, is_dir)


def _has_dotdot(pattern: str) -> bool:
    return ".." in pattern.replace("\\", "/").split("/")


def dataset_roots(spec: DatasetSpec) -> tuple[Root, ...]:
    """The checked roots of every glob of the dataset (see `glob_root`)."""
    return tuple(dict.fromkeys(glob_root(spec.name, g) for g in spec.globs))


def resolve_files(spec: DatasetSpec) -> FileSet:
    """Glob and stat the dataset's files. Raises `ScopeFailure('not_configured')` when none match."""
    seen: dict[str, FileStat] = {}
    ignored: list[str] = []
    empty: list[str] = []
    escapes: list[str] = []
    for pattern in spec.globs:
        root = glob_root(spec.name, pattern)
        if storage.is_url(pattern):
            found = _resolve_remote(pattern, root, seen, ignored)
            if not found:
                empty.append(pattern)
            continue
        found = 0
        for path in sorted(globlib.glob(_expand(pattern), recursive=True)):
            if not os.path.isfile(path):
                continue
            kind = file_kind(path)
            if kind is None:
                ignored.append(path)
                continue
            real = os.path.realpath(path)
            if not root.contains(real):
                escapes.append(path)
                continue
            found += 1
            if real in seen:
                continue
            try:
                st = os.stat(real)
            except OSError as exc:
                raise ScopeFailure(
                    "upstream", f"cannot read FOCUS file {path}: {exc.strerror or exc}"
                ) from None
            seen[real] = FileStat(real, kind, st.st_size, st.st_mtime_ns, billing_month(path))
        if not found:
            empty.append(pattern)
    superseded = apply_manifests(seen, ignored)
    if not seen:
        globs = ", ".join(repr(g) for g in spec.globs)
        extra = f" ({len(ignored)} other file(s) matched, none .parquet/.csv/.csv.gz)" if ignored else ""
        raise ScopeFailure(
            "not_configured",
            f"FOCUS dataset {spec.name!r}: FINOPS_FOCUS_PATHS glob {globs} matches no .parquet, .csv or "
            f".csv.gz file{extra}; check the path (globs support **, e.g. /data/exports/aws/**/*.parquet)",
        )
    notes = tuple(
        f"FOCUS dataset {spec.name!r}: FINOPS_FOCUS_PATHS glob {g!r} matches no data file" for g in empty
    )
    if superseded:
        more = f" and {len(superseded) - 5} more" if len(superseded) > 5 else ""
        shown = ", ".join(superseded[:5]) + more
        notes += (
            f"FOCUS dataset {spec.name!r}: {len(superseded)} data file(s) not listed by the export's "
            f"manifest for their billing period are left out (superseded runs): {shown}",
        )
    if escapes:
        shown = ", ".join(escapes[:5]) + (f" and {len(escapes) - 5} more" if len(escapes) > 5 else "")
        notes += (
            f"FOCUS dataset {spec.name!r}: skipped {len(escapes)} symlink(s) pointing outside the "
            f"configured folder: {shown}",
        )
    return FileSet(tuple(sorted(seen.values(), key=lambda f: f.path)), tuple(ignored), tuple(empty), notes)


def _resolve_remote(pattern: str, root: Root, seen: dict[str, FileStat], ignored: list[str]) -> int:
    found = 0
    for obj in storage.glob(storage.parse_url(pattern)):
        kind = file_kind(obj.url)
        if kind is None:
            ignored.append(obj.url)
            continue
        if not root.contains(obj.url) and obj.url != root.path:
            continue
        found += 1
        seen.setdefault(obj.url, FileStat(obj.url, kind, obj.size, obj.version, billing_month(obj.url)))
    return found


def _tail(path: str, n: int = 2) -> tuple[str, ...]:
    return tuple(path.replace("\\", "/").rstrip("/").split("/")[-n:])


def apply_manifests(seen: dict[str, FileStat], ignored: Sequence[str]) -> list[str]:
    """AWS Data Exports: where an export's manifest (`...Manifest.json` with `dataFiles`) covers a
    billing period, only the data files it lists count for that period (a glob would double-count
    superseded runs and empty overwrite chunks). A listed file matches on its last two path parts
    (`BILLING_PERIOD=2026-09/export-00001.snappy.parquet`), so a local copy of the bucket works too.
    Removes the others from `seen`; returns them."""
    listed: dict[date, set[tuple[str, ...]]] = {}
    for path in ignored:
        if not path.lower().endswith("manifest.json"):
            continue
        try:
            data = json.loads(storage.read_text(path))
        except (OSError, ValueError, ScopeFailure):
            continue
        files = data.get("dataFiles") if isinstance(data, dict) else None
        month = billing_month(path)
        if not isinstance(files, list) or month is None:
            continue
        listed.setdefault(month, set()).update(_tail(str(f)) for f in files)
    dropped = []
    for key, f in list(seen.items()):
        names = listed.get(f.billing_month) if f.billing_month else None
        if names is not None and _tail(f.path) not in names:
            dropped.append(f.path)
            del seen[key]
    return dropped
