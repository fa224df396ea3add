"""The distribution users install: its name, console scripts, version, licence, registry entry,
install lines in the docs, container and release workflow all agree.

The package index's `finops-mcp` is an unrelated product: every line that installs from the index
must name `finops-mcp-server`.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest
import yaml

import finops_mcp
from finops_mcp.settings import Settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DIST = "finops-mcp-server"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SERVER_JSON = json.loads((ROOT / "server.json").read_text())


def doc_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / ".env.example", *sorted((ROOT / "docs").rglob("*.md"))]


# --- name and console scripts -------------------------------------------------------------------
def test_distribution_name_and_console_scripts() -> None:
    project = PYPROJECT["project"]
    assert project["name"] == DIST
    scripts = project["scripts"]
    assert scripts[DIST] == "finops_mcp.__main__:main"  # `uvx finops-mcp-server` runs the server
    assert scripts["finops-mcp"] == scripts[DIST]  # the alias existing configs use


def test_installed_metadata_matches_the_project() -> None:
    """The environment under test has this distribution installed, with both console scripts."""
    dist = metadata.distribution(DIST)
    assert dist.version == finops_mcp.__version__
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {DIST: "finops_mcp.__main__:main", "finops-mcp": "finops_mcp.__main__:main"}


def test_one_version_everywhere() -> None:
    version = PYPROJECT["project"]["version"]
    assert finops_mcp.__version__ == version
    assert SERVER_JSON["version"] == version
    assert [p["version"] for p in SERVER_JSON["packages"]] == [version]
    assert re.search(rf"^## \[{re.escape(version)}\]", (ROOT / "CHANGELOG.md").read_text(), re.M), (
        f"CHANGELOG.md has no section for {version}"
    )


# --- licence ------------------------------------------------------------------------------------
def test_apache_license_text_is_shipped() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert "include LICENSE" in (ROOT / "MANIFEST.in").read_text()


# --- server.json for the MCP registry ----------------------------------------------------------
def test_server_json_validates_against_the_registry_schema() -> None:
    schema = json.loads((ROOT / "tests" / "schemas" / "server.schema.json").read_text())
    assert SERVER_JSON["$schema"] == schema["$id"]
    assert re.search(r"/schemas/(\d{4}-\d{2}-\d{2})/", schema["$id"]).group(1) >= "2025-09-29"  # type: ignore[union-attr]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(SERVER_JSON), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_vendored_schema_rejects_what_the_registry_rejects() -> None:
    """The validation above can fail: broken copies of server.json are refused."""
    schema = json.loads((ROOT / "tests" / "schemas" / "server.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    package = SERVER_JSON["packages"][0]
    broken = [
        {**SERVER_JSON, "name": "finops-mcp-server"},  # not reverse-DNS namespace/name
        {**SERVER_JSON, "description": "x" * 101},
        {**SERVER_JSON, "packages": [{**package, "version": "latest"}]},
        {**SERVER_JSON, "packages": [{k: v for k, v in package.items() if k != "transport"}]},
    ]
    for doc in broken:
        assert list(validator.iter_errors(doc)), doc


def test_server_json_names_the_distribution_over_stdio() -> None:
    assert SERVER_JSON["name"].startswith("io.github.") and SERVER_JSON["name"].endswith("/" + DIST)
    (package,) = SERVER_JSON["packages"]
    assert package["registryType"] == "pypi"
    assert package["registryBaseUrl"] == "https://pypi.org"
    assert package["identifier"] == DIST
    assert package["transport"] == {"type": "stdio"}
    # the registry checks PyPI ownership by this marker in the package description (README)
    assert f"mcp-name: {SERVER_JSON['name']}" in (ROOT / "README.md").read_text()


def test_server_json_environment_variables_are_real_and_described() -> None:
    (package,) = SERVER_JSON["packages"]
    variables = package["environmentVariables"]
    names = [v["name"] for v in variables]
    assert len(names) == len(set(names))
    settings = {f"FINOPS_{name.upper()}" for name in Settings.model_fields}
    for var in variables:
        assert len(var["description"]) >= 20, var
        if var["name"].startswith("FINOPS_"):
            assert var["name"] in settings, f"{var['name']} is not a setting"
        if "SECRET" in var["name"]:
            assert var.get("isSecret") is True, var
    assert {"FINOPS_PROVIDERS", "FINOPS_FOCUS_PATHS", "FINOPS_AWS_PROFILES"} <= set(names)


# --- install lines in the docs ----------------------------------------------------------------
LOCAL = re.compile(r"^(\.(\[.*\])?|\./.*|/.*|.*\.whl|.*\.tar\.gz|dist/.*)$")


VALUE_OPTIONS = {"--python", "-p", "--with", "--index-url", "-i", "--extra-index-url", "-c", "--constraint"}


def index_packages(line: str) -> list[str]:
    """The index packages a `uvx ...` / `pip install ...` command line asks for (local paths excluded)."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    found: list[str] = []
    for i, word in enumerate(words):
        if word == "uvx":
            rest = words[i + 1 :]
            if "--from" in rest:
                found.append(rest[rest.index("--from") + 1])
            else:
                found.extend(first_positional(rest)[:1])
        elif word == "install" and i and words[i - 1] in ("pip", "pip3", "pipx"):
            found.extend(first_positional(words[i + 1 :], every=True))
    return [p for p in found if not LOCAL.match(p)]


