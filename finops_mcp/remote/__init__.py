"""Remote and scheduled use: streamable HTTP with OAuth, the `call` client for jobs, the audit log.

Modules here are imported only where they are used: `audit` by every server (it is light), the
others (JWT, JWKS over HTTP, uvicorn, the OAuth client) only by `serve --transport http` and `call`,
so the stdio server's start-up never pays for them.
"""
