"""TTL cache of per-scope answers (cost, budgets). Thread-safe; TTL 0 disables it.

Keys are the normalized request that reached the provider plus the provider and scope, so two
requests that differ only in field order, in fields left at None, or in the order of a set's
members share an entry. List order is kept (it can matter, e.g. group_by): callers sort lists that
are really sets before building the request (as `providers.base.Filters.from_model` does). Only successful
answers are cached (a failed scope is asked again next time); `None` cannot be cached, since
`get` answers `None` for a miss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from cachetools import TTLCache

T = TypeVar("T")
_MISSING = object()


def cache_key(kind: str, provider: str, scope: str, request: Any) -> str:
    """A stable key: canonical JSON of the request (sorted keys, sets sorted, None fields dropped)
    hashed together with kind, provider and scope (so no separator in a scope id can collide)."""
    digest = hashlib.sha256(_canonical([kind, provider, scope, _normalize(request)]).encode()).hexdigest()
    return f"{kind}|{provider}|{scope}|{digest[:32]}"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _normalize(value: Any) -> Any:
    if isinstance(value, type):
        return repr(value)
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif dataclasses.is_dataclass(value):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_normalize(v) for v in value), key=_canonical)  # mixed types sort too
    return value


class ResultCache:
    """Up to `max_entries` answers, each kept `ttl_seconds` (0 or less: nothing is kept)."""

    def __init__(
        self, ttl_seconds: float, max_entries: int = 1024, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl_seconds
        self._lock = threading.Lock()
        self._cache: TTLCache[str, Any] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl_seconds, timer=timer) if ttl_seconds > 0 else None
        )

    @property
    def enabled(self) -> bool:
        return self._cache is not None

    def get(self, key: str) -> Any:
        """The cached value, or `None` when missing, expired or disabled."""
        if self._cache is None:
            return None
        with self._lock:
            value = self._cache.get(key, _MISSING)
        return None if value is _MISSING else value

    def put(self, key: str, value: Any) -> None:
        if self._cache is None:
            return
        with self._lock:
            self._cache[key] = value

    def __len__(self) -> int:
        """Entries held (expired ones may count until the next access purges them)."""
        if self._cache is None:
            return 0
        with self._lock:
            return len(self._cache)

    def clear(self) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.clear()
