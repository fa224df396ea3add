"""Every list, string and map a tool accepts is bounded, in its advertised input schema and at once
when called: an oversized argument is refused naming its field, before any work starts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from finops_mcp.models import (
    MAX_LIST_ITEMS,
    MAX_TAG_FILTERS,
    MAX_TEXT_LENGTH,
    GetBudgetStatusRequest,
    GetCostRequest,
    RunAuditRequest,
)
from finops_mcp.schemas import compact_schema
from finops_mcp.server import parse_request

TOOLS: dict[str, type[BaseModel]] = {
    "get_cost": GetCostRequest,
    "run_finops_audit": RunAuditRequest,
    "get_budget_status": GetBudgetStatusRequest,
}


def _unbounded(node: Any, path: str = "") -> list[str]:
    """Paths of arrays without maxItems, free strings without maxLength, maps without maxProperties."""
    if not isinstance(node, dict):
        return []
    found: list[str] = []
    kind = node.get("type")
    if kind == "array" and "maxItems" not in node:
        found.append(path)
    if kind == "string" and not ({"enum", "format", "maxLength", "const"} & node.keys()):
        found.append(path)
    if (
        kind == "object"
        and isinstance(node.get("additionalProperties"), dict)
        and "maxProperties" not in node
    ):
        found.append(path)
    for key, sub in node.get("properties", {}).items():
        found += _unbounded(sub, f"{path}.{key}")
    for key in ("items", "additionalProperties", "propertyNames"):
        found += _unbounded(node.get(key), f"{path}.{key}")
    for sub in node.get("anyOf", []):
        found += _unbounded(sub, path)
    return found


@pytest.mark.parametrize("tool", TOOLS)
def test_the_advertised_schema_bounds_every_list_string_and_map(tool: str) -> None:
    schema = compact_schema(TOOLS[tool].model_json_schema())
    assert _unbounded(schema) == []


def _bounded_fields(tool: str) -> list[str]:
    schema = compact_schema(TOOLS[tool].model_json_schema())
    fields = [f for f, s in schema["properties"].items() if s.get("type") == "array"]
    if "filters" in schema["properties"]:
        fields += [f"filters.{f}" for f in schema["properties"]["filters"]["properties"]]
    return fields


def _nest(path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    return {head: _nest(rest, value) if rest else value}


OVERSIZED: dict[str, Any] = {
    "providers": ["aws", "azure", "gcp", "focus", "aws"],
    "group_by": ["service", "region", "account"],
    "filters.tags": {f"k{i}": ["v"] for i in range(2_000)},
}


CASES = [pytest.param(tool, field, id=f"{tool}-{field}") for tool in TOOLS for field in _bounded_fields(tool)]


@pytest.mark.parametrize(("tool", "field"), CASES)
def test_too_many_items_are_refused_at_once_naming_the_field(tool: str, field: str) -> None:
    value = OVERSIZED.get(field, [f"x{i}" for i in range(100_000)])
    started = time.perf_counter()
    with pytest.raises(ToolError) as info:
        parse_request(tool, TOOLS[tool], _nest(field, value))
    assert time.perf_counter() - started < 1.0  # refused before any work (the fuzz run saw 23-60 s)
    text = str(info.value)
    assert f"- {field}:" in text and "at most" in text


@pytest.mark.parametrize(
    ("tool", "field"), [c for c in CASES if c.values[1] not in ("providers", "filters.tags")]
)
def test_too_long_strings_are_refused_naming_the_item(tool: str, field: str) -> None:
    with pytest.raises(ToolError) as info:
        parse_request(tool, TOOLS[tool], _nest(field, ["y" * (MAX_TEXT_LENGTH + 1)]))
    assert f"- {field}.0: String should have at most {MAX_TEXT_LENGTH} characters" in str(info.value)


def test_tag_filters_bound_keys_values_and_count() -> None:
    ok = {f"k{i}": ["v"] * MAX_LIST_ITEMS for i in range(MAX_TAG_FILTERS)}
    assert GetCostRequest.model_validate({"filters": {"tags": ok}}).filters is not None
    for tags, where in [
        ({"team": ["v"] * (MAX_LIST_ITEMS + 1)}, "filters.tags.team"),
        ({"team": ["v" * (MAX_TEXT_LENGTH + 1)]}, "filters.tags.team.0"),
    ]:
        with pytest.raises(ToolError, match=f"- {where.replace('.', '[.]')}:"):
            parse_request("get_cost", GetCostRequest, {"filters": {"tags": tags}})


def test_a_huge_number_of_errors_gives_a_short_answer() -> None:
    with pytest.raises(ToolError) as info:
        parse_request("get_budget_status", GetBudgetStatusRequest, {"names": ["z" * 300] * MAX_LIST_ITEMS})
    text = str(info.value)
    assert text.count("\n- names.") == 10 and "and 190 more" in text and len(text) < 3_000


def test_a_huge_min_monthly_cost_is_refused() -> None:
    with pytest.raises(ToolError, match="min_monthly_cost"):
        parse_request("run_finops_audit", RunAuditRequest, {"min_monthly_cost": "1e99999999"})
