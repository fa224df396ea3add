"""Cost drivers: which changes explain the difference between two periods (pure, no I/O).

Input: each period's cost per series at the requested grouping (the report's rows before top-N
folding) and, where the data allows, at one dimension deeper (service -> resource, ...). A series
is (provider, scope, currency, key values); its `Usage` is the cost and, where known in one unit,
the usage quantity. Output: the drivers, ranked by absolute change, and the share of the movement
they account for.

Where a change happens:
- a series that is new (no cost before) or gone (no cost now) is named itself: every child moved
  with it, so the series is the level where it happens;
- otherwise, when the series has at least two children, it is replaced by them when they moved
  unlike each other: the residual, sum over children of |change - previous cost x the series' own
  growth rate|, is more than half of their gross movement (sum of absolute changes). That is the
  case for one new instance inside a steady service, for spend moving from one region to another,
  or for one account's bill changing because of several services; or when one child carries more
  than 80% of the gross movement (it is where the change happened, even if it also dominated
  before);
- otherwise (children moving alike, e.g. a price change on every bucket) the series is named.
The resulting "atoms" partition the movement; drivers are the largest atoms by |change|, and
`explained_pct` = 100 x sum(|change| of listed drivers) / sum(|change| of all atoms).

Volume / rate split (where both periods know the quantity in the same unit, both non-zero):
  volume_effect = (q1 - q0) x r0,  rate_effect = (r1 - r0) x q1,  with r = cost / quantity;
the two add up to the change exactly. New and gone series have no rate on one side: no split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from finops_mcp.models import CostDriver, DriverKind, tag_key

ZERO = Decimal(0)
MAX_DRIVERS = 10
HALF = Decimal("0.5")
MOSTLY = Decimal("0.8")

# (provider, scope, currency, key values in dimension order)
SeriesKey = tuple[str, str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Usage:
    """Cost of a series over a period, with its quantity when known in one unit."""

    cost: Decimal
    quantity: Decimal | None = None
    unit: str | None = None

    def __add__(self, other: Usage) -> Usage:
        if self.quantity is None or other.quantity is None or self.unit != other.unit:
            return Usage(self.cost + other.cost)
        return Usage(self.cost + other.cost, self.quantity + other.quantity, self.unit)


def total(parts: Iterable[Usage]) -> Usage | None:
    """The sum of `parts` (quantity kept only when every part has one, in one unit); None if empty."""
    out: Usage | None = None
    for part in parts:
        out = part if out is None else out + part
    return out


@dataclass(frozen=True)
class Level:
    """Both periods' usage per series at one grouping (`dims`)."""

    dims: tuple[str, ...]
    current: Mapping[SeriesKey, Usage]
    previous: Mapping[SeriesKey, Usage]


@dataclass(frozen=True)
class Explanation:
    drivers: list[CostDriver]
    explained_pct: float | None
    atoms: int  # series at the drivers' level that moved


@dataclass(frozen=True)
class _Move:
    key: SeriesKey
    dims: tuple[str, ...]
    previous: Usage | None
    current: Usage | None

    @property
    def cost(self) -> Decimal:
        return self.current.cost if self.current else ZERO

    @property
    def previous_cost(self) -> Decimal:
        return self.previous.cost if self.previous else ZERO

    @property
    def change(self) -> Decimal:
        return self.cost - self.previous_cost

    @property
    def kind(self) -> DriverKind:
        if self.previous_cost == 0:
            return "new"
        if self.cost == 0:
            return "gone"
        return "up" if self.change > 0 else "down"


def split_effects(previous: Usage | None, current: Usage | None) -> tuple[Decimal, Decimal] | None:
    """(volume_effect, rate_effect) of the change, or None when the quantities do not allow it."""
    if previous is None or current is None:
        return None
    q0, q1 = previous.quantity, current.quantity
    if q0 is None or q1 is None or not previous.unit or previous.unit != current.unit or q0 <= 0 or q1 <= 0:
        return None
    volume = (q1 - q0) * previous.cost / q0  # (q1 - q0) x r0, multiplied first: exact more often
    return volume, (current.cost - previous.cost) - volume  # == (r1 - r0) * q1, without rounding drift


def _moves(level: Level) -> list[_Move]:
    keys = set(level.current) | set(level.previous)
    return [_Move(k, level.dims, level.previous.get(k), level.current.get(k)) for k in sorted(keys)]


def _atoms(parents: Level, children: Sequence[Level]) -> list[_Move]:
    by_parent: dict[SeriesKey, list[_Move]] = defaultdict(list)
    for level in children:
        for move in _moves(level):
            p, s, c, values = move.key
            by_parent[(p, s, c, values[:-1])].append(move)
    atoms: list[_Move] = []
    for parent in _moves(parents):
        kids = by_parent.get(parent.key, [])
        if parent.kind in ("new", "gone") or len(kids) < 2:
            atoms.append(parent)
            continue
        gross = sum((abs(k.change) for k in kids), ZERO)
        growth = parent.change / parent.previous_cost
        residual = sum((abs(k.change - k.previous_cost * growth) for k in kids), ZERO)
        top = max(abs(k.change) for k in kids)
        if gross > 0 and (residual > gross * HALF or top > gross * MOSTLY):
            atoms.extend(kids)
        else:
            atoms.append(parent)
    return [a for a in atoms if a.change != 0]


