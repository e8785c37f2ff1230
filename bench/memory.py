"""Check that memory stays bounded: rejected requests, and the size of a stored skill.

1. ``mockgraph serve --workers 1`` with default limits gets 1,000 rejected creates
   (an invalid ``proficiency``, so the store does not grow), then more from wrk until
   100,000 were sent. The worker's RSS after each step is compared: only the journal
   grows, up to its limit of 10,000 records.
2. In-process, with the journal off, thousands of creates are made, and tracemalloc
   measures the bytes the store keeps per skill.

Usage: ``python bench/memory.py``
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procs  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REJECTED_BODY = {**procs.SDK_BODY, "proficiency": "guru"}
# wrk rounds allowed to reach the request count; each lasts a few seconds.
MAX_WRK_ROUNDS = 100


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--first",
        type=int,
        default=1_000,
        help="Rejected requests before the first reading.",
    )
    parser.add_argument(
        "--total",
        type=int,
        default=100_000,
        help="Rejected requests before the second reading.",
    )
    parser.add_argument(
        "--skills",
        type=int,
        default=5_000,
        help="Skills to store for the per-skill size.",
    )
    parser.add_argument(
        "--output", type=Path, default=BENCH_DIR / "results", help="Folder for logs."
    )
    return parser.parse_args(argv)


def worker_rss_kib(server: procs.Running) -> int:
    """Return the RSS of the process that handles requests, in KiB.

    That is the largest child when the server forks workers, and the server process
    itself when it has none (``serve --workers 1`` runs waitress in-process).
    """
    sizes = procs.memory_kib(server.process.pid, "VmRSS")
    own = sizes.pop(server.process.pid)
    return max(sizes.values()) if sizes else own


def send_rejected(port: int, count: int, body: bytes) -> None:
    connection = http.client.HTTPConnection(procs.HOST, port, timeout=10)
    try:
        for _ in range(count):
            connection.request(
                "POST", procs.CREATE_PATH, body=body, headers=procs.HEADERS
            )
            response = connection.getresponse()
            response.read()
            if response.status != 400:
                raise RuntimeError(f"rejected body got {response.status}, expected 400")
    finally:
        connection.close()


def rejected_requests(args: argparse.Namespace) -> dict[str, float]:
    body = json.dumps(REJECTED_BODY).encode()
    body_file = args.output / "rejected.json"
    args.output.mkdir(parents=True, exist_ok=True)
    body_file.write_bytes(body)
    port = procs.free_port()
    mockgraph = str(Path(sys.executable).with_name("mockgraph"))
    server = procs.launch(
        "memory",
        [mockgraph, "serve", "--port", str(port), "--workers", "1", "--no-access-log"],
        port,
        args.output,
    )
    try:
        procs.wait_for_201(server, json.dumps(procs.SDK_BODY).encode(), timeout=30)
        send_rejected(port, args.first, body)
        after_first = worker_rss_kib(server)
        sent = args.first
        for _ in range(MAX_WRK_ROUNDS):
            if sent >= args.total:
                break

            result = procs.run_wrk(port, body_file, 5, 32, 2, BENCH_DIR / "post.lua")
            sent += result["requests"]

        after_total = worker_rss_kib(server)
    finally:
        procs.stop(server)

    return {
        "requests_first": args.first,
        "rss_after_first_mib": after_first / 1024,
        "requests_total": sent,
        "rss_after_total_mib": after_total / 1024,
        "ratio": after_total / after_first,
    }


def bytes_per_skill(count: int) -> float:
    from mockgraph import Config, create_app

    client = create_app(Config(journal_limit=0)).test_client()
    body = json.dumps(procs.SDK_BODY)
    client.post(
        procs.CREATE_PATH, data=body, headers=procs.HEADERS
    )  # warm caches first
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(count):
        client.post(procs.CREATE_PATH, data=body, headers=procs.HEADERS)

    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / count


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.output = args.output.resolve()
    rejected = rejected_requests(args)
    per_skill = bytes_per_skill(args.skills)
    rows = [
        (
            f"worker RSS after {rejected['requests_first']} rejected requests",
            f"{rejected['rss_after_first_mib']:.1f} MiB",
        ),
        (
            f"worker RSS after {rejected['requests_total']} rejected requests",
            f"{rejected['rss_after_total_mib']:.1f} MiB",
        ),
        ("ratio", f"{rejected['ratio']:.2f}"),
        (
            f"bytes per stored skill ({args.skills} skills, journal off)",
            f"{per_skill:.0f}",
        ),
    ]
    print("| memory check | value |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
