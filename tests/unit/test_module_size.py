"""No module of the package over 600 lines (the project's limit: one concept per module; data
tables go to data files)."""

from __future__ import annotations

from pathlib import Path

import finops_mcp

PACKAGE = Path(finops_mcp.__file__).resolve().parent
MAX_LINES = 600


def oversized(root: Path, limit: int = MAX_LINES) -> list[str]:
    """`path: N lines` of every .py file below `root` longer than `limit` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root.parent).as_posix()}: {lines} lines")
    return found


def test_no_module_is_over_600_lines() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 50  # the package, not an empty folder
    too_long = oversized(PACKAGE)
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concept): " + "; ".join(too_long)


def test_the_limit_names_each_long_module(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "ok.py").write_text("x = 1\n" * MAX_LINES)
    (package / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (package / "sub" / "longer.py").write_text("x = 1\n" * 900)
    assert oversized(package) == ["pkg/long.py: 601 lines", "pkg/sub/longer.py: 900 lines"]
