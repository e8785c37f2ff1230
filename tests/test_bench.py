"""Smoke tests of the benchmark scripts: they import, parse arguments and build inputs.

The scripts live in bench/ beside the package, not in it, so they are loaded by path.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from jsonschema import Draft202012Validator

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = [
    "run",
    "inprocess",
    "memory",
    "hotspots",
    "percreate",
    "collect",
    "servers",
    "ceiling",
    "specs",
    "procs",
    "mockgraph_app",
]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", BENCH_DIR / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def restore_sys_path(monkeypatch):
    # Each script puts bench/ on sys.path to import its helpers.
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_imports(name):
    assert load(name).__doc__


@pytest.mark.parametrize(
    ("name", "argv", "field", "expected"),
    [
        ("run", [], "rounds", 3),
        ("run", [], "connections", 32),
        ("run", ["--only", "mockgraph,prism"], "only", "mockgraph,prism"),
        ("inprocess", [], "resets", 1000),
        ("memory", [], "total", 100_000),
        ("hotspots", ["--requests", "10"], "requests", 10),
        ("percreate", ["--rounds", "2"], "rounds", 2),
        ("ceiling", ["--port", "9000"], "port", 9000),
        ("servers", ["--rounds", "1"], "rounds", 1),
        ("specs", ["out"], "output", Path("out")),
    ],
)
def test_script_parses_arguments(name, argv, field, expected):
    assert getattr(load(name).parse_args(argv), field) == expected


def test_run_rejects_unknown_target(capsys):
    with pytest.raises(SystemExit) as raised:
        load("run").parse_args(["--only", "mockgraph,nginx"])

    assert raised.value.code == 2
    assert "unknown target(s) ['nginx']" in capsys.readouterr().err


def test_specs_check_same_rules(tmp_path):
    specs = load("specs")
    procs = load("procs")
    openapi_path, wiremock_root = specs.write_specs(tmp_path)
    document = json.loads(openapi_path.read_text())
    mapping = json.loads((wiremock_root / "mappings" / "create.json").read_text())
    operation = document["paths"][specs.COLLECTION_PATH]["post"]
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    validator = Draft202012Validator(
        mapping["request"]["bodyPatterns"][0]["matchesJsonSchema"]
    )

    assert request_schema == mapping["request"]["bodyPatterns"][0]["matchesJsonSchema"]
    assert document["security"] == [{"bearer": []}]
    assert validator.is_valid(procs.SDK_BODY)
    assert not validator.is_valid({**procs.SDK_BODY, "proficiency": "guru"})
    assert not validator.is_valid({**procs.SDK_BODY, "nickname": "x"})


def test_ceiling_answers_201():
    client = load("ceiling").make_app().test_client()

    assert client.post("/beta/users/42/profile/skills").status_code == 201


def test_procs_reads_own_process():
    procs = load("procs")

    assert os.getpid() in procs.memory_kib(os.getpid())
    assert procs.cpu_seconds(os.getpid()) > 0


def test_run_ratios_and_table():
    run = load("run")
    row = {
        "requests_per_second": 100.0,
        "p50_ms": 1.0,
        "p99_ms": 4.0,
        "cpu_us_per_request": 50.0,
        "failed_requests": 0.0,
        "peak_rss_mib": 60.0,
        "cold_start_ms": 200.0,
    }
    table = {
        "mockgraph": row,
        "mockgraph-no-journal": {**row, "requests_per_second": 125.0},
        "prism": {**row, "requests_per_second": 25.0, "p99_ms": 40.0},
    }
    found = run.ratios(table)

    assert found["throughput vs prism"] == 4.0
    assert found["p99 vs prism"] == 0.1
    assert found["journal cost, shared journal"] == pytest.approx(0.2)
    assert "journal cost, 1 worker, in-memory journal" not in found
    assert "| mockgraph | 100 |" in run.markdown(table, found)


def test_servers_bind_loopback_port():
    commands = load("servers").commands(8123)

    assert set(commands) == {
        "granian 2x4",
        "gunicorn gthread 2x4",
        "gunicorn sync 2",
        "waitress 1x4",
    }
    assert all(any("8123" in part for part in argv) for argv in commands.values())
    assert all("0.0.0.0" not in " ".join(argv) for argv in commands.values())


def test_hotspots_names_components():
    hotspots = load("hotspots")

    assert hotspots.component("/x/site-packages/mockgraph/app.py") == "mockgraph.app"
    assert (
        hotspots.component("/v/lib/python3.11/site-packages/werkzeug/local.py")
        == "werkzeug"
    )
    assert hotspots.component("/p/lib/python3.11/json/encoder.py") == "stdlib json"


def test_percreate_prints_every_setting(capsys):
    percreate = load("percreate")

    assert percreate.main(["--creates", "5", "--rounds", "1"]) == 0
    table = capsys.readouterr().out
    for name in percreate.SETTINGS:
        assert f"| {name} |" in table


def test_collect_prints_every_list_size(capsys, monkeypatch):
    from mockgraph import journal_stage

    # The script raises the thresholds for the whole process.
    for name in ("FULL_RECORDS", "FULL_BYTES", "MAX_RECORDS"):
        monkeypatch.setattr(journal_stage, name, getattr(journal_stage, name))
    collect = load("collect")

    assert collect.main(["--rounds", "1", "--record-bytes", "10"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [row.split("|")[1].strip() for row in rows] == ["128", "256", "512", "1024"]
