"""TTL cache of per-scope answers (cost, budgets). Thread-safe; TTL 0 disables it.

Keys are the normalized request that reached the provider plus the provider and scope, so two
requests that differ only in field order, defaults or list order share an entry. Only successful
answers are cached: a failed scope is asked again next time.
"""

from __future__ import annotations

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
    """A stable key: canonical JSON of the request (sorted keys, sets sorted) plus provider/scope."""
    body = json.dumps(_normalize(request), sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(body.encode()).hexdigest()[:32]
    return f"{kind}|{provider}|{scope}|{digest}"


def _normalize(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif hasattr(value, "__dataclass_fields__"):
        value = {k: getattr(value, k) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_normalize(v) for v in value)
    return value


class ResultCache:
    def __init__(self, ttl_seconds: float, max_entries: int = 1024, timer: Callable[[], float] = time.monotonic):
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

    def clear(self) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache.clear()
