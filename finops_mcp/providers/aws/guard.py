"""Read-only by construction: every boto3 client this provider creates refuses, before anything
is sent, any operation that is not a read.

The hook runs on botocore's `before-parameter-build` event, the first event of every API call
(`client.<op>(...)`, paginators and waiters alike), so a refused call is never serialized, signed
or sent. Allowed: operation names starting with a read verb (`READ_PREFIXES`), plus the few
non-read operations the provider needs to read at all (`EXTRA_ALLOWED`: assuming the read-only
role in a member account). A client may allow a few more by name (`install(..., also=...)`: the
Athena backend starts and stops the SELECT queries it has itself checked).
"""

from __future__ import annotations

from typing import Any

READ_PREFIXES = ("Describe", "List", "Get", "Search", "Lookup", "BatchGet")
EXTRA_ALLOWED: frozenset[tuple[str, str]] = frozenset({("sts", "AssumeRole")})


class ReadOnlyViolation(PermissionError):
    """A non-read AWS operation was attempted; it was refused before being sent."""

    def __init__(self, service: str, operation: str) -> None:
        super().__init__(
            f"finops-mcp is read-only: refused to call {service}:{operation} (only Describe/List/Get "
            "operations are allowed; nothing was sent)"
        )
        self.service = service
        self.operation = operation


def is_read_operation(service: str, operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or (service, operation) in EXTRA_ALLOWED


def install(client: Any, also: frozenset[str] = frozenset()) -> Any:
    """Register the guard on a boto3 client's event system; returns the client. `also` names the
    further operations this one client may call."""
    service = client.meta.service_model.service_name  # e.g. "ec2", "sts", "elbv2"

    def refuse_writes(model: Any = None, **_: Any) -> None:
        name = getattr(model, "name", "")
        if not is_read_operation(service, name) and name not in also:
            raise ReadOnlyViolation(service, name)

    client.meta.events.register("before-parameter-build", refuse_writes, unique_id="finops-mcp-read-only")
    return client
