"""Test-wide setup.

The FOCUS CSV cache goes to a temporary folder (servers started by tests inherit it).

Every report the suite produces through the service is checked against the published schema.

The schemas are the ones tools/list advertises (FINOPS_OUTPUT_SCHEMAS) and finops://schemas
serves: if a report carries a value its schema does not allow (a null where the schema says
number...), a validating client (the official SDKs) would reject the call, so the test fails.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from finops_mcp.server import report_schemas
from finops_mcp.service import FinOpsService

if "FINOPS_FOCUS_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="finops-test-cache-")
    os.environ["FINOPS_FOCUS_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, True)

_METHODS = {"get_cost": "get_cost", "run_audit": "run_finops_audit", "get_budget_status": "get_budget_status"}


@functools.cache
def _validators() -> dict[str, Draft202012Validator]:
    schemas = report_schemas()
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    return {tool: Draft202012Validator(schema) for tool, schema in schemas.items()}


def check_report(tool: str, report: Any) -> None:
    errors = sorted(_validators()[tool].iter_errors(report.model_dump(mode="json")), key=str)
    assert not errors, f"{tool} report breaks its schema: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
    )


@pytest.fixture(autouse=True)
def _reports_match_their_schema(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for method, tool in _METHODS.items():
        original = getattr(FinOpsService, method)

        async def checked(
            self: FinOpsService, *args: Any, _o: Any = original, _t: str = tool, **kw: Any
        ) -> Any:
            report = await _o(self, *args, **kw)
            check_report(_t, report)
            return report

        monkeypatch.setattr(FinOpsService, method, checked)
    yield
