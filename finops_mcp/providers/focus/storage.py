"""FOCUS exports in object storage: `s3://`, `az://` / `abfs://` / `abfss://` and `gs://` locations.

Exports are listed and read through fsspec filesystems (s3fs, adlfs, gcsfs: the `storage` extra),
registered on a DuckDB connection before its lock (`con.register_filesystem`); DuckDB then reads
Parquet byte ranges through them, so nothing is downloaded whole first. This works on every DuckDB
version (the httpfs / azure extensions are not on PyPI for DuckDB 2.x, FIELD-NOTES), and the lock's
allow-list (`s3://bucket/prefix/`) refuses other buckets, other prefixes and `..`.

Credentials and endpoints, each cloud's standard chain:

- `s3://bucket/prefix/...`: botocore's chain (AWS_PROFILE, AWS_ACCESS_KEY_ID..., SSO, instance
  roles); endpoint `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL` (emulators, private endpoints).
- `az://container/prefix/...`, `abfs[s]://container@ACCOUNT.dfs.core.windows.net/prefix/...`:
  `AZURE_STORAGE_CONNECTION_STRING` if set, else the account (`ACCOUNT` in the URL, or
  `AZURE_STORAGE_ACCOUNT_NAME`) with `AZURE_STORAGE_ACCOUNT_KEY` / `AZURE_STORAGE_SAS_TOKEN`, else
  `DefaultAzureCredential` (workload identity, managed identity, Azure CLI).
- `gs://bucket/prefix/...`: Application Default Credentials; `STORAGE_EMULATOR_HOST` points at an
  emulator (anonymous then).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from finops_mcp.errors import ScopeFailure

_URL = re.compile(r"^(s3|az|abfs|abfss|gs|gcs)://([^/]+)(/.*)?$", re.IGNORECASE)
_CANONICAL = {"s3": "s3", "az": "az", "abfs": "az", "abfss": "az", "gs": "gs", "gcs": "gs"}
_EXTRA = "pip install 'finops-mcp-server[storage]'"
_LOCK = threading.Lock()
_FILESYSTEMS: dict[tuple[str, ...], Any] = {}
# what a filesystem is made from besides the URL: a change makes a new one
_ENV = (
    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_PROFILE", "STORAGE_EMULATOR_HOST",
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME",
)  # fmt: skip


_ALIASES = {"s3": ("s3", "s3a"), "az": ("az", "abfs", "abfss"), "gs": ("gs", "gcs")}


def aliases(location: str) -> list[str]:
    """The location under every scheme its filesystem answers to (DuckDB may name a file by any)."""
    url = parse_url(location)
    rest = location.split("://", 1)[1]
    if url.account:  # abfss://container@account.dfs.core.windows.net/key -> container/key
        rest = f"{url.bucket}/{url.key}"
    return [f"{scheme}://{rest}" for scheme in _ALIASES[url.scheme]]


def is_url(pattern: str) -> bool:
    return bool(_URL.match(pattern.strip()))


@dataclass(frozen=True)
class Url:
    """An object-storage location: scheme (s3 | az | gs), bucket / container, key (no leading '/')."""

    scheme: str
    bucket: str
    key: str
    account: str | None = None  # abfss://container@ACCOUNT.dfs.core.windows.net

    @property
    def text(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"


def parse_url(pattern: str) -> Url:
    match = _URL.match(pattern.strip())
    if match is None:
        raise ValueError(pattern)
    scheme = _CANONICAL[match.group(1).lower()]
    bucket, account = match.group(2), None
    if scheme == "az" and "@" in bucket:
        bucket, host = bucket.split("@", 1)
        account = host.split(".", 1)[0]
    return Url(scheme, bucket, (match.group(3) or "/").lstrip("/"), account)


def filesystem(url: Url) -> Any:
    """The fsspec filesystem for the URL's cloud (one per cloud and account, reused)."""
    env = tuple(os.environ.get(v, "") for v in _ENV)
    key = (url.scheme, url.account or "", *env)
    with _LOCK:
        fs = _FILESYSTEMS.get(key)
        if fs is None:
            fs = _FILESYSTEMS[key] = _make(url)
        return fs


def _make(url: Url) -> Any:
    try:
        if url.scheme == "s3":
            import s3fs

            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            return s3fs.S3FileSystem(endpoint_url=endpoint or None)
        if url.scheme == "az":
            import adlfs

            return _azure(adlfs, url)
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")  # else 60 s per bucket
        import gcsfs

        emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        if emulator:
            return gcsfs.GCSFileSystem(endpoint_url=emulator, token="anon")
        return gcsfs.GCSFileSystem()
    except ImportError:
        raise ScopeFailure(
            "not_configured",
            f"reading FOCUS exports from {url.scheme}:// needs the storage extra: {_EXTRA}",
        ) from None


