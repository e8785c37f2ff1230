"""Serve a bare Flask create route on the same WSGI server and settings as mockgraph.

It reads nothing and checks nothing: it returns a fixed 201 body. Its throughput is the
ceiling that Flask and Granian allow on this machine, so the gap between it and
mockgraph is the cost of mockgraph's own work.

Usage: ``python bench/ceiling.py --port 8090 --workers 2 --threads 4``
"""

from __future__ import annotations

import argparse

from flask import Flask, Response
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import Server

from mockgraph.config import DEFAULT_THREADS, DEFAULT_WORKERS

BODY = '{"id":"6f1d7c44-2a57-4c8e-9a55-0b1f3f0e7d21","displayName":"Python"}'


def make_app() -> Flask:
    app = Flask("ceiling")

    @app.post("/beta/users/<user>/profile/skills")
    def create(user: str) -> Response:
        return Response(BODY, status=201, content_type="application/json")

    return app


def load_app(target: str) -> Flask:
    return make_app()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind.")
    parser.add_argument("--port", type=int, default=8090, help="TCP port.")
    parser.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, help="Worker processes."
    )
    parser.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help="Threads per worker."
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = Server(
        "ceiling",
        address=args.host,
        port=args.port,
        interface=Interfaces.WSGI,
        workers=args.workers,
        blocking_threads=args.threads,
        log_level=LogLevels.warning,
        websockets=False,
    )
    server.serve(target_loader=load_app)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
