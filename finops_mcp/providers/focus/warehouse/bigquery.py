"""`BigQueryBackend`: FOCUS queries on a BigQuery table (e.g. Google's FOCUS export).

URL: `bigquery://PROJECT/DATASET/TABLE`, options `location=` (the dataset's location, e.g. `US`,
`EU`, `europe-west1`; default: BigQuery's routing) and `billing_project=` (the project the query
jobs run in; default PROJECT). Google's FOCUS export is the table
`gcp_billing_export_focus_<BILLING_ACCOUNT_ID>` in the dataset
`gcp_billing_immutable_<BILLING_ACCOUNT_ID>_<location>` (docs/warehouses.md).

The client is google-cloud-bigquery on the GCP provider's guarded session (`gcp.clients`:
Application Default Credentials, FINOPS_GCP_BIGQUERY_ENDPOINT, only single SELECT statements can
leave the process). Each statement is one `jobs.query` (`query_and_wait`) with named `@pN`
parameters (QueryJobConfig query_parameters) and `maximum_bytes_billed` =
FINOPS_FOCUS_MAX_BYTES_BILLED (0: no cap): BigQuery refuses before running a query that would
bill more (`bytesBilledLimitExceeded`), reported as a "scan limit" error. Errors go through the
GCP provider's one ErrorMap (`gcp.clients.ERRORS`): throttling (429, rateLimitExceeded) and 5xx
are retried under the call's retry policy; a 403 is `forbidden` naming the roles to grant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from google.api_core import exceptions as gexc
from google.cloud import bigquery

from finops_mcp.engine.context import CallContext, human_bytes
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.focus.warehouse.base import WarehouseResult, WarehouseTable
from finops_mcp.providers.focus.warehouse.render import number_placeholders
from finops_mcp.providers.gcp.clients import GcpClients, classify, reasons, retry_decision
from finops_mcp.settings import Settings

IAM_HINT = (
    "grant the identity roles/bigquery.dataViewer on dataset {dataset} and roles/bigquery.jobUser on "
    "project {project} (docs/warehouses.md)"
)


def query_parameter(name: str, value: object) -> bigquery.ScalarQueryParameter:
    """One bound parameter, typed from the Python value (str, int, Decimal, date)."""
    if isinstance(value, bool):
        return bigquery.ScalarQueryParameter(name, "BOOL", value)
    if isinstance(value, int):
        return bigquery.ScalarQueryParameter(name, "INT64", value)
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        fine = isinstance(exponent, int) and exponent < -9
        return bigquery.ScalarQueryParameter(name, "BIGNUMERIC" if fine else "NUMERIC", value)
    if isinstance(value, datetime):
        return bigquery.ScalarQueryParameter(name, "TIMESTAMP", value)
    if isinstance(value, date):
        return bigquery.ScalarQueryParameter(name, "DATE", value)
    if value is None or isinstance(value, str):
        return bigquery.ScalarQueryParameter(name, "STRING", value)
    raise TypeError(f"unsupported FOCUS query parameter type {type(value).__name__}")


class BigQueryBackend:
    dialect: ClassVar[str] = "bigquery"

    def __init__(self, table: WarehouseTable, settings: Settings) -> None:
        self.table = table
        self.project, self.dataset, self.name = table.location
        self.job_project = table.options.get("billing_project") or self.project
        self.location = table.options.get("location") or None
        self.max_bytes_billed = settings.focus_max_bytes_billed
        self.timeout = settings.request_timeout_seconds
        self._clients = GcpClients(settings)

    def _map(self, exc: BaseException) -> BaseException:
        if not isinstance(exc, gexc.GoogleAPICallError):
            return exc
        if "bytesBilledLimitExceeded" in reasons(exc):
            return ScopeFailure(
                "invalid_query",
                f"BigQuery scan limit: a FOCUS query on {self.table.display} would bill more than "
                f"FINOPS_FOCUS_MAX_BYTES_BILLED={self.max_bytes_billed} bytes "
                f"({human_bytes(self.max_bytes_billed)}); narrow the period or raise the setting (0: no cap)",
            )
        code = classify(exc)
        where = f"`{self.project}.{self.dataset}.{self.name}`"
        if code is not None and code[0] == "not_found":
            return ScopeFailure(
                "not_configured",
                f"BigQuery table {where} was not found (or is not in location {self.location or 'default'}): "
                "check the FINOPS_FOCUS_PATHS entry and that the FOCUS export is enabled",
            )
        if code is not None and code[0] == "forbidden":
            return ScopeFailure(
                "forbidden",
                f"reading BigQuery table {where} was refused: "
                + IAM_HINT.format(dataset=f"{self.project}.{self.dataset}", project=self.job_project),
            )
        if code is not None and code[0] == "invalid_query":
            return ScopeFailure("invalid_query", f"BigQuery refused a FOCUS query on {where}: {exc.message}")
        return exc

    def run(self, sql: str, params: Sequence[object], ctx: CallContext | None) -> WarehouseResult:
        named = number_placeholders(sql, self.dialect, "@p{i}")
        config = bigquery.QueryJobConfig(
            query_parameters=[query_parameter(f"p{i}", v) for i, v in enumerate(params)],
            maximum_bytes_billed=self.max_bytes_billed or None,
            use_legacy_sql=False,
        )
        client = self._clients.bigquery(self.job_project)

        def once() -> WarehouseResult:
            if ctx is not None:
                ctx.count_billed("focus.bigquery")
            try:
                rows = client.query_and_wait(
                    named,
                    job_config=config,
                    project=self.job_project,
                    location=self.location,
                    retry=None,
                    job_retry=None,
                    api_timeout=self.timeout,
                    wait_timeout=self.timeout,
                )
                out: list[tuple[Any, ...]] = [tuple(row.values()) for row in rows]
            except Exception as exc:
                raise self._map(exc) from None
            processed = getattr(rows, "total_bytes_processed", None)
            return WarehouseResult(out, int(processed) if processed is not None else None)

        try:
            return once() if ctx is None else ctx.retry(once, classify=retry_decision)
        except gexc.GoogleAPICallError as exc:  # retries spent (throttled, 5xx) or not retryable
            code, retryable = classify(exc) or ("upstream", False)
            raise ScopeFailure(
                code,
                f"BigQuery FOCUS query on {self.table.display} failed: {type(exc).__name__} {exc.message}",
                retryable=retryable,
            ) from None

    def close(self) -> None:
        self._clients.close()
