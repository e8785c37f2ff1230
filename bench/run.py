"""Load-test mockgraph beside Prism, WireMock and a bare Flask route, in one run.

Every server gets the same POST (the body the Graph SDK sends, with a bearer token)
from wrk, with the same connections and duration. All servers run at once. Each is
warmed up, then the measured rounds visit them in turn, so a slow phase of the machine
hits every server alike. The script then measures cold start (launch to first 201)
with a fresh process per try.

Results go to ``OUTPUT/load-<time>.json`` and a Markdown summary to stdout.
Usage: ``python bench/run.py [--rounds 3] [--duration 10] [--only mockgraph,prism]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import procs  # noqa: E402
import specs  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
TARGETS = (
    "mockgraph",
    "mockgraph-no-journal",
    "mockgraph-1-worker",
    "mockgraph-1-worker-no-journal",
    "flask-ceiling",
    "prism",
    "wiremock",
)
# Pairs whose throughput ratio is the cost of the journal: (journal on, journal off).
JOURNAL_PAIRS = {
    "journal cost, shared journal": ("mockgraph", "mockgraph-no-journal"),
    "journal cost, 1 worker, in-memory journal": (
        "mockgraph-1-worker",
        "mockgraph-1-worker-no-journal",
    ),
}
WIREMOCK_JAR = "node_modules/wiremock/build"
PRISM_BIN = "node_modules/.bin/prism"


@dataclass
class Target:
    name: str
    argv: list[str]
    warmup: float
    start_timeout: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(TARGETS), help="Comma-separated targets to run."
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="Measured rounds per target."
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="Seconds per measured round."
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections.")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads.")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="Warm-up seconds per server."
    )
    parser.add_argument(
        "--jvm-warmup", type=float, default=30.0, help="Warm-up seconds for WireMock."
    )
    parser.add_argument(
        "--cold-starts", type=int, default=5, help="Cold-start tries per target."
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Worker processes for mockgraph and Flask.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="Threads per worker for mockgraph and Flask.",
    )
    parser.add_argument(
        "--tools",
        type=Path,
        default=BENCH_DIR / ".tools",
        help="Folder with node_modules of Prism and WireMock.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=BENCH_DIR / "results",
        help="Folder for results and logs.",
    )
    args = parser.parse_args(argv)
    args.output = args.output.resolve()
    unknown = sorted(set(args.only.split(",")) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {unknown!r}; choose from {', '.join(TARGETS)}")

    return args


def build_targets(
    args: argparse.Namespace, ports: dict[str, int], work: Path
) -> dict[str, Target]:
    """Return the targets named in ``ports``, each set to listen on its port."""
    openapi_path, wiremock_root = specs.write_specs(work / "specs")
    mockgraph = str(Path(sys.executable).with_name("mockgraph"))
    # The access log is off: its one line per request is a cost of the terminal, not
    # of the mock, and the other servers log nothing either.
    pool = ["--workers", str(args.workers), "--threads", str(args.threads)]
    single = ["--workers", "1", "--threads", str(args.threads), "--no-access-log"]
    no_journal = ["--journal-limit", "0"]
    jars = sorted((args.tools / WIREMOCK_JAR).glob("wiremock-standalone-*.jar"))
    port = ports.get
    targets = {
        "mockgraph": Target(
            "mockgraph",
            [
                mockgraph,
                "serve",
                "--port",
                str(port("mockgraph")),
                *pool,
                "--no-access-log",
            ],
            args.warmup,
            30,
        ),
        "mockgraph-no-journal": Target(
            "mockgraph-no-journal",
            [mockgraph, "serve", "--port", str(port("mockgraph-no-journal")), *pool]
            + ["--no-access-log"]
            + no_journal,
            args.warmup,
            30,
        ),
        "mockgraph-1-worker": Target(
            "mockgraph-1-worker",
            [mockgraph, "serve", "--port", str(port("mockgraph-1-worker")), *single],
            args.warmup,
            30,
        ),
        "mockgraph-1-worker-no-journal": Target(
            "mockgraph-1-worker-no-journal",
            [mockgraph, "serve", "--port", str(port("mockgraph-1-worker-no-journal"))]
            + single
            + no_journal,
            args.warmup,
            30,
        ),
        "flask-ceiling": Target(
            "flask-ceiling",
            [
                sys.executable,
                str(BENCH_DIR / "ceiling.py"),
                "--port",
                str(port("flask-ceiling")),
                *pool,
            ],
            args.warmup,
            30,
        ),
        "prism": Target(
            "prism",
            [
                str(args.tools / PRISM_BIN),
                "mock",
                "-d",
                "-h",
                procs.HOST,
                "-p",
                str(port("prism")),
                str(openapi_path),
            ],
            args.warmup,
            60,
        ),
        "wiremock": Target(
            "wiremock",
            [
                "java",
                "-jar",
                str(jars[-1]) if jars else "wiremock-standalone.jar",
                "--port",
                str(port("wiremock")),
                "--bind-address",
                procs.HOST,
                "--root-dir",
                str(wiremock_root),
                "--disable-banner",
                # The same bound as mockgraph's default journal limit.
                "--max-request-journal-entries",
                "10000",
            ],
            args.jvm_warmup,
            60,
        ),
    }
    return {name: targets[name] for name in ports}


def check_tools(args: argparse.Namespace) -> None:
    missing = [tool for tool in ("wrk", "java") if shutil.which(tool) is None]
    if "prism" in args.only and not (args.tools / PRISM_BIN).exists():
        missing.append(str(args.tools / PRISM_BIN))

    if "wiremock" in args.only and not list((args.tools / WIREMOCK_JAR).glob("*.jar")):
        missing.append(str(args.tools / WIREMOCK_JAR))

    if missing:
        raise SystemExit(
            f"missing benchmark tools: {', '.join(missing)}; "
            "run 'make bench-tools' first"
        )


def start(target: Target, port: int, body: bytes, logs: Path) -> procs.Running:
    server = procs.launch(target.name, target.argv, port, logs)
    try:
        procs.wait_for_201(server, body, target.start_timeout)
    except BaseException:
        procs.stop(server)
        raise

    return server


def load_test(
    args: argparse.Namespace, work: Path, body: bytes, body_file: Path
) -> dict[str, Any]:
    """Start every target, warm each up, then run the measured rounds in turn."""
    script = BENCH_DIR / "post.lua"
    ports = {name: procs.free_port() for name in args.only.split(",")}
    targets = build_targets(args, ports, work)
    servers: dict[str, procs.Running] = {}
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    try:
        for name, target in targets.items():
            servers[name] = start(target, ports[name], body, work / "logs")
            print(f"warming up {name} for {target.warmup:.0f} s", file=sys.stderr)
            procs.run_wrk(
                ports[name],
                body_file,
                target.warmup,
                args.connections,
                args.wrk_threads,
                script,
            )

        for number in range(args.rounds):
            for name, server in servers.items():
                cpu_before = procs.cpu_seconds(server.process.pid)
                result = procs.run_wrk(
                    server.port,
                    body_file,
                    args.duration,
                    args.connections,
                    args.wrk_threads,
                    script,
                )
                result["cpu_seconds"] = (
                    procs.cpu_seconds(server.process.pid) - cpu_before
                )
                rounds[name].append(result)
                print(
                    f"round {number + 1} {name}: {summarise_round(result)}",
                    file=sys.stderr,
                )

        peak_rss = {
            name: procs.memory_kib(server.process.pid)
            for name, server in servers.items()
        }
    finally:
        for server in servers.values():
            procs.stop(server)

    return {"rounds": rounds, "peak_rss_kib": peak_rss}


def summarise_round(result: dict[str, Any]) -> str:
    rate = result["requests"] / (result["duration_us"] / 1e6)
    return (
        f"{rate:.0f} req/s, p50 {result['p50_us'] / 1000:.1f} ms, "
        f"p99 {result['p99_us'] / 1000:.1f} ms, non-2xx {result['non_2xx']}, "
        f"socket errors {result['socket_errors']}"
    )


def cold_starts(
    args: argparse.Namespace, work: Path, body: bytes
) -> dict[str, list[float]]:
    """Launch each target afresh several times; return seconds from launch to a 201."""
    times: dict[str, list[float]] = {name: [] for name in args.only.split(",")}
    for _ in range(args.cold_starts):
        for name in times:
            port = procs.free_port()
            target = build_targets(args, {name: port}, work)[name]
            server = start(target, port, body, work / "logs")
            times[name].append(time.perf_counter() - server.launched)
            procs.stop(server)

    return times


def summarise(
    load: dict[str, Any], cold: dict[str, list[float]]
) -> dict[str, dict[str, float]]:
    """Return the median of each figure per target."""
    table: dict[str, dict[str, float]] = {}
    for name, rounds in load["rounds"].items():
        rates = [r["requests"] / (r["duration_us"] / 1e6) for r in rounds]
        table[name] = {
            "requests_per_second": statistics.median(rates),
            "p50_ms": statistics.median(r["p50_us"] for r in rounds) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in rounds) / 1000,
            "cpu_us_per_request": statistics.median(
                r["cpu_seconds"] / max(r["requests"], 1) * 1e6 for r in rounds
            ),
            "failed_requests": sum(r["non_2xx"] + r["socket_errors"] for r in rounds),
            "peak_rss_mib": sum(load["peak_rss_kib"][name].values()) / 1024,
            "cold_start_ms": statistics.median(cold[name]) * 1000
            if cold.get(name)
            else float("nan"),
        }

    return table


def ratios(table: dict[str, dict[str, float]]) -> dict[str, float]:
    """Return the in-run ratios that the performance targets are stated in."""
    found: dict[str, float] = {}
    for label, (on, off) in JOURNAL_PAIRS.items():
        if on in table and off in table:
            kept = table[on]["requests_per_second"] / table[off]["requests_per_second"]
            found[label] = 1 - kept

    mockgraph = table.get("mockgraph")
    if mockgraph is None:
        return found

    for other in ("prism", "wiremock", "flask-ceiling"):
        if other not in table:
            continue

        found[f"throughput vs {other}"] = (
            mockgraph["requests_per_second"] / table[other]["requests_per_second"]
        )
        found[f"p99 vs {other}"] = mockgraph["p99_ms"] / table[other]["p99_ms"]
        found[f"cpu per request vs {other}"] = (
            mockgraph["cpu_us_per_request"] / table[other]["cpu_us_per_request"]
        )

    return found


def markdown(table: dict[str, dict[str, float]], found: dict[str, float]) -> str:
    lines = [
        "| server | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MiB "
        "| cold start ms | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        lines.append(
            f"| {name} | {row['requests_per_second']:.0f} | {row['p50_ms']:.1f} "
            f"| {row['p99_ms']:.1f} | {row['cpu_us_per_request']:.0f} "
            f"| {row['peak_rss_mib']:.0f} "
            f"| {row['cold_start_ms']:.0f} | {row['failed_requests']:.0f} |"
        )

    lines += ["", "| mockgraph ratio | value |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in found.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = args.output / f"load-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    body = json.dumps(procs.SDK_BODY).encode()
    body_file = work / "body.json"
    body_file.write_bytes(body)

    load = load_test(args, work, body, body_file)
    cold = cold_starts(args, work, body) if args.cold_starts > 0 else {}
    table = summarise(load, cold)
    found = ratios(table)
    report = {
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "load": load,
        "cold_start_seconds": cold,
    }
    report.update({"summary": table, "ratios": found})
    (work / "results.json").write_text(json.dumps(report, indent=2))
    print(markdown(table, found))
    print(f"\nraw results: {work / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
