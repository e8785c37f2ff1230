"""Time what a test suite pays for mockgraph inside its own process.

- fixture first use: build the app, start the threaded server, get the first 201,
  measured in a fresh interpreter per try, after mockgraph is imported (pytest imports
  the plugin before any test runs);
- per-test reset: what the ``mockgraph`` fixture does before each test, on a server
  holding 100 skills and their interactions;
- one create through Flask's test client.

Each figure is the median of several tries. Usage: ``python bench/inprocess.py``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procs  # noqa: E402

# Runs in a fresh interpreter and prints seconds from start() to the first 201.
FIRST_USE = """
import http.client, json, sys, time
from mockgraph import Config, MockGraph
body = sys.argv[1].encode()
started = time.perf_counter()
server = MockGraph(Config(port=0)).start()
connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
connection.request("POST", "/beta/users/42/profile/skills", body=body, headers=headers)
status = connection.getresponse().status
elapsed = time.perf_counter() - started
server.stop()
print(json.dumps({"status": status, "seconds": elapsed}))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--first-use-tries", type=int, default=7, help="Fresh interpreters to time."
    )
    parser.add_argument("--resets", type=int, default=1000, help="Resets to time.")
    parser.add_argument(
        "--creates", type=int, default=2000, help="Test-client creates to time."
    )
    return parser.parse_args(argv)


def first_use(tries: int, body: str) -> list[float]:
    times = []
    for _ in range(tries):
        # Run outside the source tree, so the installed package is imported.
        output = subprocess.run(
            [sys.executable, "-c", FIRST_USE, body],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=tempfile.gettempdir(),
        ).stdout
        result = json.loads(output)
        if result["status"] != 201:
            raise RuntimeError(
                f"first create returned {result['status']}, expected 201"
            )

        times.append(result["seconds"])

    return times


def per_test_reset(count: int, body: str) -> list[float]:
    from mockgraph import Config, MockGraph

    server = MockGraph(Config(port=0))
    client = server.app.test_client()
    times = []
    for _ in range(count):
        for _ in range(100 if not times else 1):
            client.post(procs.CREATE_PATH, data=body, headers=procs.HEADERS)

        started = time.perf_counter()
        server.configure(
            server.config
        )  # what the fixture calls when settings are unchanged
        times.append(time.perf_counter() - started)

    return times


def test_client_create(count: int, body: str) -> list[float]:
    from mockgraph import Config, create_app

    client = create_app(Config()).test_client()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post(procs.CREATE_PATH, data=body, headers=procs.HEADERS)
        times.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"create returned {response.status_code}, expected 201")

    return times


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    body = json.dumps(procs.SDK_BODY)
    results = {
        "fixture first use": first_use(args.first_use_tries, body),
        "per-test reset": per_test_reset(args.resets, body),
        "test-client create": test_client_create(args.creates, body),
    }
    print("| in-process step | median ms | tries |")
    print("|---|---:|---:|")
    for name, times in results.items():
        print(f"| {name} | {statistics.median(times) * 1000:.3f} | {len(times)} |")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
