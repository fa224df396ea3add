"""Running the export SQL with google-cloud-bigquery: schema detection, bound parameters, the scan guard.

One `jobs.query` request per statement (`query_and_wait`), with `maximum_bytes_billed` set to
FINOPS_GCP_MAX_BYTES_BILLED: BigQuery refuses a query that would bill more, before running it
(`bytesBilledLimitExceeded`), and we turn that into a clear "scan limit" error. Each query is
counted as a billed request `gcp.bigquery`; the bytes it processed go to `meta.bytes_scanned` and
a note. The query job runs in the export table's project (the identity needs roles/bigquery.jobUser there).

A missing table or dataset, or a refused read, becomes a `not_configured` / `forbidden` error that
says how to enable the export or which role to grant: never a made-up number.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from google.api_core import exceptions as gexc

from finops_mcp.engine.context import CallContext, human_bytes
from finops_mcp.errors import ScopeFailure
from finops_mcp.providers.gcp.clients import GcpClients, classify, reasons, retry_decision
from finops_mcp.providers.gcp.export import (
    ENABLE_EXPORT_HINT,
    Column,
    ExportSchema,
    ExportTable,
    Params,
    detect_schema,
)

SCHEMA_TTL_SECONDS = 3600.0
_IAM_HINT = (
    "grant the identity roles/bigquery.dataViewer on the export dataset and roles/bigquery.jobUser on "
    "project {project} (see docs/providers/gcp.md)"
)


def _columns(fields: Any) -> tuple[Column, ...]:
    return tuple(
        Column(f.name, str(f.field_type).upper(), str(f.mode or "NULLABLE").upper(), _columns(f.fields or ()))
        for f in fields
    )


class ExportRunner:
    """Queries one billing export table."""

    def __init__(
        self, clients: GcpClients, table: ExportTable, max_bytes_billed: int, timeout: float
    ) -> None:
        self.clients = clients
        self.table = table
        self.max_bytes_billed = max_bytes_billed
        self.timeout = timeout
        self._lock = threading.Lock()
        self._schema: tuple[float, ExportSchema] | None = None

    def _map(self, exc: BaseException, what: str) -> BaseException:
        """A clear ScopeFailure for the errors a person must act on; others unchanged."""
        if not isinstance(exc, gexc.GoogleAPICallError):
            return exc
        why = reasons(exc)
        if "bytesBilledLimitExceeded" in why:
            return ScopeFailure(
                "invalid_query",
                f"BigQuery scan limit: {what} would bill more than FINOPS_GCP_MAX_BYTES_BILLED="
                f"{self.max_bytes_billed} bytes ({human_bytes(self.max_bytes_billed)}); narrow the period "
                "or raise FINOPS_GCP_MAX_BYTES_BILLED",
            )
        code = classify(exc)
        if code is not None and code[0] == "not_found":
            return ScopeFailure(
                "not_configured", f"billing export table {self.table} was not found: {ENABLE_EXPORT_HINT}"
            )
        if code is not None and code[0] == "forbidden":
            return ScopeFailure(
                "forbidden",
                f"reading billing export table {self.table} was refused: "
                + _IAM_HINT.format(project=self.table.project),
            )
        if code is not None and code[0] == "auth":
            return ScopeFailure("auth", f"BigQuery rejected the credentials ({type(exc).__name__})")
        return exc

    def schema(self, ctx: CallContext) -> ExportSchema:
        """The export kind, from tables.get (cached for an hour)."""
        with self._lock:
            if self._schema is not None and time.monotonic() - self._schema[0] < SCHEMA_TTL_SECONDS:
                return self._schema[1]
        client = self.clients.bigquery(self.table.project)

        def fetch() -> ExportSchema:
            try:
                table = client.get_table(str(self.table), retry=None, timeout=self.timeout)
            except Exception as exc:
                raise self._map(exc, "reading the table schema") from None
            tp = table.time_partitioning
            partitioning = (str(tp.type_ or "DAY"), tp.field) if tp is not None else None
            return detect_schema(_columns(table.schema), partitioning, self.table)

        schema = ctx.retry(fetch, classify=retry_decision)
        with self._lock:
            self._schema = (time.monotonic(), schema)
        return schema

    def query(self, sql: str, params: Params, ctx: CallContext, label: str) -> list[dict[str, Any]]:
        """Run one statement; rows as dicts keyed by column name."""
        from google.cloud import bigquery

        bound: list[Any] = []
        for name, type_, value in params.items:
            if type_.startswith("ARRAY<"):
                bound.append(bigquery.ArrayQueryParameter(name, type_[6:-1], list(value)))
            else:
                bound.append(bigquery.ScalarQueryParameter(name, type_, value))
        config = bigquery.QueryJobConfig(
            query_parameters=bound, maximum_bytes_billed=self.max_bytes_billed, use_legacy_sql=False
        )
        client = self.clients.bigquery(self.table.project)

        def run() -> tuple[list[dict[str, Any]], int | None]:
            ctx.count_billed("gcp.bigquery")
            try:
                rows = client.query_and_wait(
                    sql,
                    job_config=config,
                    project=self.table.project,
                    retry=None,
                    job_retry=None,
                    api_timeout=self.timeout,
                    wait_timeout=self.timeout,
                )
                result = [dict(row.items()) for row in rows]
            except Exception as exc:
                raise self._map(exc, label) from None
            return result, getattr(rows, "total_bytes_processed", None)

        result, processed = ctx.retry(run, classify=retry_decision)
        if processed is not None:
            ctx.count_scanned("gcp.bigquery", int(processed))
        scanned = human_bytes(processed) if processed is not None else "an unknown amount"
        ctx.note(
            f"gcp: BigQuery {label} on {self.table} processed {scanned} "
            f"(scan limit FINOPS_GCP_MAX_BYTES_BILLED={human_bytes(self.max_bytes_billed)})"
        )
        return result
