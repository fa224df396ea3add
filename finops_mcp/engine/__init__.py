"""Shared machinery every provider uses: fan-out, cache, retry, call context, billed counter."""
