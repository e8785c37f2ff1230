"""Measure the CPU time of one create in this process, for each store and journal.

Each setting gets a fresh application, called directly through its WSGI callable with
the benchmark's body, so no server or client is measured. The figure is the fastest of
several rounds of CPU time per create, which is the one least disturbed by other work
on the machine.

Usage: ``python bench/percreate.py [--creates 3000] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procs

if TYPE_CHECKING:
    from flask import Flask

# Each setting: the store (memory or SQLite) and the journal (off, memory or shared).
# The shared journal keeps records in memory until read, as with 2 workers, or writes
# each one at once, as with 2 workers and --journal-file.
SETTINGS = {
    "memory store, no journal": ("memory", "off"),
    "memory store, memory journal": ("memory", "memory"),
    "SQLite store, no journal": ("sqlite", "off"),
    "SQLite store, shared journal (2 workers)": ("sqlite", "shared"),
    "SQLite store, shared journal written at once": ("sqlite", "shared-direct"),
}
WARM_UP_CREATES = 300


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=3000, help="Creates per round.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds per setting.")
    return parser.parse_args(argv)


def build(store: str, journal: str, folder: Path) -> Flask:
    """Return an application with the given store and journal."""
    from mockgraph import Config, create_app
    from mockgraph.shared_journal import SharedJournal

    config = Config(
        store=f"sqlite:///{folder / 'skills.sqlite3'}"
        if store == "sqlite"
        else "memory",
        journal_limit=0 if journal == "off" else 10_000,
    )
    shared = (
        SharedJournal(
            folder / "journal", config.journal_limit, in_memory=journal == "shared"
        )
        if journal.startswith("shared")
        else None
    )
    return create_app(config, journal=shared)


def microseconds_per_create(
    wsgi_app: Callable[..., Any], body: bytes, creates: int
) -> float:
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        statuses.append(status)

    started = time.process_time()
    for _ in range(creates):
        b"".join(wsgi_app(procs.create_environ(body), start_response))

    elapsed = time.process_time() - started
    failed = [status for status in statuses if not status.startswith("201")]
    if failed:
        raise RuntimeError(
            f"{len(failed)} of {creates} creates failed; the first got {failed[0]}"
        )

    return elapsed / creates * 1e6


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    body = json.dumps(procs.SDK_BODY).encode()
    print("| setting | fastest µs/create | median µs/create |")
    print("|---|---:|---:|")
    for name, (store, journal) in SETTINGS.items():
        with tempfile.TemporaryDirectory(prefix="mockgraph-bench-") as folder:
            app = build(store, journal, Path(folder))
            microseconds_per_create(app.wsgi_app, body, WARM_UP_CREATES)
            rounds = [
                microseconds_per_create(app.wsgi_app, body, args.creates)
                for _ in range(args.rounds)
            ]
            app.extensions["mockgraph"].close()

        print(f"| {name} | {min(rounds):.1f} | {statistics.median(rounds):.1f} |")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
