"""Property-based fuzz of the three tools through a real in-process MCP client (issue 12).

Arguments come from each tool's ADVERTISED input schema (`tools/list` inputSchema, through the
small JSON Schema strategy builder `from_schema` below: what a model reading the schema could send;
hypothesis-jsonschema 0.23 does not run on current hypothesis), and from deliberately invalid
values put into an advertised or an unknown field: wrong types, oversized strings, lists and maps,
lone UTF-16 surrogates, nesting 240 levels deep (what the client can send). The server runs over
generated FOCUS demo data (DuckDB, no network). Every call must be answered within
`CALL_TIMEOUT` seconds with a result or a tool error: never a hang, a protocol error, or traceback
text; a successful answer is structured. Bounded for CI (`derandomize=True`: the same examples
every run; well under a minute).
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.client import Client
from mcp_types import CallToolResult, TextContent

from finops_mcp.server import build_server
from finops_mcp.settings import Settings

CALL_TIMEOUT = 20.0  # seconds; a valid call over the demo data takes well under one
FUZZ: dict[str, Any] = dict(
    derandomize=True,
    database=None,
    deadline=None,  # the answer's time is bounded by CALL_TIMEOUT instead (first calls warm DuckDB up)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid under `schema`, for the keywords the tools' input schemas use (type, enum,
    format: date, maxLength, minimum / maximum, items / maxItems, properties / additionalProperties
    / propertyNames / maxProperties). Any other keyword fails here, so the builder keeps up with
    the schemas; strings are short and lists small (bounds are probed with invalid values)."""
    unknown = schema.keys() - {
        "type", "enum", "format", "maxLength", "minimum", "maximum", "items", "maxItems", "properties",
        "additionalProperties", "propertyNames", "maxProperties", "description", "default", "title",
    }  # fmt: skip
    assert not unknown, f"the fuzz's schema builder does not know {sorted(unknown)}"
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    if kind == "string" or kind is None:
        return st.text(max_size=min(schema.get("maxLength", 40), 40))
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        ints = st.integers(min_value=low, max_value=high)
        if kind == "integer":
            return ints
        return ints | st.decimals(min_value=low, max_value=high, places=2, allow_nan=False).map(float)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=min(schema.get("maxItems", 5), 5))
    assert kind == "object", f"unexpected schema type {kind!r}"
    properties = schema.get("properties", {})
    if properties:
        return st.fixed_dictionaries({}, optional={k: from_schema(v) for k, v in properties.items()})
    values = schema.get("additionalProperties")
    assert isinstance(values, dict), "a map needs its value schema"
    return st.dictionaries(
        from_schema(schema.get("propertyNames", {})),
        from_schema(values),
        max_size=min(schema.get("maxProperties", 5), 5),
    )


def nested(depth: int, leaf: Any) -> Any:
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


# Values no advertised field accepts, or accepts only up to a bound much smaller than these.
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["\ud800", "a\udfffb", "\udbff\udc00\ud800", "\x00", "${jndi:x}", "'; DROP TABLE x; --"]),
    st.integers(min_value=300, max_value=200_000).map(lambda n: "x" * n),  # past every maxLength
    st.integers(min_value=201, max_value=100_000).map(lambda n: ["us-east-1"] * n),  # past maxItems
    st.integers(min_value=51, max_value=5_000).map(lambda n: {f"k{i}": ["v"] for i in range(n)}),
    # the client itself cannot serialize past ~250 levels (pydantic); 10,000 deep: test_mcp_stdio.py
    st.tuples(st.integers(min_value=20, max_value=240), st.sampled_from(["x", 1, None])).map(
        lambda t: nested(*t)
    ),
    st.lists(st.integers() | st.text(max_size=5), max_size=5),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=5),
)


def invalid_arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """One advertised (or an unknown) field set to junk, the others valid or absent."""
    fields = [*sorted(schema.get("properties", {})), "no_such_field"]
    return st.tuples(st.sampled_from(fields), JUNK, from_schema(schema)).map(lambda t: {**t[2], t[0]: t[1]})


def assert_answered(name: str, arguments: dict[str, Any], result: CallToolResult) -> None:
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    assert texts, f"{name}: an answer without text content"
    for text in texts:
        assert "Traceback" not in text and 'File "' not in text, f"{name}: traceback text: {text[:500]}"
    if result.is_error:
        assert texts[0].strip(), f"{name}: an empty tool error"
    else:
        assert isinstance(result.structured_content, dict), f"{name}: a result without structured content"


async def test_every_fuzzed_call_gets_an_answer(demo_settings: Settings) -> None:
    async with Client(build_server(demo_settings)) as client:
        schemas = {t.name: t.input_schema for t in (await client.list_tools()).tools}
        assert set(schemas) == {"get_cost", "run_finops_audit", "get_budget_status"}

        async def call(name: str, arguments: dict[str, Any]) -> CallToolResult:
            with anyio.fail_after(CALL_TIMEOUT):  # a hang fails the example
                return await client.call_tool(name, arguments)

        def check(name: str, arguments: dict[str, Any]) -> None:
            result = anyio.from_thread.run(call, name, arguments)
            assert_answered(name, arguments, result)

        tools = st.sampled_from(sorted(schemas))
        valid = tools.flatmap(lambda n: st.tuples(st.just(n), from_schema(schemas[n])))
        invalid = tools.flatmap(lambda n: st.tuples(st.just(n), invalid_arguments(schemas[n])))

        @settings(max_examples=100, **FUZZ)
        @given(valid)
        def advertised(call: tuple[str, dict[str, Any]]) -> None:
            check(*call)

        @settings(max_examples=250, **FUZZ)
        @given(invalid)
        def invalid_values(call: tuple[str, dict[str, Any]]) -> None:
            check(*call)

        # hypothesis drives from a worker thread; each call goes back to this loop and its session
        await anyio.to_thread.run_sync(advertised)
        await anyio.to_thread.run_sync(invalid_values)
        still = await client.call_tool("get_budget_status", {})  # and the server still serves
        assert not still.is_error
