"""finops_mcp.reports.drivers: where a change happens, kinds, ranking, explained share, volume/rate."""

from __future__ import annotations

from decimal import Decimal

import pytest

from finops_mcp.reports.drivers import (
    Level,
    Usage,
    deeper_candidates,
    explain,
    level_of,
    split_effects,
    total,
)

D = Decimal


def series(
    dims: tuple[str, ...], cur: dict[tuple[str, ...], Usage], prev: dict[tuple[str, ...], Usage]
) -> Level:
    return level_of(
        dims,
        [("focus", "focus:x", "USD", k, u) for k, u in cur.items()],
        [("focus", "focus:x", "USD", k, u) for k, u in prev.items()],
    )


def test_kinds_ranking_and_amounts() -> None:
    parents = series(
        ("service",),
        {("A",): Usage(D(100)), ("B",): Usage(D(50)), ("D",): Usage(D(300))},
        {("A",): Usage(D(100)), ("C",): Usage(D(80)), ("D",): Usage(D(330)), ("B",): Usage(D(20))},
    )
    out = explain(parents, currency="USD")
    got = [(d.key, d.kind, d.previous_cost, d.cost, d.change) for d in out.drivers]
    assert got == [
        ("C", "gone", D(80), D(0), D(-80)),
        ("B", "up", D(20), D(50), D(30)),
        ("D", "down", D(330), D(300), D(-30)),
    ]  # A did not move: not a driver; ties ordered by key
    assert out.drivers[0].change_pct == -100.0
    assert out.drivers[1].change_pct == 150.0
    assert out.explained_pct == 100.0
    assert all(d.dimension == "service" and d.within == {} for d in out.drivers)


def test_new_series_has_no_percentage_and_limit_bounds_the_list() -> None:
    cur = {(f"S{i}",): Usage(D(i + 1)) for i in range(30)}
    out = explain(series(("service",), cur, {}), currency="USD", limit=5)
    assert [d.key for d in out.drivers] == ["S29", "S28", "S27", "S26", "S25"]
    assert all(d.kind == "new" and d.change_pct is None for d in out.drivers)
    gross = sum(range(1, 31))
    assert out.explained_pct == pytest.approx((30 + 29 + 28 + 27 + 26) / gross * 100)
    assert out.atoms == 30


def test_concentrated_change_is_named_one_level_deeper() -> None:
    parents = series(("service",), {("EC2",): Usage(D(160))}, {("EC2",): Usage(D(100))})
    children = series(
        ("service", "resource"),
        {("EC2", "i-1"): Usage(D(50)), ("EC2", "i-2"): Usage(D(50)), ("EC2", "i-3"): Usage(D(60))},
        {("EC2", "i-1"): Usage(D(50)), ("EC2", "i-2"): Usage(D(50))},
    )
    out = explain(parents, [children], currency="USD")
    [driver] = out.drivers
    assert (driver.dimension, driver.key, driver.within, driver.kind) == (
        "resource",
        "i-3",
        {"service": "EC2"},
        "new",
    )
    assert driver.change == D(60)


def test_offsetting_children_are_named_even_when_the_parent_barely_moves() -> None:
    parents = series(("service",), {("S3",): Usage(D(105))}, {("S3",): Usage(D(100))})
    children = series(
        ("service", "region"),
        {("S3", "eu"): Usage(D(105))},
        {("S3", "us"): Usage(D(100))},
    )
    out = explain(parents, [children], currency="USD")
    assert [(d.key, d.kind) for d in out.drivers] == [("eu", "new"), ("us", "gone")]


def test_spread_change_and_single_child_stay_at_the_requested_level() -> None:
    parents = series(
        ("service",),
        {("RDS",): Usage(D(120)), ("Lambda",): Usage(D(40))},
        {("RDS",): Usage(D(100)), ("Lambda",): Usage(D(10))},
    )
    children = series(
        ("service", "resource"),
        {("RDS", f"db{i}"): Usage(D(30)) for i in range(4)} | {("Lambda", "fn"): Usage(D(40))},
        {("RDS", f"db{i}"): Usage(D(25)) for i in range(4)} | {("Lambda", "fn"): Usage(D(10))},
    )
    out = explain(parents, [children], currency="USD")
    assert [(d.dimension, d.key) for d in out.drivers] == [("service", "Lambda"), ("service", "RDS")]


def test_new_parent_is_named_itself_not_its_children() -> None:
    parents = series(("service",), {("New",): Usage(D(90))}, {})
    children = series(("service", "resource"), {("New", "a"): Usage(D(60)), ("New", "b"): Usage(D(30))}, {})
    [driver] = explain(parents, [children], currency="USD").drivers
    assert (driver.dimension, driver.key, driver.kind) == ("service", "New", "new")


def test_rate_change_at_equal_volume_is_all_rate() -> None:
    parents = series(
        ("service",),
        {("Storage",): Usage(D(150), D(1000), "GB-Mo")},
        {("Storage",): Usage(D(100), D(1000), "GB-Mo")},
    )
    [driver] = explain(parents, currency="USD").drivers
    assert driver.volume_effect == D(0)
    assert driver.rate_effect == D(50)
    assert (driver.usage_unit, driver.previous_quantity, driver.quantity) == ("GB-Mo", D(1000), D(1000))