def _azure(adlfs: Any, url: Url) -> Any:
    conn = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    if conn and not url.account:
        return adlfs.AzureBlobFileSystem(connection_string=conn)
    account = url.account or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
    if not account:
        raise ScopeFailure(
            "not_configured",
            f"FOCUS location {url.text}: no storage account; set AZURE_STORAGE_ACCOUNT_NAME (or "
            "AZURE_STORAGE_CONNECTION_STRING), or use abfss://container@ACCOUNT.dfs.core.windows.net/...",
        )
    key = os.environ.get("AZURE_STORAGE_ACCOUNT_KEY")
    sas = os.environ.get("AZURE_STORAGE_SAS_TOKEN")
    if key or sas:
        return adlfs.AzureBlobFileSystem(account_name=account, account_key=key, sas_token=sas)
    from azure.identity import DefaultAzureCredential

    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    return adlfs.AzureBlobFileSystem(account_name=account, credential=credential)


@dataclass(frozen=True)
class RemoteFile:
    url: str  # scheme://bucket/key, as DuckDB reads it
    size: int
    version: int  # changes when the object changes (last-modified, ns)


def _version(info: dict[str, Any]) -> int:
    for key in ("LastModified", "last_modified", "updated", "mtime"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        if isinstance(value, (int, float)):
            return int(value * 1e9)
        try:
            from datetime import datetime

            return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            continue
    etag = str(info.get("ETag") or info.get("etag") or "")
    return int(hashlib.sha256(etag.encode()).hexdigest()[:15], 16)


def glob(url: Url) -> list[RemoteFile]:
    """The objects the URL's pattern matches (a prefix without wildcards: every object below it)."""
    fs = filesystem(url)
    path = f"{url.bucket}/{url.key}"
    if not re.search(r"[*?\[]", url.key):
        path = path.rstrip("/") + "/**"
    try:
        fs.invalidate_cache()  # listings must be fresh: a new or changed file is seen at the next call
        found = fs.glob(path, detail=True)
    except FileNotFoundError:
        return []
    except Exception as exc:  # the SDKs raise many kinds; the message names the location
        raise ScopeFailure(
            "upstream", f"cannot list FOCUS location {url.text}: {type(exc).__name__}: {exc}"[:400]
        ) from None
    files = []
    for name, info in sorted(found.items()):
        if info.get("type") == "directory":
            continue
        files.append(RemoteFile(f"{url.scheme}://{name}", int(info.get("size") or 0), _version(info)))
    return files


def read_text(url: str) -> str:
    """A small file's or object's text (an export manifest)."""
    if not is_url(url):
        with open(url, encoding="utf-8") as fh:
            return fh.read()
    target = parse_url(url)
    with filesystem(target).open(f"{target.bucket}/{target.key}", "rb") as fh:
        data: bytes = fh.read()
    return data.decode("utf-8")


_READ_ONLY: dict[type, type] = {}
_WRITES = ("rm", "rm_file", "mv", "cp_file", "put_file", "pipe_file", "touch", "mkdir", "makedirs")


def _refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise PermissionError("FOCUS object storage is read-only")


def read_only(fs: Any) -> Any:
    """The same filesystem (class, options, credentials) with every write refused: the lock alone lets
    `COPY ... TO` write inside an allowed prefix (FIELD-NOTES)."""
    base = type(fs)
    cls = _READ_ONLY.get(base)
    if cls is None:

        def open_read(self: Any, path: str, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
            if any(c in mode for c in "wax+"):
                raise PermissionError("FOCUS object storage is read-only")
            return base.open(self, path, mode, *args, **kwargs)

        members: dict[str, Any] = {name: _refuse for name in _WRITES}
        members["open"] = open_read
        cls = _READ_ONLY[base] = type(f"ReadOnly{base.__name__}", (base,), members)
    return cls(*fs.storage_args, **fs.storage_options)


def register(con: Any, urls: list[Url]) -> None:
    """Register the filesystems these locations need, read-only, on a DuckDB connection (before its
    lock)."""
    done: set[int] = set()
    for url in urls:
        fs = filesystem(url)
        if id(fs) not in done:
            con.register_filesystem(read_only(fs))
            done.add(id(fs))