def _driver(move: _Move) -> CostDriver:
    provider, scope, currency, values = move.key
    effects = split_effects(move.previous, move.current)
    unit = move.current.unit if move.current and move.current.quantity is not None else None
    unit = unit or (move.previous.unit if move.previous and move.previous.quantity is not None else None)
    return CostDriver(
        provider=provider,
        scope=scope,
        dimension=move.dims[-1],
        key=values[-1],
        within=dict(zip(move.dims[:-1], values[:-1], strict=True)),
        previous_cost=move.previous_cost,
        cost=move.cost,
        change=move.change,
        change_pct=float(move.change / abs(move.previous_cost) * 100) if move.previous_cost else None,
        kind=move.kind,
        currency=currency,
        usage_unit=unit if effects is not None else None,
        previous_quantity=move.previous.quantity if effects is not None and move.previous else None,
        quantity=move.current.quantity if effects is not None and move.current else None,
        volume_effect=effects[0] if effects else None,
        rate_effect=effects[1] if effects else None,
    )


def explain(
    parents: Level, children: Sequence[Level] = (), *, currency: str, limit: int = MAX_DRIVERS
) -> Explanation:
    """The drivers in `currency` (never mixing currencies), largest |change| first, at most `limit`.

    Each of `children` has `parents.dims` plus one dimension (scopes may be broken down by
    different dimensions, e.g. one provider by resource and another by region); child series whose
    parent is absent are ignored (they cannot be placed)."""
    for level in children:
        if level.dims[:-1] != parents.dims:
            raise ValueError(f"children dims {level.dims} do not extend {parents.dims}")
    atoms = _atoms(_in(parents, currency), [_in(level, currency) for level in children])
    atoms.sort(key=lambda a: (-abs(a.change), a.key))
    listed = atoms[:limit]
    gross = sum((abs(a.change) for a in atoms), ZERO)
    share = sum((abs(a.change) for a in listed), ZERO)
    return Explanation(
        drivers=[_driver(a) for a in listed],
        explained_pct=float(share / gross * 100) if gross else None,
        atoms=len(atoms),
    )


def _in(level: Level, currency: str) -> Level:
    return Level(
        level.dims,
        {k: v for k, v in level.current.items() if k[2] == currency},
        {k: v for k, v in level.previous.items() if k[2] == currency},
    )


# One dimension deeper, in order of preference: the first the provider can answer is used.
DEEPER: dict[str, tuple[str, ...]] = {
    "service": ("resource", "region", "account"),
    "account": ("service",),
    "region": ("service",),
    "charge_category": ("service",),
}


def deeper_candidates(group_by: Sequence[str]) -> tuple[str, ...]:
    """Dimensions that can break a one-dimension grouping down one level (none for two: the clouds
    group by at most two dimensions per query; none below resource)."""
    if len(group_by) != 1:
        return ()
    dim = group_by[0]
    return ("service",) if tag_key(dim) is not None else DEEPER.get(dim, ())


def level_of(
    dims: Sequence[str],
    current: Iterable[tuple[str, str, str, tuple[str, ...], Usage]],
    previous: Iterable[tuple[str, str, str, tuple[str, ...], Usage]],
) -> Level:
    """A Level from (provider, scope, currency, values, usage) items, summing repeated series
    (e.g. the buckets of a daily answer)."""

    def fold(items: Iterable[tuple[str, str, str, tuple[str, ...], Usage]]) -> dict[SeriesKey, Usage]:
        parts: dict[SeriesKey, list[Usage]] = defaultdict(list)
        for provider, scope, currency, values, usage in items:
            parts[(provider, scope, currency, values)].append(usage)
        return {k: u for k, v in parts.items() if (u := total(v)) is not None}

    return Level(tuple(dims), fold(current), fold(previous))


def describe(driver: CostDriver) -> str:
    """One line naming a driver, e.g. "resource i-a (service Amazon EC2) up +90.00 USD (volume
    +90.00, rate +0.00)"."""
    where = ", ".join(f"{k} {v}" for k, v in driver.within.items())
    text = f"{driver.dimension} {driver.key}" + (f" ({where})" if where else "")
    text += f" {driver.kind} {driver.change:+,.2f} {driver.currency}"
    if driver.volume_effect is not None and driver.rate_effect is not None:
        text += f" (volume {driver.volume_effect:+,.2f}, rate {driver.rate_effect:+,.2f})"
    return text
