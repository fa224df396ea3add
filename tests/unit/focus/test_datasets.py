"""FINOPS_FOCUS_PATHS -> datasets -> files."""

from __future__ import annotations

from pathlib import Path

import pytest

from finops_mcp.errors import ScopeFailure
from finops_mcp.periods import Span
from finops_mcp.providers.base import CostQuery
from finops_mcp.providers.focus.datasets import dataset_name_for, parse_focus_paths, resolve_files
from finops_mcp.providers.focus.provider import FocusProvider
from tests.unit.focus.conftest import make_settings, scope
from tests.unit.focus.focusdata import FIRST, row, write_csv, write_parquet


@pytest.mark.parametrize(
    ("pattern", "name"),
    [
        ("/data/exports/aws/**/*.parquet", "aws"),
        ("/data/exports/aws/*.csv.gz", "aws"),
        ("/data/exports/azure/2024-*/part-*.csv", "azure"),
        ("/data/exports/focus.csv", "exports"),
        ("/data/exports/focus.CSV.GZ", "exports"),
        ("/data/exports/gcp/", "gcp"),
        ("/data/exports/gcp", "gcp"),
        ("exports/*.parquet", "exports"),
        ("*.parquet", "focus"),
        ("/data/my export!/**/*.csv", "my export-"),
    ],
)
def test_unnamed_entries_are_named_after_the_last_folder_before_the_wildcard(pattern: str, name: str) -> None:
    assert dataset_name_for(pattern) == name
    assert list(parse_focus_paths([pattern])) == [name]


def test_named_entries_and_same_names_form_one_dataset() -> None:
    specs = parse_focus_paths(
        ["prod=/a/**/*.parquet", "/x/aws/*.csv", " prod = /b/*.csv ", "/y/aws/*.csv.gz", "", "/x/aws/*.csv"]
    )
    assert list(specs) == ["prod", "aws"]
    assert specs["prod"].globs == ("/a/**/*.parquet", "/b/*.csv")
    assert specs["aws"].globs == ("/x/aws/*.csv", "/y/aws/*.csv.gz")


def test_hive_style_folders_are_globs_not_names() -> None:
    specs = parse_focus_paths(
        ["/exports/cur/BILLING_PERIOD=2024-05/*.parquet", "aws=BILLING_PERIOD=*/*.parquet"]
    )
    assert specs["cur"].globs == ("/exports/cur/BILLING_PERIOD=2024-05/*.parquet",)
    assert specs["aws"].globs == ("BILLING_PERIOD=*/*.parquet",)


def test_files_of_all_kinds_are_found_below_nested_folders(tmp_path: Path) -> None:
    rows = [row(FIRST, "1")]
    write_parquet(tmp_path / "d/a/b/one.parquet", rows)
    write_csv(tmp_path / "d/a/two.csv", rows)
    write_csv(tmp_path / "d/three.csv.gz", rows)
    (tmp_path / "d/a/manifest.json").write_text("{}")
    files = resolve_files(parse_focus_paths([f"{tmp_path}/d/**/*"])["d"])
    assert [Path(f.path).name for f in files.files] == ["one.parquet", "two.csv", "three.csv.gz"]
    assert [f.kind for f in files.files] == ["parquet", "csv", "csv"]
    assert [Path(p).name for p in files.ignored] == ["manifest.json"]
    # a folder without wildcards means every data file below it
    assert resolve_files(parse_focus_paths([str(tmp_path / "d")])["d"]).files == files.files


def test_construction_and_scopes_touch_no_file(ctx) -> None:
    provider = FocusProvider(
        make_settings(focus_paths=["/nonexistent/exports/aws/**/*.parquet", "b=/nope/*.csv"])
    )
    assert [s.id for s in provider.scopes(ctx)] == ["focus:aws", "focus:b"]


def test_a_glob_matching_nothing_is_not_configured(tmp_path: Path, ctx) -> None:
    pattern = f"{tmp_path}/missing/**/*.parquet"
    provider = FocusProvider(make_settings(focus_paths=[pattern]))
    query = CostQuery(Span(FIRST, FIRST), "total", ("service",), "billed")
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("missing"), query, ctx)
    assert err.value.code == "not_configured"
    assert "FINOPS_FOCUS_PATHS" in err.value.message and pattern in err.value.message
    info = provider.describe()["datasets"][0]
    assert info["loaded"] is False and info["error"]["code"] == "not_configured"


def test_only_non_data_files_is_not_configured(tmp_path: Path, ctx) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/manifest.json").write_text("{}")
    provider = FocusProvider(make_settings(focus_paths=[f"{tmp_path}/d/*"]))
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("d"), CostQuery(Span(FIRST, FIRST), "total", (), "billed"), ctx)
    assert err.value.code == "not_configured" and "1 other file(s)" in err.value.message


def test_one_empty_glob_among_others_is_noted(tmp_path: Path, ctx) -> None:
    write_csv(tmp_path / "d/x.csv", [row(FIRST, "2.5")])
    provider = FocusProvider(make_settings(focus_paths=[f"d={tmp_path}/d/*.csv", f"d={tmp_path}/typo/*.csv"]))
    lines = provider.cost(scope("d"), CostQuery(Span(FIRST, FIRST), "total", (), "billed"), ctx)
    assert [line.cost for line in lines] == [2.5]
    assert any("typo" in n and "matches no data file" in n for n in ctx.notes)


def test_unknown_dataset_is_not_found(tmp_path: Path, ctx) -> None:
    provider = FocusProvider(make_settings(focus_paths=[f"a={tmp_path}/*.csv"]))
    with pytest.raises(ScopeFailure) as err:
        provider.cost(scope("b"), CostQuery(Span(FIRST, FIRST), "total", (), "billed"), ctx)
    assert err.value.code == "not_found" and "focus:a" in err.value.message
