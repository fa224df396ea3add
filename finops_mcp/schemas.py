"""Compact JSON schemas for tools/list: every character there is context a model pays for.

Inlines `$defs` and drops auto-generated titles. Input schemas turn `anyOf: [X, null]` into X (the
field is optional anyway). Output schemas (`output=True`) must validate every result, nulls
included, so they keep nullability in its shortest form (`"type": ["number", "null"]`, or
`anyOf` where X is no plain type) and drop descriptions and defaults (they validate nothing).
Property names are never touched.
"""

from __future__ import annotations

from typing import Any

_NESTED_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")


def compact_schema(schema: dict[str, Any], *, output: bool = False) -> dict[str, Any]:
    defs = {**schema.get("$defs", {}), **schema.get("definitions", {})}

    def walk(node: Any, depth: int = 0) -> Any:
        if depth > 50:
            return node
        if isinstance(node, list):
            return [walk(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node and isinstance(node["$ref"], str):
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in defs:
                merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged, depth + 1)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$defs", "definitions", "title"):
                continue
            if output and key in ("description", "default"):
                continue
            if key in _NESTED_SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: walk(sub, depth + 1) for name, sub in value.items()}
            else:
                out[key] = walk(value, depth + 1)
        any_of = out.get("anyOf")
        if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
            other = next(s for s in any_of if s != {"type": "null"})
            del out["anyOf"]
            if out.get("default", "missing") is None:
                del out["default"]
            out = {**(_nullable(other) if output else other), **out}
        return out

    result = walk(schema)
    assert isinstance(result, dict)
    return result


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null, in as few characters as still validate exactly that."""
    kind = schema.get("type")
    if isinstance(kind, str) and not {"anyOf", "oneOf", "allOf", "const"} & set(schema):
        widened: dict[str, Any] = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            widened["enum"] = [*schema["enum"], None]
        return widened
    return {"anyOf": [schema, {"type": "null"}]}
