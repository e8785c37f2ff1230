"""Process helpers shared by the benchmark scripts: start, probe, measure and stop.

Everything here talks to 127.0.0.1 only. CPU time and memory are read from /proc, so
the scripts need Linux.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
CREATE_PATH = "/beta/users/42/profile/skills"
# The body the Graph beta SDK sends for a typical create.
SDK_BODY = {
    "@odata.type": "#microsoft.graph.skillProficiency",
    "allowedAudiences": "organization",
    "categories": ["professional"],
    "displayName": "Python",
    "proficiency": "expert",
    "webUrl": "https://www.python.org",
}
HEADERS = {"Authorization": "Bearer bench-token", "Content-Type": "application/json"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WRK_LINE = re.compile(r"^WRK_RESULT (\{.*\})$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def post(port: int, body: bytes, timeout: float = 5.0) -> int:
    """POST ``body`` to the create path; return the status, or 0 if sending failed."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("POST", CREATE_PATH, body=body, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


@dataclass
class Running:
    """A server started by a benchmark, with the time it was launched."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    launched: float
    log_path: Path


def launch(
    name: str,
    argv: list[str],
    port: int,
    log_dir: Path,
    env: dict[str, str] | None = None,
) -> Running:
    """Start ``argv`` in its own process group, with output going to a log file.

    The process runs in ``log_dir``, so a server that puts its working folder on
    ``sys.path`` (gunicorn, waitress) imports the installed mockgraph, not the source.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    launched = time.perf_counter()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=log_dir,
            start_new_session=True,
        )

    return Running(name, process, port, launched, log_path)


def wait_for_201(server: Running, body: bytes, timeout: float) -> float:
    """Poll with creates until one gets 201; return seconds since launch."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with code {server.process.returncode}; "
                f"see {server.log_path}"
            )

        if post(server.port, body, timeout=2.0) == 201:
            return time.perf_counter() - server.launched

        time.sleep(0.002)

    raise RuntimeError(
        f"{server.name} gave no 201 within {timeout} s; see {server.log_path}"
    )


def stop(server: Running) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 10 s."""
    if server.process.poll() is not None:
        return

    os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


def process_tree(root: int) -> list[int]:
    """Return ``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue

        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue

        children.setdefault(int(fields[1]), []).append(int(entry.name))

    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))

    return tree


def cpu_seconds(root: int) -> float:
    """Return the user plus system CPU time of the process tree, in seconds."""
    total = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue

        total += int(fields[11]) + int(fields[12])  # utime and stime, in clock ticks

    return total / CLOCK_TICKS


def memory_kib(root: int, field: str = "VmHWM") -> dict[int, int]:
    """Return ``field`` of /proc/PID/status for each process in the tree, in KiB.

    VmHWM is the peak resident set size and VmRSS the current one.
    """
    sizes = {}
    for pid in process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue

        match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            sizes[pid] = int(match.group(1))

    return sizes


def run_wrk(
    port: int,
    body_file: Path,
    duration: float,
    connections: int,
    threads: int,
    script: Path,
) -> dict[str, Any]:
    """Run wrk against the create path; return its result line as a dict."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://{HOST}:{port}{CREATE_PATH}",
    ]
    env = {**os.environ, "MOCKGRAPH_BENCH_BODY": str(body_file)}
    completed = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=duration + 60, check=True
    )
    match = WRK_LINE.search(completed.stdout)
    if match is None:
        raise RuntimeError(
            f"wrk printed no result line:\n{completed.stdout}\n{completed.stderr}"
        )

    return dict(json.loads(match.group(1)))


def create_environ(body: bytes) -> dict[str, Any]:
    """Return the WSGI environ of a create with ``body``, as the Graph SDK sends it."""
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": CREATE_PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": f"{HOST}:8080",
        "HTTP_AUTHORIZATION": HEADERS["Authorization"],
        "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "python-httpx/0.28 kiota-python/1.16",
    }
