"""Credentials, REST clients, the read-only guard and error mapping for the GCP provider.

Imports the Google SDKs at module level: only `provider` imports this module, on first use.

Credentials: Application Default Credentials (`google.auth.default`): GOOGLE_APPLICATION_CREDENTIALS
(a service-account key, or a workload identity federation `external_account` file for CI), the
gcloud user's application-default login, or the metadata server on Google Cloud. Scope:
cloud-platform (read access is decided by IAM roles, see docs/providers/gcp.md).

Every client uses the REST transport with an `AuthorizedSession` on which `ReadOnlyAdapter` is
mounted: each request is checked BEFORE it is sent (`check_request`) and anything that is not a
read is refused with `ReadOnlyViolation`:

- GET and HEAD are allowed;
- POST to BigQuery `projects/<p>/queries` (jobs.query) and `projects/<p>/jobs` (jobs.insert) only
  for a single GoogleSQL SELECT / WITH statement without a destination table or DML/DDL, and
  `projects/<p>/jobs/<id>/cancel` (the client cancels its own query when a wait is interrupted);
- everything else (create / update / delete / setIamPolicy / any other POST, PUT, PATCH, DELETE)
  is refused.

Token exchange (service-account JWT grant, workload identity STS) runs on google-auth's own
session, not on the guarded one, and changes nothing in the cloud.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import google.auth
import google.auth.exceptions
import requests
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.transport.requests import AuthorizedSession
from requests.adapters import HTTPAdapter

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import ErrorMap, Translated, TypeTable, by_type, retry_after_from_headers
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.readonly import ReadOnlyViolation, http_read
from finops_mcp.settings import Settings

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# read-only guard
# ---------------------------------------------------------------------------------------------


_QUERY_PATH = re.compile(r"/bigquery/v2/projects/[^/]+/(queries|jobs)$")
_CANCEL_PATH = re.compile(r"/bigquery/v2/projects/[^/]+/jobs/[^/]+/cancel$")
_JOB_KEYS = {"query", "dryRun", "jobTimeoutMs", "labels", "jobType"}
_FORBIDDEN_QUERY_KEYS = {"destinationTable", "createDisposition", "writeDisposition", "tableDefinitions"}
_COMMENT = re.compile(r"^\s*(--[^\n]*\n|#[^\n]*\n|/\*.*?\*/)", re.S)


def _is_select(statement: Any) -> bool:
    """One SELECT/WITH statement (no ';' separating further statements)."""
    if not isinstance(statement, str):
        return False
    text = statement
    while (m := _COMMENT.match(text)) is not None:
        text = text[m.end() :]
    text = text.strip().rstrip(";").strip()
    first = text.split(None, 1)[0].upper() if text else ""
    return first in ("SELECT", "WITH") and ";" not in text


def check_request(method: str, url: str, body: bytes | str | None) -> None:
    """Raise `ReadOnlyViolation` unless the request is a read (see the module docstring)."""
    method, path, reads = http_read(method, url, _CANCEL_PATH)
    if reads:
        return
    if method != "POST" or not (m := _QUERY_PATH.search(path)):
        raise ReadOnlyViolation(method, path, "only reads and BigQuery SELECT queries are allowed")
    try:
        data = json.loads(body or b"{}")
    except (TypeError, ValueError):
        raise ReadOnlyViolation(method, path, "unreadable query request") from None
    if not isinstance(data, dict):
        raise ReadOnlyViolation(method, path, "unreadable query request")
    if m.group(1) == "jobs":
        config = data.get("configuration") or {}
        if (
            not isinstance(config, dict)
            or set(config) - _JOB_KEYS
            or not isinstance(config.get("query"), dict)
        ):
            raise ReadOnlyViolation(method, path, "only query jobs are allowed")
        query = config["query"]
    else:
        query = data
    if set(query) & _FORBIDDEN_QUERY_KEYS or query.get("useLegacySql") is True:
        raise ReadOnlyViolation(method, path, "queries may not write tables or use legacy SQL")
    if not _is_select(query.get("query")):
        raise ReadOnlyViolation(method, path, "only a single SELECT statement is allowed")


class ReadOnlyAdapter(HTTPAdapter):
    """A requests adapter that checks every request with `check_request` before sending it."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body if isinstance(request.body, bytes | str) else None
        check_request(request.method or "", request.url or "", body)
        return super().send(request, *args, **kwargs)


def guard_session(session: requests.Session) -> requests.Session:
    adapter = ReadOnlyAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _guard_gapic(client: Any) -> Any:
    """Mount the guard on a GAPIC REST client's session; refuse to run if the SDK changed shape."""
    session = getattr(getattr(client, "_transport", None), "_session", None)
    if not isinstance(session, requests.Session):
        raise ScopeFailure(
            "upstream",
            f"cannot install the read-only guard on {type(client).__name__}: unexpected SDK layout",
        )
    guard_session(session)
    return client


# ---------------------------------------------------------------------------------------------
# clients
# ---------------------------------------------------------------------------------------------


