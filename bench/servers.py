"""Compare WSGI servers for ``mockgraph serve``: the same app under each, in one run.

Candidates: Granian (what ``serve`` uses), gunicorn with gthread and with sync workers,
and waitress (what ``serve`` used before). Each serves ``create_app(Config())`` with
two processes where the server has them. The rounds visit the servers in turn, as in
bench/run.py. gunicorn and waitress come from the ``bench`` extra.

Usage: ``python bench/servers.py [--rounds 3] [--duration 10]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procs  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
APP = "mockgraph_app:app"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=3, help="Measured rounds per server."
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="Seconds per round."
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="Warm-up seconds.")
    parser.add_argument(
        "--output", type=Path, default=BENCH_DIR / "results", help="Logs."
    )
    return parser.parse_args(argv)


def commands(port: int) -> dict[str, list[str]]:
    """Return the command line of each candidate, serving on ``port``."""
    bin_dir = Path(sys.executable).parent
    bind = f"{procs.HOST}:{port}"
    gunicorn = [str(bin_dir / "gunicorn"), "--chdir", str(BENCH_DIR), "-b", bind]
    quiet = ["--log-level", "warning"]
    return {
        "granian 2x4": [
            str(bin_dir / "mockgraph"),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--no-access-log",
        ],
        "gunicorn gthread 2x4": [
            *gunicorn,
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
            *quiet,
            APP,
        ],
        "gunicorn sync 2": [*gunicorn, "-w", "2", *quiet, APP],
        "waitress 1x4": [
            str(bin_dir / "waitress-serve"),
            f"--listen={bind}",
            "--threads=4",
            APP,
        ],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.output = args.output.resolve()
    body = json.dumps(procs.SDK_BODY).encode()
    args.output.mkdir(parents=True, exist_ok=True)
    body_file = args.output / "body.json"
    body_file.write_bytes(body)
    script = BENCH_DIR / "post.lua"
    rates: dict[str, list[float]] = {}
    p99s: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        port = procs.free_port()
        for name, argv_ in commands(port).items():
            # A fresh folder for the shared skills and journal of each launch.
            state = tempfile.mkdtemp(prefix="state-", dir=args.output)
            env = {"PYTHONPATH": str(BENCH_DIR), "MOCKGRAPH_BENCH_STATE": state}
            server = procs.launch(name.replace(" ", "-"), argv_, port, args.output, env)
            try:
                procs.wait_for_201(server, body, timeout=30)
                procs.run_wrk(port, body_file, args.warmup, 32, 2, script)
                result = procs.run_wrk(port, body_file, args.duration, 32, 2, script)
            finally:
                procs.stop(server)

            rate = result["requests"] / (result["duration_us"] / 1e6)
            rates.setdefault(name, []).append(rate)
            p99s.setdefault(name, []).append(result["p99_us"] / 1000)
            print(
                f"{name}: {rate:.0f} req/s, p99 {p99s[name][-1]:.1f} ms",
                file=sys.stderr,
            )

    best = statistics.median(rates["granian 2x4"])
    print("| WSGI server | req/s (median) | p99 ms (median) | req/s vs granian |")
    print("|---|---:|---:|---:|")
    for name, values in rates.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.0f} | {statistics.median(p99s[name]):.1f} "
            f"| {median / best:.2f} |"
        )

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
