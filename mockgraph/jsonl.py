"""Append interactions to a JSON Lines file, one flushed line per record."""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import TextIO

from .journal import Interaction

logger = logging.getLogger(__name__)


class JsonLinesWriter:
    """A journal sink that appends each interaction to ``path`` as one JSON line.

    The file is opened once in append mode, so records of earlier runs stay. Each line
    is flushed as soon as it is written, so a crash loses at most the line in progress.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        # Kept open for the writer's lifetime and closed by close().
        self._file: TextIO = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        logger.info("appending interactions to %s", self.path)

    def __call__(self, record: Interaction) -> None:
        line = json.dumps(record.to_json(), ensure_ascii=False, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __repr__(self) -> str:
        return f"JsonLinesWriter({self.path!r})"
