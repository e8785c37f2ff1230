"""The suite runs against the installed package, with its data files."""

from __future__ import annotations

import sysconfig
from importlib import metadata
from pathlib import Path

import mockgraph
from mockgraph.validation import default_schema_dir

ROOT = Path(__file__).resolve().parent.parent


def test_imported_from_site_packages():
    installed = Path(sysconfig.get_paths()["purelib"]).resolve()

    assert Path(mockgraph.__file__).resolve().is_relative_to(installed)


def test_every_schema_file_ships():
    source = {path.name for path in (ROOT / "schemas").glob("*.json")}
    shipped = {path.name for path in default_schema_dir().glob("*.json")}

    assert source
    assert shipped == source


def test_shipped_schemas_match_source():
    for path in (ROOT / "schemas").glob("*.json"):
        assert (default_schema_dir() / path.name).read_bytes() == path.read_bytes(), (
            path.name
        )


def test_entry_points_registered():
    entry_points = metadata.entry_points()
    scripts = {
        point.name: point.value
        for point in entry_points.select(group="console_scripts")
    }
    plugins = {
        point.name: point.value for point in entry_points.select(group="pytest11")
    }

    assert scripts["mockgraph"] == "mockgraph.cli:main"
    assert plugins["mockgraph"] == "mockgraph.pytest_plugin"
