"""What the HTTP read-only guards share (Azure's pipeline policy, GCP's session guard): the refusal
and the test that lets a request through as a read. AWS refuses by operation name instead
(`aws.guard`), before botocore builds a request.

Every guard runs before a request is sent, so a refused call never leaves this process.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from finops_mcp.errors import ScopeFailure


class ReadOnlyViolation(ScopeFailure):
    """A request that is not a read was about to be sent: refused, nothing left this process."""

    def __init__(self, method: str, path: str, why: str) -> None:
        super().__init__(
            "forbidden", f"finops-mcp is read-only: refused {method} {path} before sending it ({why})"
        )
        self.method = method
        self.path = path


def http_read(method: str, url: str, *read_posts: re.Pattern[str]) -> tuple[str, str, bool]:
    """(the upper-case method, the URL's path, whether the request is a read): a GET or HEAD, or a
    POST to a path one of `read_posts` finds (a query API that reads)."""
    method, path = method.upper(), urlsplit(url).path
    reads = method in ("GET", "HEAD") or (method == "POST" and any(p.search(path) for p in read_posts))
    return method, path, reads
