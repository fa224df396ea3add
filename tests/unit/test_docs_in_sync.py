"""Every setting is documented in .env.example and docs/configuration.md."""

from pathlib import Path

from finops_mcp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_in_env_example_and_configuration_doc() -> None:
    example = (ROOT / ".env.example").read_text()
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        var = f"FINOPS_{name.upper()}"
        assert f"\n{var}=" in example, f"{var} missing from .env.example"
        assert var in doc, f"{var} missing from docs/configuration.md"
