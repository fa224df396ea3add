"""Field types the settings classes share: the core's (settings.py) and each provider's own
(`providers/<cloud>/settings.py`). Pydantic and the standard library only, so any of them imports it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode


def split_csv(value: object) -> object:
    """Comma- (or newline-) separated text to a list; lists pass through; blanks dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.replace("\n", ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    return value


# A list setting: `FINOPS_X=a,b` (or one a line), not JSON (NoDecode keeps pydantic-settings from
# parsing it as JSON first).
CsvList = Annotated[list[str], NoDecode, BeforeValidator(split_csv)]
# A share in percent, 0 to 100.
PercentSetting = Annotated[float, Field(ge=0, le=100)]