class GcpClients:
    """Lazily built, shared clients (thread-safe). Nothing touches credentials until first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()  # builders nest (a client needs the credentials)
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, build: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            value: T = self._cache[key]
            return value

    def credentials(self) -> Any:
        def build() -> Any:
            try:
                creds, _project = google.auth.default(scopes=[CLOUD_PLATFORM])
            except google.auth.exceptions.DefaultCredentialsError as exc:
                raise ScopeFailure(
                    "auth",
                    "no Google Application Default Credentials found: set GOOGLE_APPLICATION_CREDENTIALS "
                    "to a service-account key or workload identity federation file, or run "
                    f"`gcloud auth application-default login` ({type(exc).__name__})",
                ) from None
            return creds

        return self._get("credentials", build)

    def _options(self) -> ClientOptions | None:
        endpoint = self.settings.gcp_api_endpoint
        return ClientOptions(api_endpoint=endpoint.rstrip("/")) if endpoint else None

    def _gapic(self, key: str, factory: Callable[..., Any]) -> Any:
        return self._get(
            key,
            lambda: _guard_gapic(
                factory(credentials=self.credentials(), transport="rest", client_options=self._options())
            ),
        )

    def billing(self) -> Any:
        from google.cloud import billing_v1

        return self._gapic("billing", billing_v1.CloudBillingClient)

    def budgets(self) -> Any:
        from google.cloud.billing import budgets_v1

        return self._gapic("budgets", budgets_v1.BudgetServiceClient)

    def recommender(self) -> Any:
        from google.cloud import recommender_v1

        return self._gapic("recommender", recommender_v1.RecommenderClient)

    def compute(self, kind: str) -> Any:
        """kind: instances | disks | addresses | snapshots | images."""
        from google.cloud import compute_v1

        factory = {
            "instances": compute_v1.InstancesClient,
            "disks": compute_v1.DisksClient,
            "addresses": compute_v1.AddressesClient,
            "snapshots": compute_v1.SnapshotsClient,
            "images": compute_v1.ImagesClient,
        }[kind]
        return self._gapic(f"compute.{kind}", factory)

    def bigquery(self, project: str) -> Any:
        from google.cloud import bigquery

        def build() -> Any:
            creds = self.credentials()
            endpoint = self.settings.gcp_bigquery_endpoint
            options = {"api_endpoint": endpoint.rstrip("/")} if endpoint else None
            session = guard_session(AuthorizedSession(creds))
            return bigquery.Client(project=project, credentials=creds, client_options=options, _http=session)

        return self._get(f"bigquery.{project}", build)

    def close(self) -> None:
        with self._lock:
            clients, self._cache = list(self._cache.values()), {}
        for client in clients:
            closer = getattr(client, "close", None) or getattr(
                getattr(client, "_transport", None), "close", None
            )
            if callable(closer):
                with contextlib.suppress(Exception):  # best effort
                    closer()


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

_THROTTLE_REASONS = {"rateLimitExceeded", "quotaExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}


def reasons(exc: BaseException) -> set[str]:
    """The `reason` values a Google API error carries (BigQuery's errors[], AIP-193 ErrorInfo)."""
    found: set[str] = set()
    for err in getattr(exc, "errors", None) or ():
        if isinstance(err, dict) and err.get("reason"):
            found.add(str(err["reason"]))
    reason = getattr(exc, "reason", None)
    if reason:
        found.add(str(reason))
    return found


# Google API exception types -> (code, retryable), first match wins; a throttling `reason`
# (rateLimitExceeded on a 403, say) wins over the type.
API_ERRORS: TypeTable = (
    ((gexc.Unauthenticated, gexc.Unauthorized), "auth", False),
    ((gexc.Forbidden, gexc.PermissionDenied), "forbidden", False),
    ((gexc.NotFound,), "not_found", False),
    ((gexc.TooManyRequests, gexc.ResourceExhausted), "throttled", True),
    ((gexc.DeadlineExceeded, gexc.GatewayTimeout), "timeout", True),
    ((gexc.BadRequest, gexc.InvalidArgument, gexc.FailedPrecondition), "invalid_query", False),
    ((gexc.ServerError, gexc.ServiceUnavailable), "upstream", True),
    ((gexc.GoogleAPICallError,), "upstream", False),
)
TRANSPORT_ERRORS: TypeTable = (
    (
        (google.auth.exceptions.RefreshError, google.auth.exceptions.DefaultCredentialsError),
        "auth",
        False,
    ),
    ((requests.Timeout,), "timeout", True),
    ((requests.ConnectionError, google.auth.exceptions.TransportError), "upstream", True),
)


def translate(exc: BaseException) -> Translated | None:
    """The one translation of a Google API / auth / transport error (None: not one of those)."""
    if isinstance(exc, gexc.GoogleAPICallError):
        throttled = bool(reasons(exc) & _THROTTLE_REASONS)
        found = Translated("throttled", True) if throttled else by_type(exc, API_ERRORS)
        found = found or Translated("upstream", False)  # not reached: the last row catches all
        headers = getattr(getattr(exc, "response", None), "headers", None)
        wait = retry_after_from_headers(headers) if found.retryable and headers is not None else None
        return Translated(found.code, found.retryable, wait)
    return by_type(exc, TRANSPORT_ERRORS)


ERRORS = ErrorMap(translate)
classify = ERRORS.classify  # (code, retryable) for the per-scope error
retry_decision = ERRORS.retry_decision  # for `ctx.retry`: throttling, 5xx and timeouts; Retry-After


# ---------------------------------------------------------------------------------------------
# paging
# ---------------------------------------------------------------------------------------------


def pages(ctx: CallContext, fetch: Callable[[str], Any]) -> Iterator[Any]:
    """The pages of a GAPIC list call, each fetched under the retry policy.

    `fetch(page_token)` returns the pager of ONE page (built with `retry=None`); its fields are
    read through the pager (which delegates to that page's response), never by iterating it, so
    the SDK never fetches a page outside the retry policy and cancellation checks."""
    token = ""
    while True:
        ctx.raise_if_cancelled()
        page = ctx.retry(functools.partial(fetch, token), classify=retry_decision)
        yield page
        token = getattr(page, "next_page_token", "") or ""
        if not token:
            return
