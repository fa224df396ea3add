"""`AwsProvider`: Cost Explorer, Budgets and an inventory audit, one account (scope
`aws:<account_id>`) at a time, across regions for the audit.

Construction only keeps the settings: boto3 is imported, and credentials are resolved, on the
first call that needs them (`sessions.discover`). See `sessions` for where credentials come from,
`cost` and `budgets` for the API mappings, `inventory` and `checks` for the audit, `guard` for
the read-only hook every client carries, and docs/providers/aws.md for setup and IAM.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from finops_mcp import periods
from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.errors import ScopeFailure, redact
from finops_mcp.models import ErrorCode
from finops_mcp.providers.aws import errors
from finops_mcp.providers.aws.check_context import AwsCheckContext
from finops_mcp.providers.aws.checks import ACCOUNT_WIDE, CHECKS
from finops_mcp.providers.aws.native_checks import FALLBACK_CHECKS
from finops_mcp.providers.aws.prices import PRICE_TABLE_SOURCE
from finops_mcp.providers.base import AuditResult, AuditUnit, Scope, checks_of, needs_of, run_checks
from finops_mcp.settings import Settings

if TYPE_CHECKING:
    from datetime import date

    from finops_mcp.providers.aws.sessions import Account
    from finops_mcp.providers.base import BudgetLine, Check, CostLine, CostQuery, ForecastLine

ENABLED_REGION_STATUSES = ["opt-in-not-required", "opted-in"]


class AwsProvider:
    name: ClassVar[str] = "aws"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._notes: list[str] = []
        self._config: Any = None

    # -- accounts --------------------------------------------------------------------------

    def _discover(self, ctx: CallContext) -> dict[str, Account]:
        """(Re)discover accounts; accounts already known keep their session and clients."""
        from finops_mcp.providers.aws import sessions

        with self._lock:
            if self._config is None:
                self._config = sessions.client_config(self.settings)
            found = sessions.discover(self.settings, ctx, self._config)
            merged: dict[str, Account] = {}
            for account in found.accounts:
                known = self._accounts.get(account.key)
                keep = known is not None and known.failure is None and account.failure is None
                merged[account.key] = known if keep and known is not None else account
            self._accounts = merged
            self._notes = list(found.notes)
            return dict(merged)

    def _account(self, scope: Scope, ctx: CallContext) -> Account:
        with self._lock:
            account = self._accounts.get(scope.key)
        if account is None:
            account = self._discover(ctx).get(scope.key)
        if account is None:
            raise ScopeFailure(
                "not_found", f"{scope.id} is not reachable with the configured AWS credentials"
            )
        account.require()
        return account

    # -- Provider --------------------------------------------------------------------------

    def scopes(self, ctx: CallContext) -> Sequence[Scope]:
        return [
            Scope(
                provider=self.name,
                kind="aws",
                key=account.key,
                name=account.name,
                detail={"source": account.source, "partition": account.partition},
            )
            for account in self._discover(ctx).values()
        ]

    def _ce(self, scope: Scope, ctx: CallContext) -> tuple[Account, Any]:
        account = self._account(scope, ctx)
        return account, account.client("ce", account.billing_region)

    def cost(self, scope: Scope, query: CostQuery, ctx: CallContext) -> list[CostLine]:
        from finops_mcp.providers.aws import cost

        account, client = self._ce(scope, ctx)
        return cost.cost_lines(client, query, account.account_id, periods.utc_today(), ctx)

    def forecast(self, scope: Scope, query: CostQuery, ctx: CallContext) -> ForecastLine | None:
        from finops_mcp.providers.aws import cost

        account, client = self._ce(scope, ctx)
        return cost.forecast(client, query, account.account_id, periods.utc_today(), ctx)

    def budgets(self, scope: Scope, today: date, ctx: CallContext) -> list[BudgetLine]:
        from finops_mcp.providers.aws import budgets

        account = self._account(scope, ctx)
        client = account.client("budgets", account.billing_region)
        return budgets.budget_lines(client, account.account_id, today, ctx)

    def checks(self) -> Sequence[Check[Any]]:
        return (*CHECKS, *ACCOUNT_WIDE)

    def audit_units(self, scope: Scope, regions: Sequence[str] | None, ctx: CallContext) -> list[AuditUnit]:
        """One unit per region, plus one account-wide unit (region None) for the Cost Explorer
        commitment checks and the Cost Anomaly Detection feed, which answer for the account as a
        whole."""
        wanted = [r for r in (regions or self.settings.aws_regions) if r]
        if not wanted:
            wanted = self._enabled_regions(self._account(scope, ctx), ctx)
        return [AuditUnit(scope, region) for region in dict.fromkeys(wanted)] + [AuditUnit(scope)]

    @staticmethod
    def _enabled_regions(account: Account, ctx: CallContext) -> list[str]:
        from finops_mcp.providers.aws.api import api_call

        answer = api_call(
            ctx,
            account.client("ec2"),
            "describe_regions",
            Filters=[{"Name": "opt-in-status", "Values": ENABLED_REGION_STATUSES}],
        )
        return sorted(r["RegionName"] for r in answer.get("Regions", []))

    def _context(self, account: Account, region: str, inv: Any, **extra: Any) -> AwsCheckContext:
        return AwsCheckContext(
            inventory=inv,
            now=inv.collected_at,
            required_tags=tuple(t for t in self.settings.required_tags if t),
            snapshot_max_age_days=self.settings.aws_snapshot_max_age_days,
            min_utilization=self.settings.commitment_min_utilization_pct,
            min_coverage=self.settings.commitment_min_coverage_pct,
            **extra,
        )

    def audit(self, unit: AuditUnit, checks: Sequence[Check[Any]], ctx: CallContext) -> AuditResult:
        from finops_mcp.providers.aws import inventory, optimization

        mine = checks_of(self.name, checks)
        account = self._account(unit.scope, ctx)
        feeds = [c for c in mine if c in ACCOUNT_WIDE]
        if unit.region is None:
            result = self._audit_account(
                account, [c for c in mine if c.needs & optimization.ACCOUNT_WIDE], ctx
            )
            fed = self._anomaly_feed(account, feeds, ctx) if feeds else None
            if fed is not None:
                result.findings += fed.findings
                result.checks_run += fed.checks_run
            return result
        mine = [c for c in mine if not c.needs & optimization.ACCOUNT_WIDE and c not in feeds]
        region = unit.region
        kinds = needs_of(mine)
        inv = inventory.collect(account.client, account.account_id, region, kinds, ctx)
        if not any(t for t in self.settings.required_tags) and any(
            c.id == "aws.tagging.missing_required_tags" for c in mine
        ):
            ctx.note("FINOPS_REQUIRED_TAGS is empty: aws.tagging.missing_required_tags had nothing to check")
        rightsizing = None
        if optimization.HUB in kinds:
            try:
                rightsizing = optimization.rightsizing(
                    account.client, account.account_id, region, account.billing_region, ctx
                )
            except Cancelled:
                raise
            except Exception as exc:  # one API failing never sinks the unit's other checks
                skipped = sorted(c.id for c in mine if optimization.HUB in c.needs)
                reason = (
                    exc.message
                    if isinstance(exc, ScopeFailure) and exc.code == "forbidden"
                    else (
                        f"aws:{account.account_id} {region}: rightsizing recommendations failed "
                        f"({optimization.failure_text(exc)})"
                    )
                )
                ctx.note(f"{reason}; skipped {', '.join(skipped)}")
                mine = [c for c in mine if optimization.HUB not in c.needs]
            else:
                for note in rightsizing.notes:
                    ctx.note(note)
                if rightsizing.covers is not None:
                    mine = [c for c in mine if optimization.HUB not in c.needs or c.id in FALLBACK_CHECKS]
        return run_checks(mine, self._context(account, region, inv, rightsizing=rightsizing), ctx, [region])

    def _audit_account(self, account: Account, mine: list[Check[Any]], ctx: CallContext) -> AuditResult:
        """The account-wide checks (Cost Explorer commitments): a refused part leaves its checks
        out with a note naming the permission; the others still answer."""
        from finops_mcp.providers.aws import commitments, inventory

        if not mine:
            return AuditResult(findings=[], checks_run=[])
        wanted = needs_of(mine)
        ce = account.client("ce", account.billing_region)
        found = commitments.commitments(ce, account.account_id, wanted, periods.utc_today(), ctx)
        for part, why in sorted(found.failed.items()):
            skipped = ", ".join(c.id for c in mine if part in c.needs)
            ctx.note(
                f"aws:{account.account_id}: Cost Explorer {part} did not answer ({why}); skipped {skipped}"
                + (" (allow the ce:Get* action it needs)" if why.startswith("AccessDenied") else "")
            )
        inv = inventory.Inventory(account_id=account.account_id, region=account.billing_region)
        check_ctx = self._context(account, account.billing_region, inv, commitments=found)
        return run_checks(mine, check_ctx, ctx, refused=found.failed)

    def _anomaly_feed(
        self, account: Account, checks: Sequence[Check[Any]], ctx: CallContext
    ) -> AuditResult | None:
        """Cost Anomaly Detection, in the account-wide unit. A feed that cannot be read (no
        permission, an endpoint without the API) is a note, not a failed scope."""
        from finops_mcp.providers.aws import anomalies

        try:
            feed = anomalies.fetch(
                account.client("ce", account.billing_region), account.account_id, periods.utc_today(), ctx
            )
        except Exception as exc:
            mapped = errors.classify_error(exc)
            if mapped is None or mapped[0] in ("cancelled", "auth"):
                raise
            ctx.note(
                f"aws:{account.account_id}: {', '.join(c.id for c in checks)} did not run: Cost Anomaly "
                f"Detection answered {mapped[0]} ({redact(f'{type(exc).__name__}: {exc}', 200)})"
            )
            return None
        return run_checks(checks, feed, ctx)

    def classify_error(self, exc: BaseException) -> tuple[ErrorCode, bool] | None:
        return errors.classify_error(exc)

    def describe(self) -> dict[str, Any]:
        """Configuration and the accounts found so far (no network call, never secrets)."""
        s = self.settings
        with self._lock:
            accounts = [
                {"scope": f"aws:{a.key}", "name": a.name, "source": a.source, "partition": a.partition}
                | ({"error": type(a.failure).__name__} if a.failure else {})
                for a in self._accounts.values()
            ]
            notes = list(self._notes)
        return {
            "credentials": "profiles " + ", ".join(s.aws_profiles) if s.aws_profiles else "default chain",
            "role_name": s.aws_role_name,
            "account_ids": list(s.aws_account_ids),
            "discover_accounts": s.aws_discover_accounts,
            "regions": list(s.aws_regions) or "enabled regions of each account",
            "accounts": accounts,
            "notes": notes,
            "required_tags": list(s.required_tags),
            "snapshot_max_age_days": s.aws_snapshot_max_age_days,
            "price_table": PRICE_TABLE_SOURCE,
            "checks": [c.id for c in (*CHECKS, *ACCOUNT_WIDE)],
        }

    def close(self) -> None:
        with self._lock:
            accounts = list(self._accounts.values())
        for account in accounts:
            account.close()
