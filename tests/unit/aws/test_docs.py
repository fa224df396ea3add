"""The IAM policy in docs/providers/aws.md lists exactly the AWS actions the provider's code calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

from finops_mcp.providers.aws import guard

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = Path(guard.__file__).parent  # the code under test: a checkout, or an installed wheel
# api_call(ctx, <client expression>, "operation", ...) / api_pages(...)
CALL_RE = re.compile(r'api_(?:call|pages)\(\s*ctx,\s*(?:[^,()]|\([^()]*\))+,\s*"([a-z0-9_]+)"')
IAM_NAME = {
    "DescribeBudgets": "ViewBudget",
    "DescribeNotificationsForBudget": "ViewBudget",
    "GetEc2InstanceRecommendations": "GetEC2InstanceRecommendations",  # IAM spells the acronyms
    "GetEbsVolumeRecommendations": "GetEBSVolumeRecommendations",
    "DescribeDbInstances": "DescribeDBInstances",
}


def code_operations() -> set[str]:
    ops: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        ops.update(CALL_RE.findall(text))
        ops.update(re.findall(r"\.(assume_role)\(", text))
        # an operation chosen before the call, or named in a table of calls (`op="..."`)
        ops.update(re.findall(r'\bop\s?=\s?"([a-z0-9_]+)"', text))
    return {"".join(part.title() for part in op.split("_")) for op in ops}


def policy_actions() -> set[str]:
    doc = (ROOT / "docs" / "providers" / "aws.md").read_text()
    block = doc.split("## Least-privilege IAM policy", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    policy = json.loads(block)
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_policy_lists_exactly_the_operations_called() -> None:
    ops = code_operations()
    assert len(ops) >= 18, ops
    actions = policy_actions()
    names = {a.split(":", 1)[1] for a in actions}
    assert {IAM_NAME.get(op, op) for op in ops} == names


def test_every_operation_called_passes_the_read_only_guard() -> None:
    for op in code_operations():
        assert guard.is_read_operation("sts", op), op
    assert not guard.is_read_operation("ec2", "TerminateInstances")
    assert not guard.is_read_operation("ec2", "AssumeRole")
