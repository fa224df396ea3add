"""Every registered check is one complete declaration, documented and permitted.

No test counts checks: adding one is its declaration, its test and its docs/checks.md section.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finops_mcp.providers import IMPLEMENTED
from finops_mcp.providers.base import COST_MEASURE, Check
from finops_mcp.providers.catalog import BEGIN, END, all_checks, catalog_markdown, with_catalog
from finops_mcp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHECKS_DOC = (DOCS / "checks.md").read_text(encoding="utf-8")
CATALOG = all_checks()
ID_RE = re.compile(r"^[a-z]+(\.[a-z0-9_]+){1,2}$")


def section(doc: str, heading: str) -> str:
    """The text from the heading line that starts with `heading` to the next heading."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def test_ids_are_unique_stable_shaped_and_of_an_implemented_provider() -> None:
    ids = [c.id for c in CATALOG]
    assert ids and len(ids) == len(set(ids))
    for check in CATALOG:
        assert ID_RE.match(check.id), check.id
        assert check.provider in IMPLEMENTED, check.id
        assert check.title and check.description and check.recommendation, check.id


def test_the_generated_table_in_docs_is_current() -> None:
    assert BEGIN in CHECKS_DOC and END in CHECKS_DOC
    assert with_catalog(CHECKS_DOC, catalog_markdown()) == CHECKS_DOC, (
        "docs/checks.md is stale: run `python -m finops_mcp.providers.catalog`"
    )


def test_every_check_has_a_section_and_every_section_a_check() -> None:
    documented = set(re.findall(r"^### ([a-z]+\.[a-z0-9_.]+)\s*$", CHECKS_DOC, re.M))
    assert documented == {c.id for c in CATALOG}


@pytest.mark.parametrize("check", CATALOG, ids=lambda c: c.id)
def test_parameters_are_documented_settings(check: Check[Any]) -> None:
    text = section(CHECKS_DOC, f"### {check.id}")
    for param in check.params:
        assert param.setting in Settings.model_fields, param.setting
        assert param.env in text, f"{param.env} is not named in the {check.id} section"
        assert param.env in check.description, f"{check.id}'s description does not name {param.env}"
        assert param.description


@pytest.mark.parametrize("check", CATALOG, ids=lambda c: c.id)
def test_declared_permissions_are_in_the_providers_least_privilege_policy(check: Check[Any]) -> None:
    if not check.permissions:
        assert check.provider == "focus", f"{check.id} declares no permissions"
        return
    doc = (DOCS / "providers" / f"{check.provider}.md").read_text(encoding="utf-8")
    heading = next(line for line in doc.splitlines() if "Least-privilege" in line and line.startswith("#"))
    policy = section(doc, heading)
    for permission in check.permissions:
        assert re.search(rf"(?<![\w.:/]){re.escape(permission)}(?![\w.:/])", policy), (
            f"{check.id}: {permission} is missing from the least-privilege policy in "
            f"docs/providers/{check.provider}.md"
        )


@pytest.mark.parametrize("check", CATALOG, ids=lambda c: c.id)
def test_ladders_run_from_the_highest_threshold_down(check: Check[Any]) -> None:
    if check.ladder is None:
        return
    thresholds = [t for t, _ in check.ladder.steps]
    assert thresholds == sorted(thresholds, reverse=True) and len(set(thresholds)) == len(thresholds)


@pytest.mark.parametrize("check", CATALOG, ids=lambda c: c.id)
def test_the_finding_factory_carries_the_checks_metadata(check: Check[Any]) -> None:
    found = check.finding(scope="x:1", resource_id="r", detail="d", cost=Decimal(0), currency="USD")
    assert (found.check, found.provider, found.category) == (check.id, check.provider, check.category)
    assert (found.resource_type, found.cost_basis) == (check.resource_type, check.cost_basis)
    assert found.recommendation == check.recommendation
    if check.ladder is not None and check.ladder.measure == COST_MEASURE:
        assert found.severity == check.ladder.grade(0)
        top, severity = check.ladder.steps[0]
        assert (
            check.finding(
                scope="x:1", resource_id="r", detail="d", cost=Decimal(top), currency="USD"
            ).severity
            == severity
        )
    else:
        assert found.severity == check.severity
    explicit = check.finding(
        scope="x:1", resource_id="r", detail="d", cost=Decimal(0), currency="USD", severity="high"
    )
    assert explicit.severity == "high"


@pytest.mark.parametrize("check", CATALOG, ids=lambda c: c.id)
def test_the_json_description_carries_the_declaration(check: Check[Any]) -> None:
    import json

    described = json.loads(json.dumps(check.describe()))
    assert described["id"] == check.id and described["category"] == check.category
    assert described["permissions"] == list(check.permissions)
    assert [s["name"] for s in described["settings"]] == [p.env for p in check.params]
    assert (described["severity_ladder"] is None) == (check.ladder is None)
