"""Time how long the shared journal takes to collect and write the workers' lists.

Two journals on one folder stand for two workers, both in this process, so the time
includes the other worker's side of the socket. Each round fills both lists with
records of the given size, then times one collection by the first journal. The figure
is the median of the rounds.

Usage: ``python bench/collect.py [--rounds 21] [--record-bytes 1400]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from mockgraph import journal_stage
from mockgraph.shared_journal import SharedJournal

LIST_SIZES = (128, 256, 512, 1024)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="Rounds per list size.")
    parser.add_argument(
        "--record-bytes", type=int, default=1400, help="Size of each record in bytes."
    )
    return parser.parse_args(argv)


def time_collection(size: int, rounds: int, record: bytes) -> float:
    """Return the median seconds to collect and write two lists of ``size`` records."""
    with tempfile.TemporaryDirectory() as folder:
        first = SharedJournal(folder, limit=10_000, in_memory=True)
        second = SharedJournal(folder, limit=10_000, in_memory=True)
        durations = []
        try:
            for _ in range(rounds):
                for _ in range(size):
                    first.append_encoded(record)
                    second.append_encoded(record)

                started = time.perf_counter()
                with first._locked() as files:
                    first._write_staged(files)
                durations.append(time.perf_counter() - started)
        finally:
            first.close()
            second.close()

    return statistics.median(durations)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Only the timed collection writes the lists.
    journal_stage.FULL_RECORDS = sys.maxsize
    journal_stage.FULL_BYTES = sys.maxsize
    journal_stage.MAX_RECORDS = sys.maxsize
    record = os.urandom(args.record_bytes)
    print("| records per list | ms per collection | µs per record |")
    print("|---:|---:|---:|")
    for size in LIST_SIZES:
        seconds = time_collection(size, args.rounds, record)
        print(f"| {size} | {seconds * 1e3:.2f} | {seconds * 1e6 / (2 * size):.2f} |")

    return 0


if __name__ == "__main__":
    sys.exit(main())
