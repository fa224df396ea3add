"""stderr logging: one masked line per record, code and correlation id, tracebacks only at DEBUG,
the SDKs' wire loggers quiet unless FINOPS_LOG_SDK_TRAFFIC asks; the secrets masking behind it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from finops_mcp import errors, logs
from finops_mcp.errors import load_secrets_from_environment, mask, redact, register_secret
from finops_mcp.settings import load_settings


class Stderr:
    """What the process wrote to stderr (pytest's capsys), since the last read or `clear`."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def getvalue(self) -> str:
        return self.capsys.readouterr().err

    def clear(self) -> None:
        self.capsys.readouterr()


@pytest.fixture()
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Stderr]:
    """stderr captured; the root logger and the wire loggers restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    wire = {name: logging.getLogger(name).level for name in logs.WIRE_LOGGERS}
    yield Stderr(capsys)
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in wire.items():
        logging.getLogger(name).setLevel(value)
    logging.captureWarnings(False)


def _boom() -> None:
    raise RuntimeError("upstream said no\nsecond line")


def test_one_line_with_code_and_correlation_id_and_no_traceback(stderr: Stderr) -> None:
    logs.configure(load_settings(log_level="WARNING"))
    token = logs.CORRELATION_ID.set("cid-123")
    try:
        logging.getLogger("finops_mcp.test").warning("scope %s failed", "aws:1", extra={"code": "throttled"})
        try:
            _boom()
        except RuntimeError:
            logging.getLogger("mcp.shared.jsonrpc_dispatcher").exception(
                "handler for %r raised", "tools/call"
            )
    finally:
        logs.CORRELATION_ID.reset(token)
    lines = stderr.getvalue().splitlines()
    assert lines == [
        "WARNING finops_mcp.test code=throttled cid=cid-123: scope aws:1 failed",
        "ERROR mcp.shared.jsonrpc_dispatcher code=RuntimeError cid=cid-123: handler for 'tools/call' raised "
        "(RuntimeError: upstream said no second line)",
    ]


def test_the_traceback_only_at_debug(stderr: Stderr) -> None:
    logs.configure(load_settings(log_level="DEBUG"))
    try:
        _boom()
    except RuntimeError:
        logging.getLogger("finops_mcp.test").exception("it failed")
    text = stderr.getvalue()
    assert text.startswith(
        "ERROR finops_mcp.test code=RuntimeError: it failed\nTraceback (most recent call last):"
    )
    assert "in _boom" in text


def test_every_line_is_masked_at_every_level(stderr: Stderr, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "sup3r~secret/value")
    logs.configure(load_settings(log_level="DEBUG"))
    log = logging.getLogger("finops_mcp.test")
    log.debug("body: grant_type=client_credentials&client_secret=sup3r~secret%2Fvalue")
    log.info("echo %s", {"seen": "sup3r~secret/value"})
    try:
        raise ValueError("got sup3r~secret/value back")
    except ValueError:
        log.exception("failed")
    text = stderr.getvalue()
    assert "sup3r" not in text and text.count("[REDACTED]") >= 3


def test_wire_loggers_are_quiet_unless_asked(stderr: Stderr) -> None:
    logs.configure(load_settings(log_level="DEBUG"))
    logging.getLogger("botocore.endpoint").debug("Making request for OperationModel ... headers")
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request URL: ...")
    logging.getLogger("urllib3.connectionpool").debug("https://x:443 GET /?sig=abc")
    logging.getLogger("botocore.credentials").warning("Refreshing temporary credentials failed")
    assert stderr.getvalue().splitlines() == [
        "WARNING botocore.credentials: Refreshing temporary credentials failed"
    ]

    stderr.clear()
    logs.configure(load_settings(log_level="DEBUG", log_sdk_traffic=True))
    logging.getLogger("botocore.endpoint").debug("Making request for OperationModel")
    lines = stderr.getvalue().splitlines()
    assert (
        lines[0].startswith("WARNING finops_mcp.logs: FINOPS_LOG_SDK_TRAFFIC is on")
        and "HTTP traffic" in lines[0]
    )
    assert lines[1] == "DEBUG botocore.endpoint: Making request for OperationModel"


def test_configure_replaces_its_own_handler(stderr: Stderr) -> None:
    logs.configure(load_settings())
    logs.configure(load_settings())
    logging.getLogger("finops_mcp.test").warning("once")
    assert stderr.getvalue() == "WARNING finops_mcp.test: once\n"


def test_library_warnings_are_logged_on_one_masked_line(stderr: Stderr) -> None:
    import warnings

    logs.configure(load_settings())
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(True)  # catch_warnings restored showwarning on entry
        warnings.warn("Unverified HTTPS request to https://x/?sig=abcdef123", stacklevel=1)
    text = stderr.getvalue()
    assert text.startswith("WARNING py.warnings:") and text.count("\n") == 1 and "abcdef123" not in text


def test_long_lines_are_cut_below_debug(stderr: Stderr) -> None:
    logs.configure(load_settings())
    logging.getLogger("finops_mcp.test").warning("x" * 100_000)
    assert len(stderr.getvalue()) <= logs.MAX_LINE + 1


# --------------------------------------------------------------------------------- masking


@pytest.fixture()
def no_known_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors, "_known_secrets", set())
    monkeypatch.setattr(errors, "_known_pattern", None)
    monkeypatch.setattr(errors, "_environment_loaded", True)


@pytest.mark.usefixtures("no_known_secrets")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD"),
        ("AZURE_CLIENT_SECRET", "Zx9~s3cr+t/v=alue-7Q"),
        ("AZURE_STORAGE_KEY", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq=="),
        ("FINOPS_CLIENT_SECRET", "ci-job-secret-123"),
        ("FINOPS_SNOWFLAKE_SECRET_X", "another-one-456"),
        ("GITHUB_TOKEN", "ghp_abcdefghijklmnop"),
    ],
)
def test_secret_environment_variables_are_masked_in_every_form(name: str, value: str) -> None:
    from urllib.parse import quote, quote_plus

    load_secrets_from_environment({name: value, "FINOPS_LOG_LEVEL": "DEBUG", "AWS_ACCESS_KEY_ID_FILE": "/x"})
    for form in {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}:
        assert mask(f"the server said {form}!") == "the server said [REDACTED]!"
    assert mask("level DEBUG") == "level DEBUG"  # other variables are not secrets


@pytest.mark.usefixtures("no_known_secrets")
def test_key_files_private_keys_are_masked(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    key_file = tmp_path / "sa.json"
    key_file.write_text(
        json.dumps({"type": "service_account", "private_key_id": "0123abcd4567", "private_key": pem})
    )
    token_file = tmp_path / "token"
    token_file.write_text("federated-token-value-xyz\n")
    load_secrets_from_environment(
        {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}
    )
    body_line = pem.splitlines()[5]
    assert body_line not in mask(json.dumps({"private_key": pem}))
    assert "0123abcd4567" not in mask("key id 0123abcd4567 rejected")
    assert mask("token federated-token-value-xyz was refused") == "token [REDACTED] was refused"
    # a key the process never saw is caught by its shape
    assert (
        mask("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----")
        == "[REDACTED-PRIVATE-KEY]"
    )


@pytest.mark.usefixtures("no_known_secrets")
def test_registered_secrets_are_masked() -> None:
    register_secret("a-client-assertion-value")
    register_secret("abc")  # too short to mask safely
    assert mask("assertion: a-client-assertion-value, abc") == "assertion: [REDACTED], abc"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /b/k?X-Amz-Security-Token=IQoJb3JpZ2luX2Vj&X-Amz-Signature=abcd1234", "IQoJb3JpZ2luX2Vj"),
        ("GET /b/k?X-Amz-Security-Token=IQoJb3JpZ2luX2Vj&X-Amz-Signature=abcd1234", "abcd1234"),
        ("{'X-Amz-Security-Token': b'IQoJb3JpZ2luX2Vj', 'x': 1}", "IQoJb3JpZ2luX2Vj"),
        ("client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjaSJ9.c2ln&grant_type=x", "eyJpc3MiOiJjaSJ9"),
        ("client_assertion=not.a.jwt.value&x=1", "not.a.jwt.value"),
        ('{"access_token": "opaque-access-token", "expires_in": 3599}', "opaque-access-token"),
        ("refresh_token=opaque-refresh&x", "opaque-refresh"),
        ("Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/ce/aws4_request", "AWS4-HMAC"),
        ("'Authorization': 'SharedKey devstoreaccount1:c2lnbmF0dXJl'", "c2lnbmF0dXJl"),
        ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Eby8vdM02xNOcq==;", "Eby8vdM02xNOcq"),
        ("-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkq\\n-----END PRIVATE KEY-----\\n", "MIIEvQIBADANBgkq"),
    ],
)
@pytest.mark.usefixtures("no_known_secrets")  # the shapes alone
def test_secret_shapes_are_masked(text: str, secret: str) -> None:
    assert secret not in mask(text) and secret not in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "The client 'abc' does not have authorization to perform action over scope '/subscriptions/x'",
        '"credential": "DefaultAzureCredential (environment, workload identity)"',
        '"token_endpoint": "https://login.example.com/t/oauth2/v2.0/token"',
        "token = self._request_token(*scopes, **kwargs)",  # a traceback's source line stays readable
        "signature mismatch for key",
    ],
)
@pytest.mark.usefixtures("no_known_secrets")  # secrets other tests registered are not in this text
def test_ordinary_text_is_kept(text: str) -> None:
    assert mask(text) == text