def test_volume_and_rate_add_up_to_the_change() -> None:
    prev, cur = Usage(D(100), D(50), "h"), Usage(D(180), D(60), "h")
    split = split_effects(prev, cur)
    assert split is not None
    volume, rate = split
    assert volume == D(20)  # 10 more hours at 2.00
    assert rate == D(60)  # 60 hours at +1.00
    assert volume + rate == cur.cost - prev.cost


@pytest.mark.parametrize(
    ("prev", "cur"),
    [
        (Usage(D(1), D(1), "h"), Usage(D(2), D(1), "GB")),  # units differ
        (Usage(D(1)), Usage(D(2), D(1), "h")),  # quantity unknown on one side
        (Usage(D(1), D(0), "h"), Usage(D(2), D(1), "h")),  # no previous rate
        (None, Usage(D(2), D(1), "h")),  # new
    ],
)
def test_no_split_without_comparable_quantities(prev: Usage | None, cur: Usage) -> None:
    assert split_effects(prev, cur) is None


def test_sums_keep_quantity_only_in_one_unit() -> None:
    assert total([Usage(D(1), D(2), "h"), Usage(D(3), D(4), "h")]) == Usage(D(4), D(6), "h")
    assert total([Usage(D(1), D(2), "h"), Usage(D(3), D(4), "GB")]) == Usage(D(4))
    assert total([Usage(D(1), D(2), "h"), Usage(D(3))]) == Usage(D(4))
    assert total([]) is None


def test_currencies_are_never_mixed() -> None:
    level = level_of(
        ("service",),
        [("aws", "aws:1", "USD", ("A",), Usage(D(10))), ("azure", "azure:s", "EUR", ("A",), Usage(D(999)))],
        [],
    )
    out = explain(level, currency="USD")
    assert [(d.provider, d.currency) for d in out.drivers] == [("aws", "USD")]
    assert out.explained_pct == 100.0


def test_no_movement_means_no_drivers_and_no_share() -> None:
    level = series(("service",), {("A",): Usage(D(5))}, {("A",): Usage(D(5))})
    out = explain(level, currency="USD")
    assert out.drivers == [] and out.explained_pct is None


def test_two_dimension_rows_name_the_last_dimension_within_the_first() -> None:
    level = series(("service", "region"), {("EC2", "eu"): Usage(D(7))}, {("EC2", "eu"): Usage(D(2))})
    [driver] = explain(level, currency="USD").drivers
    assert (driver.dimension, driver.key, driver.within) == ("region", "eu", {"service": "EC2"})


def test_children_must_extend_the_parent_grouping() -> None:
    with pytest.raises(ValueError, match="do not extend"):
        explain(series(("service",), {}, {}), [series(("account", "resource"), {}, {})], currency="USD")


def test_deeper_candidates() -> None:
    assert deeper_candidates(["service"]) == ("resource", "region", "account")
    assert deeper_candidates(["account"]) == ("service",)
    assert deeper_candidates(["tag:team"]) == ("service",)
    assert deeper_candidates(["resource"]) == ()
    assert deeper_candidates(["service", "region"]) == ()


def test_scopes_broken_down_by_different_dimensions() -> None:
    parents = level_of(
        ("service",),
        [
            ("aws", "aws:1", "USD", ("EC2",), Usage(D(200))),
            ("focus", "focus:x", "USD", ("VM",), Usage(D(50))),
        ],
        [
            ("aws", "aws:1", "USD", ("EC2",), Usage(D(100))),
            ("focus", "focus:x", "USD", ("VM",), Usage(D(20))),
        ],
    )
    by_region = level_of(
        ("service", "region"),
        [
            ("aws", "aws:1", "USD", ("EC2", "us-east-1"), Usage(D(190))),
            ("aws", "aws:1", "USD", ("EC2", "eu-west-1"), Usage(D(10))),
        ],
        [
            ("aws", "aws:1", "USD", ("EC2", "us-east-1"), Usage(D(90))),
            ("aws", "aws:1", "USD", ("EC2", "eu-west-1"), Usage(D(10))),
        ],
    )
    by_resource = level_of(
        ("service", "resource"),
        [
            ("focus", "focus:x", "USD", ("VM", "vm-1"), Usage(D(40))),
            ("focus", "focus:x", "USD", ("VM", "vm-2"), Usage(D(10))),
        ],
        [
            ("focus", "focus:x", "USD", ("VM", "vm-1"), Usage(D(10))),
            ("focus", "focus:x", "USD", ("VM", "vm-2"), Usage(D(10))),
        ],
    )
    out = explain(parents, [by_region, by_resource], currency="USD")
    assert [(d.provider, d.dimension, d.key) for d in out.drivers] == [
        ("aws", "region", "us-east-1"),
        ("focus", "resource", "vm-1"),
    ]


def test_two_children_moving_alike_are_spread_and_exact_offsets_are_split() -> None:
    parents = series(
        ("service",),
        {("S3",): Usage(D(68)), ("Net",): Usage(D(100))},
        {("S3",): Usage(D(40)), ("Net",): Usage(D(100))},
    )
    children = series(
        ("service", "region"),
        {("S3", "a"): Usage(D(34)), ("S3", "b"): Usage(D(34)), ("Net", "eu"): Usage(D(100))},
        {("S3", "a"): Usage(D(20)), ("S3", "b"): Usage(D(20)), ("Net", "us"): Usage(D(100))},
    )
    out = explain(parents, [children], currency="USD")
    assert [(d.dimension, d.key, d.kind) for d in out.drivers] == [
        ("region", "eu", "new"),
        ("region", "us", "gone"),
        ("service", "S3", "up"),
    ]