def first_positional(words: list[str], every: bool = False) -> list[str]:
    """Positional arguments up to the end of the command (option values skipped)."""
    out: list[str] = []
    skip = False
    for word in words:
        if word in ("&&", ";", "|", "||", ">", ">>"):
            break
        if skip:
            skip = False
        elif word in VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
            if not every:
                break
    return out


def base_name(spec: str) -> str:
    return re.split(r"[\[@=<>!~ ;]", spec, maxsplit=1)[0].lower()


def install_lines() -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for path in doc_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\buvx\b|\buv tool run\b|\bpip3? install\b|\bpipx install\b", line):
                lines.append((f"{path.relative_to(ROOT)}:{number}", line.strip().strip("`")))
    return lines


def test_every_install_line_from_the_index_names_the_distribution() -> None:
    lines = install_lines()
    assert len(lines) >= 5, lines  # the README's install block and client configs at least
    for where, line in lines:
        for spec in index_packages(line):
            assert base_name(spec) == DIST, f"{where}: `{line}` installs {spec!r}, not {DIST}"


def test_client_configs_run_the_distribution_at_latest() -> None:
    readme = (ROOT / "README.md").read_text()
    configs = [
        json.loads(block) for block in re.findall(r"```json\n(\{\n  \"mcpServers\".*?)```", readme, re.S)
    ]
    assert len(configs) == 2  # Claude Desktop, Amazon Q / Kiro
    for config in configs:
        (server,) = config["mcpServers"].values()
        assert server["command"] == "uvx" and server["args"] == [f"{DIST}@latest"]


@pytest.mark.parametrize(
    ("line", "packages"),
    [
        ("uvx finops-mcp --help", ["finops-mcp"]),
        ("uvx finops-mcp-server@latest --help", ["finops-mcp-server@latest"]),
        ("uvx --from finops-mcp python -", ["finops-mcp"]),
        ("uvx --from . finops-mcp-server --help", []),
        ("pip install finops-mcp  # comment", ["finops-mcp"]),
        ("pip install -e '.[dev]' finops-mcp-server==0.1.0", ["finops-mcp-server==0.1.0"]),
        ('"args": ["finops-mcp"],', []),  # a JSON args line is checked by the client-config test
    ],
)
def test_install_line_parser(line: str, packages: list[str]) -> None:
    """The scanner above sees the wrong name (so the test over the docs can fail)."""
    assert index_packages(line) == packages


# --- container and release workflow ------------------------------------------------------------
def test_dockerfile_runs_the_http_server_as_a_non_root_user_with_a_health_check() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages and all(
        re.fullmatch(r"python:3\.\d+-slim(?: AS \w+)?", s) or s.endswith("-slim") for s in stages
    )
    runtime = text.rsplit("\nFROM ", 1)[1]
    user = re.search(r"^USER (\S+)", runtime, re.M)
    assert user and user.group(1).split(":")[0] not in ("0", "root")
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", runtime, re.M).group(1))  # type: ignore[union-attr]
    assert entry[:4] == [DIST, "serve", "--transport", "http"]
    health = re.search(r"^HEALTHCHECK .*CMD (\[.*\])$", runtime.replace("\\\n", " "), re.M)
    assert health and "/healthz" in health.group(1)
    from finops_mcp.remote.http import HEALTH_PATH

    assert HEALTH_PATH == "/healthz"  # what the e2e HTTP tests ask and get 200 from


def test_release_workflow_builds_tests_the_wheel_and_publishes_without_a_token() -> None:
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    workflow = yaml.safe_load(text)
    jobs = workflow["jobs"]
    publish = jobs["publish"]
    assert any("pypi-publish" in step.get("uses", "") for step in publish["steps"])
    assert publish["permissions"]["id-token"] == "write"  # trusted publishing (OIDC)
    for step in publish["steps"]:
        assert "password" not in step.get("with", {}), "trusted publishing needs no token"
    assert not re.search(r"PYPI_(API_)?TOKEN|secrets\.PYPI", text)
    assert "python -m build" in text
    assert f"uvx --from dist/*.whl {DIST} --help" in text or f'uvx --from "$wheel" {DIST} --help' in text
    assert ".ci/test-wheel dist" in text
    assert set(publish["needs"]) == {"build", "test-wheel"}  # nothing is published untested
    assert publish["if"].startswith("startsWith(github.ref, 'refs/tags/v')")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and ".ci/wheel-smoke" in ci
