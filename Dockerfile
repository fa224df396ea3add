# A team server: finops-mcp over streamable HTTP with OAuth (docs/remote.md#in-a-container).
#   docker build -t finops-mcp-server .
#   docker run -p 8765:8765 -e FINOPS_AUTH_ISSUER=... -e FINOPS_AUTH_AUDIENCE=... finops-mcp-server
# Off the loopback interface the server refuses to start without OAuth: that is on purpose.

# --- build the wheel from this checkout ---------------------------------------------------------
FROM python:3.12-slim AS build
WORKDIR /src
RUN python -m pip install --no-cache-dir build
COPY pyproject.toml README.md LICENSE CHANGELOG.md server.json MANIFEST.in ./
COPY finops_mcp ./finops_mcp
RUN python -m build --wheel --outdir /dist .

# --- runtime: the wheel and its dependencies, nothing else ---------------------------------------
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FINOPS_LOG_LEVEL=WARNING \
    XDG_CACHE_HOME=/home/finops/.cache
COPY --from=build /dist/*.whl /tmp/
RUN python -m pip install /tmp/*.whl && rm /tmp/*.whl \
 && useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin finops
USER 10001:10001
WORKDIR /home/finops
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=4)"]
ENTRYPOINT ["finops-mcp-server", "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "8765"]
