"""FOCUS datasets in BigQuery: the real google-cloud-bigquery client against the executing fake.

The planted rows sit in a local Parquet file and in a table shaped like Google's FOCUS export
(`FOCUS_EXPORT_SCHEMA`: Tags as key/value records, NUMERIC costs); every answer must be the same
to the cent. Also: paging, the scan limit, a 403, a throttled call that is retried, named
parameters only, and a tag key that is SQL text bound, not spliced.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finops_mcp.engine.context import CallContext
from finops_mcp.engine.retry import RetryPolicy
from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery
from finops_mcp.providers.focus.provider import FocusProvider
from tests.fakes.gcp import FakeGcp, service_account_file
from tests.fakes.gcp_bigquery import FOCUS_EXPORT_SCHEMA, FakeBigQuery
from tests.fakes.gcp_estate import isolate_env
from tests.fakes.http import FakeHTTPServer
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.warehouse_cases import (
    BUDGETS,
    REQUIRED_TAGS,
    TABLES,
    assert_same_answers,
    first_last,
    write_local,
)

PROJECT, DATASET = "finops-ci", "gcp_billing_immutable_0ABCDE_012345_us"
INJECTION = "x') OR 1=1 --"


def bigquery_row(r: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in r.items() if k != "Tags"}
    out["Tags"] = [{"key": k, "value": v} for k, v in (r.get("Tags") or {}).items()]
    for k in ("BilledCost", "EffectiveCost", "PricingQuantity"):
        out[k] = None if out.get(k) is None else str(Decimal(out[k]))
    return out


class Bq:
    def __init__(self, tmp: Path) -> None:
        self.api_server = FakeHTTPServer().start()
        self.bq_server = FakeHTTPServer().start()
        self.api = FakeGcp(self.api_server)
        self.bq = FakeBigQuery(self.bq_server, page_size=40)
        for name, rows in TABLES.items():
            self.bq.add_table(
                f"{PROJECT}.{DATASET}.{name}", FOCUS_EXPORT_SCHEMA, [bigquery_row(r) for r in rows()],
                partitioned=False,
            )  # fmt: skip
        self.sa = service_account_file(tmp, self.api.url + "/token")
        self.local = write_local(tmp / "local")
        self.budgets = tmp / "budgets.yaml"
        self.budgets.write_text(BUDGETS)

    def url(self, name: str) -> str:
        return f"{name}=bigquery://{PROJECT}/{DATASET}/{name}"

    def close(self) -> None:
        self.bq.close()
        self.api_server.stop()
        self.bq_server.stop()


@pytest.fixture(scope="module")
def bq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bq]:
    made = Bq(tmp_path_factory.mktemp("bq"))
    yield made
    made.close()


@pytest.fixture()
def adc(bq: Bq, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_env(monkeypatch, tmp_path, {"GOOGLE_APPLICATION_CREDENTIALS": str(bq.sa)})


def provider(bq: Bq, *entries: str, **settings: Any) -> FocusProvider:
    values: dict[str, Any] = {
        "focus_budgets": str(bq.budgets),
        "required_tags": REQUIRED_TAGS,
        "gcp_bigquery_endpoint": bq.bq.url,
        "max_retries": 2,
    }
    values.update(settings)
    return FocusProvider(make_settings(focus_paths=list(entries), **values))


@pytest.mark.parametrize("name", list(TABLES))
def test_bigquery_answers_equal_local_answers_to_the_cent(bq: Bq, adc: None, name: str) -> None:
    assert_same_answers(provider(bq, bq.local[name]), provider(bq, bq.url(name)), name, bq.bq.queries.clear)
    # what went to BigQuery: named parameters only, never GROUP BY ALL, a bytes cap on every query
    assert bq.bq.queries
    for sql, params in bq.bq.queries:
        assert "?" not in sql and "GROUP BY ALL" not in sql.upper()
        assert all(p["name"].startswith("p") for p in params)
    assert all(int(c["maximumBytesBilled"]) == 100 * 1024**3 for c in bq.bq.configs[-3:])


def test_bytes_scanned_are_counted_and_noted(bq: Bq, adc: None) -> None:
    p = provider(bq, bq.url("acme"))
    ctx = CallContext()
    try:
        first, last = first_last("acme")
        p.cost(scope("acme"), CostQuery(Span(first, last), "total", ("service",), "billed"), ctx)
    finally:
        p.close()
    assert ctx.scanned.snapshot()["focus.bigquery"] > 0
    assert any("BigQuery scanned" in n and "bigquery://" in n for n in ctx.notes)


def test_a_low_scan_cap_is_a_clear_scan_limit_error(bq: Bq, adc: None) -> None:
    p = provider(bq, bq.url("acme"), focus_max_bytes_billed=1000)
    try:
        with pytest.raises(ScopeFailure) as err:
            p.data_span(scope("acme"), CallContext())
    finally:
        p.close()
    assert err.value.code == "invalid_query"
    assert "scan limit" in err.value.message and "FINOPS_FOCUS_MAX_BYTES_BILLED" in err.value.message


def test_a_refused_table_is_forbidden_naming_the_roles(bq: Bq, adc: None) -> None:
    full = f"{PROJECT}.{DATASET}.acme"
    bq.bq.forbidden_tables.add(full)
    p = provider(bq, bq.url("acme"))
    try:
        with pytest.raises(ScopeFailure) as err:
            p.data_span(scope("acme"), CallContext())
    finally:
        bq.bq.forbidden_tables.discard(full)
        p.close()
    assert err.value.code == "forbidden"
    assert "roles/bigquery.dataViewer" in err.value.message and "roles/bigquery.jobUser" in err.value.message


def test_a_throttled_query_is_retried(bq: Bq, adc: None) -> None:
    p = provider(bq, bq.url("planted"))
    ctx = CallContext(retry_policy=RetryPolicy(max_retries=2, base_delay=0.01, max_delay=0.02))
    bq.bq.throttle(1)
    try:
        span = p.data_span(scope("planted"), ctx)
    finally:
        p.close()
    assert span is not None
    assert ctx.billed.snapshot()["focus.bigquery"] == 2  # the 429, then the answer


def test_a_missing_table_is_not_configured(bq: Bq, adc: None) -> None:
    p = provider(bq, f"gone=bigquery://{PROJECT}/{DATASET}/nope")
    try:
        with pytest.raises(ScopeFailure) as err:
            p.data_span(scope("gone"), CallContext())
    finally:
        p.close()
    assert err.value.code == "not_configured" and "was not found" in err.value.message


def test_a_tag_key_that_is_sql_is_bound_not_spliced(bq: Bq, adc: None) -> None:
    p = provider(bq, bq.url("acme"))
    try:
        first, last = first_last("acme")
        lines = p.cost(
            scope("acme"),
            CostQuery(Span(first, last), "total", (f"tag:{INJECTION}",), "billed"),
            CallContext(),
        )
    finally:
        p.close()
    assert {line.keys for line in lines} == {((f"tag:{INJECTION}", ""),)}  # no row has that tag
    sql, params = bq.bq.queries[-1]
    assert INJECTION not in sql and "OR 1=1" not in sql
    assert {
        "name": "p0",
        "parameterType": {"type": "STRING"},
        "parameterValue": {"value": INJECTION},
    } in params


def test_bad_urls_are_clear_configuration_errors(bq: Bq, adc: None) -> None:
    p = provider(bq, "short=bigquery://only/two", "secret=snowflake://a/b/c/d?password=x")
    try:
        for name, words in (("short", "PROJECT/DATASET/TABLE"), ("secret", "must not carry secrets")):
            with pytest.raises(ScopeFailure) as err:
                p.data_span(scope(name), CallContext())
            assert err.value.code == "not_configured" and words in err.value.message
        assert p.data_version(scope("short")) is None
    finally:
        p.close()


def test_describe_and_scopes_list_the_table(bq: Bq, adc: None) -> None:
    p = provider(bq, bq.url("planted"), bq.local["acme"])
    try:
        assert [s.key for s in p.scopes(CallContext())] == ["planted", "acme"]
        entries = {e["name"]: e for e in p.describe()["datasets"]}
    finally:
        p.close()
    table = entries["planted"]
    assert table["loaded"] and table["table"] == f"bigquery://{PROJECT}/{DATASET}/planted"
    assert table["rows"] == len(TABLES["planted"]()) and table["currencies"] == ["USD"]
    assert "globs" in entries["acme"] and entries["acme"]["files"] == 1


def test_an_empty_table_is_no_data_not_zero(bq: Bq, adc: None) -> None:
    bq.bq.add_table(f"{PROJECT}.{DATASET}.empty", FOCUS_EXPORT_SCHEMA, [], partitioned=False)
    p = provider(bq, f"empty=bigquery://{PROJECT}/{DATASET}/empty")
    try:
        with pytest.raises(ScopeFailure) as err:
            p.data_span(scope("empty"), CallContext())
    finally:
        p.close()
    assert err.value.code == "no_data"
