"""Credentials, accounts and clients.

Where credentials come from (the standard boto3 chain is always the base: environment variables,
shared config/credentials files, SSO, web identity / OIDC in CI, container and instance roles):
- no `FINOPS_AWS_PROFILES`: the default chain, one account;
- `FINOPS_AWS_PROFILES`: one session per profile, deduplicated by the account
  `sts:GetCallerIdentity` reports (the first profile of an account wins);
- `FINOPS_AWS_ROLE_NAME` with `FINOPS_AWS_ACCOUNT_IDS` (or `FINOPS_AWS_DISCOVER_ACCOUNTS=true`,
  which lists the organization's ACTIVE accounts with `organizations:ListAccounts`): the role is
  assumed in each member account from the first base session, lazily (on the account's first
  call) and refreshed before it expires.

Partitions (aws, aws-us-gov, aws-cn) come from the caller identity's ARN; Cost Explorer, Budgets
and Organizations are called in the partition's billing region. Clients are built once per
(account, service, region), under a lock because boto3 sessions are not thread-safe (clients are),
and every client carries the read-only guard (`guard.install`). botocore's own retries are off:
the engine's retry policy applies (see `api`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from finops_mcp.engine.context import CallContext, Cancelled
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.aws import guard
from finops_mcp.providers.aws.api import api_call, api_pages

if TYPE_CHECKING:
    from finops_mcp.settings import Settings

HOME_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-north-1"}
BILLING_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}
ROLE_SESSION_NAME = "finops-mcp"
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")


def client_config(settings: Settings) -> Any:
    """botocore Config shared by every client: timeouts from settings, no botocore retries."""
    from botocore.config import Config

    timeout = settings.request_timeout_seconds
    return Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
        max_pool_connections=max(10, settings.max_workers),
        user_agent_extra="finops-mcp",
    )


class Account:
    """One AWS account reachable with one boto3 session, and the clients built from it.

    An account whose credentials could not even be identified (a broken profile) is kept as a
    placeholder with `failure` set, so it becomes one per-scope error instead of sinking the rest.
    """

    def __init__(
        self,
        key: str,
        *,
        session: Any = None,
        partition: str = "aws",
        home_region: str = "us-east-1",
        source: str = "",
        config: Any = None,
        name: str | None = None,
        failure: BaseException | None = None,
    ) -> None:
        self.key = key  # the account id (or `profile:<name>` for a placeholder)
        self.session = session
        self.partition = partition
        self.home_region = home_region
        self.source = source
        self.name = name
        self.failure = failure
        self._config = config
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def account_id(self) -> str:
        return self.key

    @property
    def billing_region(self) -> str:
        return BILLING_REGION.get(self.partition, "us-east-1")

    def require(self) -> None:
        """Raise this account's discovery failure, if it has one."""
        if self.failure is not None:
            raise self.failure

    def client(self, service: str, region: str | None = None) -> Any:
        """The (cached, read-only guarded) client for a service in a region."""
        self.require()
        key = (service, region or self.home_region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = guard.install(self.session.client(service, region_name=key[1], config=self._config))
                self._clients[key] = found
            return found

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            close = getattr(client, "close", None)
            if close is not None:
                close()


@dataclass(frozen=True)
class Discovery:
    accounts: list[Account]
    notes: list[str]


def identify(session: Any, source: str, config: Any, ctx: CallContext) -> Account:
    """An Account for a session, from `sts:GetCallerIdentity` (account id and partition)."""
    region = session.region_name or HOME_REGION["aws"]
    probe = Account("?", session=session, home_region=region, config=config)
    ident = api_call(ctx, probe.client("sts"), "get_caller_identity")
    partition = str(ident.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    account = Account(
        str(ident["Account"]),
        session=session,
        partition=partition,
        home_region=session.region_name or HOME_REGION.get(partition, region),
        source=source,
        config=config,
    )
    return account


def assumed_account(base: Account, account_id: str, role_name: str, config: Any, name: str | None) -> Account:
    """An Account whose credentials come from assuming `role_name` there (deferred, refreshed)."""
    import boto3
    import botocore.session
    from botocore.credentials import DeferredRefreshableCredentials

    role_arn = f"arn:{base.partition}:iam::{account_id}:role/{role_name}"

    def fetch() -> dict[str, str]:
        creds = base.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)[
            "Credentials"
        ]
        expiry = creds["Expiration"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry.isoformat() if hasattr(expiry, "isoformat") else str(expiry),
        }

    core = botocore.session.Session()
    core._credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
    session = boto3.Session(botocore_session=core, region_name=base.home_region)
    return Account(
        account_id,
        session=session,
        partition=base.partition,
        home_region=base.home_region,
        source=f"role {role_name} assumed from {base.source}",
        config=config,
        name=name,
    )


def organization_accounts(base: Account, ctx: CallContext) -> dict[str, str]:
    """ACTIVE accounts of the organization (id -> name), read from the management account."""
    client = base.client("organizations", base.billing_region)
    found: dict[str, str] = {}
    for page in api_pages(ctx, client, "list_accounts"):
        for acct in page.get("Accounts", []):
            if str(acct.get("Status", acct.get("State", "ACTIVE"))).upper() == "ACTIVE":
                found[str(acct["Id"])] = str(acct.get("Name") or acct["Id"])
    return found


def discover(
    settings: Settings,
    ctx: CallContext,
    config: Any,
    session_factory: Callable[..., Any] | None = None,
) -> Discovery:
    """Every account the configuration reaches (see the module docstring)."""
    if session_factory is None:
        import boto3

        session_factory = boto3.Session
    notes: list[str] = []
    bases: list[Account] = []
    if settings.aws_profiles:
        for profile in dict.fromkeys(settings.aws_profiles):
            source = f"profile {profile}"
            try:
                account = identify(session_factory(profile_name=profile), source, config, ctx)
            except Cancelled:
                raise
            except Exception as exc:  # one broken profile: a per-scope error, not a failed provider
                bases.append(Account(f"profile:{profile}", source=source, failure=exc))
                continue
            twin = next((b for b in bases if b.key == account.key), None)
            if twin is not None:
                notes.append(f"{source} reaches account {account.key} already reached by {twin.source}")
                continue
            bases.append(account)
    else:
        bases.append(identify(session_factory(), "the default credential chain", config, ctx))

    role = settings.aws_role_name
    ids = [a.strip() for a in settings.aws_account_ids if a.strip()]
    bad = [a for a in ids if not ACCOUNT_ID_RE.match(a)]
    if bad:
        raise ScopeFailure(
            "not_configured", f"FINOPS_AWS_ACCOUNT_IDS: {bad} are not 12-digit AWS account ids"
        )
    if not role:
        if ids or settings.aws_discover_accounts:
            raise ScopeFailure(
                "not_configured",
                "FINOPS_AWS_ACCOUNT_IDS / FINOPS_AWS_DISCOVER_ACCOUNTS need FINOPS_AWS_ROLE_NAME, the "
                "read-only role to assume in each member account",
            )
        return Discovery(bases, notes)

    base = next((b for b in bases if b.failure is None), None)
    if base is None:
        bases[0].require()
        raise ScopeFailure("auth", "no working AWS credentials to assume member-account roles from")
    names: dict[str, str] = {}
    if settings.aws_discover_accounts:
        names = organization_accounts(base, ctx)
        ids = ids or list(names)
    if not ids:
        raise ScopeFailure(
            "not_configured",
            "FINOPS_AWS_ROLE_NAME is set but no member accounts: set FINOPS_AWS_ACCOUNT_IDS or "
            "FINOPS_AWS_DISCOVER_ACCOUNTS=true",
        )
    accounts = list(bases)
    known = {b.key for b in bases}
    for account_id in dict.fromkeys(ids):
        if account_id in known:
            continue  # already reached directly: no role needed
        accounts.append(assumed_account(base, account_id, role, config, names.get(account_id)))
    return Discovery(accounts, notes)
