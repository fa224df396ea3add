"""Which (provider, scope) pairs a request covers: the enabled providers it asks for, their scopes
(discovered once, then cached), narrowed to the scopes it names. Anything asked for and not there
becomes a per-scope error naming the fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from finops_mcp.engine.cache import cache_key
from finops_mcp.engine.context import CallContext, CancelToken
from finops_mcp.jobs import Jobs, Run
from finops_mcp.providers import Registry
from finops_mcp.providers.base import Provider, Scope
from finops_mcp.settings import Settings

Target = tuple[Provider, Scope]


def usable_providers(
    run: Run, registry: Registry, settings: Settings, wanted: Sequence[str] | None
) -> list[str]:
    """The asked-for providers that are enabled and exist in this version; errors for the rest."""
    enabled = registry.enabled(settings)
    usable: list[str] = []
    for name in list(wanted) if wanted else enabled:
        if name not in enabled:
            hint = registry.hint(name)
            message = f"the {name} provider is not configured: {hint}, or list it in FINOPS_PROVIDERS"
            run.error(name, name, "not_configured", message)
        elif name not in registry.implemented:
            run.error(
                name,
                name,
                "not_configured",
                f"the {name} provider is not available in this version of finops-mcp; "
                f"available: {', '.join(registry.implemented)}",
            )
        else:
            usable.append(name)
    if not usable and not run.errors:
        run.error(
            "*",
            "*",
            "not_configured",
            "no provider is configured: set FINOPS_FOCUS_PATHS to your FOCUS exports "
            "(or run `finops-mcp demo`); see docs/configuration.md",
        )
    return usable


async def resolve(
    run: Run,
    jobs: Jobs,
    registry: Registry,
    usable: Sequence[str],
    provider: Callable[[str], Provider],
    scopes: Sequence[str] | None,
    cancel: CancelToken,
) -> list[Target]:
    """The scopes of the `usable` providers (from the cache, else asked for), only those in
    `scopes` when given; each scope asked for and not found is an error."""

    def discover(name: str, ctx: CallContext) -> Sequence[Scope]:
        found = list(provider(name).scopes(ctx))
        jobs.cache.put(cache_key("scopes", name, "*", {}), found)
        return found

    pairs: list[Target] = []
    known_scopes = {name: jobs.cache.get(cache_key("scopes", name, "*", {})) for name in usable}
    for name, cached in known_scopes.items():
        pairs.extend((provider(name), scope) for scope in cached or ())
    to_discover = [name for name, cached in known_scopes.items() if cached is None]
    for outcome in await jobs.fan(run, to_discover, discover, cancel):
        if outcome.error is not None:
            jobs.record(run, outcome.item, outcome.item, outcome.error)
            continue
        for scope in outcome.value or ():
            pairs.append((provider(outcome.item), scope))
    if scopes:
        known = {s.id for _, s in pairs}
        for wanted_scope in scopes:
            if wanted_scope not in known:
                run.error(
                    registry.owner(wanted_scope),
                    wanted_scope,
                    "not_found",
                    f"scope {wanted_scope} is not among the configured scopes "
                    f"({', '.join(sorted(known)) or 'none'}); see the finops://providers resource",
                )
        pairs = [(p, s) for p, s in pairs if s.id in scopes]
    run.scopes.update(f"{p.name}|{s.id}" for p, s in pairs)
    run.scopes.update(run.failed_scopes)
    return pairs
