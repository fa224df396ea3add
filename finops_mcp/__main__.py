"""Entry point of `finops-mcp` and `python -m finops_mcp`.

With no arguments it starts the stdio MCP server straight away, without importing the CLI stack
(typer), so an MCP client sees `tools/list` answered as fast as possible.
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) <= 1:
        from finops_mcp.server import run_stdio
        from finops_mcp.settings import SettingsError, load_settings

        try:
            settings = load_settings()
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            raise SystemExit(2) from None
        run_stdio(settings)
        return
    from finops_mcp.cli import app

    app()


if __name__ == "__main__":
    main()
