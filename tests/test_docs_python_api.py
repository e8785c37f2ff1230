"""Run the SDK example of docs/python-api.md against a live mock."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from mockgraph import MockGraph

PAGE = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"


def test_sdk_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    [example] = [block for block in blocks if "GraphServiceClient" in block]

    with MockGraph() as graph:
        code = example.replace("http://127.0.0.1:8080", graph.base_url)
        result = subprocess.run(
            [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=os.path.dirname(sys.executable),
        )
        records = graph.interactions

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "Python"
    assert records.last().status == 201
