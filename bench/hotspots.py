"""Profile creates through the WSGI app and show where the time goes, by component.

The app is called directly with a prepared WSGI environ, so no server or client code
is in the profile. Time is grouped by the top-level package of the function that spent
it (self time, from cProfile), and mockgraph's modules are listed one by one.

Usage: ``python bench/hotspots.py [--requests 5000] [--journal-limit 0] [--top 25]``
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procs  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=5000, help="Creates to profile."
    )
    parser.add_argument(
        "--journal-limit",
        type=int,
        default=10_000,
        help="Journal limit; 0 turns it off.",
    )
    parser.add_argument(
        "--top", type=int, default=25, help="Functions to list by self time."
    )
    return parser.parse_args(argv)


def call_app(app: Callable[..., Any], body: bytes) -> None:
    statuses: list[str] = []
    chunks = app(
        procs.create_environ(body),
        lambda status, headers, exc_info=None: statuses.append(status),
    )
    b"".join(chunks)
    if not statuses[0].startswith("201"):
        raise RuntimeError(f"create returned {statuses[0]!r}, expected 201")


def component(filename: str) -> str:
    """Name the package a profiled function belongs to, or mockgraph's module."""
    if "/mockgraph/" in filename:
        return "mockgraph." + Path(filename).stem

    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/")[0]

    if "/lib/python3" in filename:
        parts = filename.split("/lib/python3", 1)[1].split("/")
        return "stdlib " + Path(parts[1]).stem if len(parts) > 1 else filename

    if filename == "~":  # cProfile's name for functions written in C
        return "C built-ins (dict, str, isinstance, ...)"

    return filename


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from mockgraph import Config, create_app

    app = create_app(Config(journal_limit=args.journal_limit))
    body = json.dumps(procs.SDK_BODY).encode()
    for _ in range(200):
        call_app(app, body)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        call_app(app, body)

    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    by_component: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), row in stats.stats.items():  # type: ignore[attr-defined]
        by_component[component(filename)] += row[2]

    print(f"| component (self time, {args.requests} creates) | share |")
    print("|---|---:|")
    for name, seconds in sorted(by_component.items(), key=lambda item: -item[1])[
        : args.top
    ]:
        print(f"| {name} | {seconds / total:.1%} |")

    print()
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
