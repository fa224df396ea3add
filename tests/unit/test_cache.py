"""TTL cache: key normalization, expiry with an injected clock, TTL 0, thread safety."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finops_mcp.engine.cache import ResultCache, cache_key
from finops_mcp.models import GetCostRequest
from finops_mcp.periods import Span


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Query:
    span: Span
    group_by: tuple[str, ...]
    services: frozenset[str] = frozenset()
    note: str | None = None


# ------------------------------------------------------------------------------ keys


def test_same_request_in_another_field_order_gives_the_same_key() -> None:
    a = {"period": "last_month", "group_by": ["service"], "granularity": "daily"}
    b = {"granularity": "daily", "group_by": ["service"], "period": "last_month"}
    assert cache_key("cost", "aws", "aws:1", a) == cache_key("cost", "aws", "aws:1", b)


def test_none_fields_do_not_change_the_key() -> None:
    a = {"period": "last_month", "filters": None, "nested": {"x": 1, "y": None}}
    b = {"period": "last_month", "nested": {"x": 1}}
    assert cache_key("cost", "aws", "aws:1", a) == cache_key("cost", "aws", "aws:1", b)


def test_pydantic_requests_with_explicit_defaults_share_a_key() -> None:
    a = GetCostRequest(period="last_month")
    b = GetCostRequest.model_validate(
        {"granularity": "total", "group_by": ["service"], "period": "last_month", "top_n": 20, "scopes": None}
    )
    assert cache_key("cost", "aws", "aws:1", a) == cache_key("cost", "aws", "aws:1", b)
    c = GetCostRequest(period="last_month", granularity="daily")
    assert cache_key("cost", "aws", "aws:1", a) != cache_key("cost", "aws", "aws:1", c)


def test_dataclass_requests_normalize_sets_dates_and_none() -> None:
    span = Span(date(2025, 1, 1), date(2025, 1, 31))
    a = Query(span, ("service",), frozenset({"EC2", "S3", "RDS"}))
    b = Query(span, ("service",), frozenset({"RDS", "EC2", "S3"}), note=None)
    assert cache_key("cost", "aws", "aws:1", a) == cache_key("cost", "aws", "aws:1", b)
    later = Query(Span(date(2025, 2, 1), date(2025, 2, 28)), ("service",), frozenset({"EC2", "S3", "RDS"}))
    assert cache_key("cost", "aws", "aws:1", a) != cache_key("cost", "aws", "aws:1", later)
    # a set with mixed member types still gets a key
    assert cache_key("x", "p", "s", {"v": {1, "a", (2, 3)}}) == cache_key(
        "x", "p", "s", {"v": {(2, 3), "a", 1}}
    )


def test_different_scope_provider_kind_or_values_give_different_keys() -> None:
    req = {"period": "last_month"}
    base = cache_key("cost", "aws", "aws:111111111111", req)
    assert base != cache_key("cost", "aws", "aws:222222222222", req)
    assert base != cache_key("cost", "focus", "aws:111111111111", req)
    assert base != cache_key("budgets", "aws", "aws:111111111111", req)
    assert base != cache_key("cost", "aws", "aws:111111111111", {"period": "month_to_date"})
    assert base != cache_key("cost", "aws", "aws:111111111111", {"period": "last_month", "x": 1})


def test_value_types_are_not_confused() -> None:
    assert cache_key("k", "p", "s", {"v": 1}) != cache_key("k", "p", "s", {"v": "1"})
    assert cache_key("k", "p", "s", {"v": True}) != cache_key("k", "p", "s", {"v": 1})
    assert cache_key("k", "p", "s", {"v": ["a", "b"]}) != cache_key("k", "p", "s", {"v": ["b", "a"]})
    assert cache_key("k", "p", "s", {"v": Decimal("1.5")}) == cache_key("k", "p", "s", {"v": Decimal("1.5")})


def test_separators_in_ids_cannot_collide() -> None:
    assert cache_key("cost", "a", "b|c", {}) != cache_key("cost", "a|b", "c", {})


def test_keys_are_stable_strings() -> None:
    key = cache_key("cost", "aws", "aws:1", {"period": "last_month"})
    assert key == cache_key("cost", "aws", "aws:1", {"period": "last_month"})
    assert key.startswith("cost|aws|aws:1|")


# ------------------------------------------------------------------------------ TTL


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = ResultCache(300, timer=clock)
    assert cache.enabled
    cache.put("k", {"rows": [1]})
    clock.now += 299
    assert cache.get("k") == {"rows": [1]}
    clock.now += 2
    assert cache.get("k") is None


def test_each_entry_has_its_own_clock() -> None:
    clock = Clock()
    cache = ResultCache(10, timer=clock)
    cache.put("a", 1)
    clock.now += 6
    cache.put("b", 2)
    clock.now += 6
    assert cache.get("a") is None
    assert cache.get("b") == 2


def test_put_again_refreshes_the_entry() -> None:
    clock = Clock()
    cache = ResultCache(10, timer=clock)
    cache.put("a", 1)
    clock.now += 8
    cache.put("a", 2)
    clock.now += 8
    assert cache.get("a") == 2


def test_ttl_zero_or_negative_disables_the_cache() -> None:
    for ttl in (0, -5):
        cache = ResultCache(ttl)
        assert not cache.enabled
        cache.put("k", "v")
        assert cache.get("k") is None
        assert len(cache) == 0
        cache.clear()


def test_missing_key_and_clear() -> None:
    cache = ResultCache(60)
    assert cache.get("nope") is None
    cache.put("k", [])
    assert cache.get("k") == []  # falsy values are still hits
    cache.clear()
    assert cache.get("k") is None


def test_max_entries_bounds_the_size() -> None:
    cache = ResultCache(60, max_entries=3)
    for i in range(10):
        cache.put(f"k{i}", i)
    assert len(cache) == 3
    assert cache.get("k9") == 9


# ------------------------------------------------------------------------------ threads


def test_concurrent_use_from_many_threads() -> None:
    cache = ResultCache(60, max_entries=64)
    errors: list[BaseException] = []
    barrier = threading.Barrier(32)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(400):
                own = f"t{n}-{i % 50}"
                cache.put(own, (n, i))
                got = cache.get(own)
                assert got is None or got[0] == n  # evicted, or ours: never another thread's value
                cache.put("shared", n)
                assert cache.get("shared") in (None, *range(32))
                if i % 97 == 0:
                    cache.clear()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert len(cache) <= 64
