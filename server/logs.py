"""The process's log: every line in one format, LOG_FORMAT json (one object per line,
production's default) or text, through one buffered writer to standard error.

At thousands of operations per second a line per operation written at once would cost
a system call each: operation lines wait up to FLUSH_SECONDS in the writer and go out
together, in whole lines of at most PIPE_BUF bytes per write (so that workers sharing
the stream never interleave inside a line). Every other line (they are few: start,
stop, warnings, errors) goes out at once, with whatever waited before it, so a crash
loses at most the last fraction of a second of operation lines, never an error; the
lifespan's end writes what waits (uvicorn ends a process by the signal it stopped for,
and atexit never runs).

What may be logged: a line names the operation, the user by id, and the request id;
never variables, a token, a password or a customer's contact fields (an exception's
message may name a value: logged errors are ours or unexpected, and tests read a whole
run's log for secrets).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import logging.config
import os
import stat
import traceback
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from server.request_ids import current_request_id
from server.settings import LogFormat

FLUSH_SECONDS = 0.1
PIPE_BUF = 4096
MAX_PENDING_BYTES = 256 * 1024  # past this, a flush now rather than a larger burst
LATER_BYTES = 256  # what a line made later is counted as, until it is made
# A line made when the lines are written: a function, then what it is called with. A
# line per operation costs the request a tuple; the lines are made together, in a loop
# that keeps what it needs in the processor's caches.
Later = tuple[Any, ...]


class LineWriter:
    """Lines for a file descriptor, written together at most FLUSH_SECONDS later: to a
    pipe or socket in writes of whole lines up to PIPE_BUF bytes (atomic there), to a
    file or terminal in one write (Linux keeps a write to a file whole)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._chunked: bool | None = None  # known at the first flush
        self._pending: list[bytes | Later] = []
        self._size = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._flush_later: asyncio.TimerHandle | None = None

    def write(self, line: bytes | Later, *, now: bool = False) -> None:
        """`line`, or what makes it (`Later`: made when the lines are written)."""
        self._pending.append(line)
        self._size += len(line) if isinstance(line, bytes) else LATER_BYTES
        if now or self._size >= MAX_PENDING_BYTES:
            self.flush()
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (start-up, shutdown, the CLI): at once
            self.flush()
            return
        if loop is not self._loop:  # a loop of its own (a flush the last one never ran)
            self._loop, self._flush_later = loop, None
        if self._flush_later is None:
            self._flush_later = loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self._flush_later is not None:
            self._flush_later.cancel()
            self._flush_later = None
        pending = [
            line if isinstance(line, bytes) else line[0](*line[1:]) for line in self._pending
        ]
        self._pending, self._size = [], 0
        if self._chunked is None:
            self._chunked = _is_stream(self._fd)
        if not self._chunked:
            self._write(b"".join(pending))
            return
        chunk: list[bytes] = []
        size = 0
        for line in pending:
            if chunk and size + len(line) > PIPE_BUF:
                self._write(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write(b"".join(chunk))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._fd, view) :]
            except BlockingIOError:
                continue
            except OSError:  # standard error closed: nowhere to log to
                return


def _is_stream(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return True
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


writer = LineWriter(2)  # standard error
atexit.register(writer.flush)


def timestamp(created: float) -> str:
    """ISO 8601 in UTC, to the millisecond (its second formatted once per second)."""
    second = int(created)
    return f"{_second(second)}.{int((created - second) * 1000):03d}+00:00"


@lru_cache(maxsize=4)
def _second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the request id when the
    record was made during a request, and the trace of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = current_request_id()
        return f"{text} [request {request_id}]" if request_id else text


class WriterHandler(logging.Handler):
    """A handler writing to the process's one LineWriter."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record).encode() + b"\n"
        except Exception:
            self.handleError(record)
            return
        writer.write(line, now=True)


def log_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A logging configuration (dictConfig) for uvicorn to apply in each process: every
    logger, ours and uvicorn's, in `log_format`."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"line": {"()": f"{__name__}.WriterHandler", "formatter": "line"}},
        "root": {"handlers": ["line"], "level": level},
        "loggers": {
            name: {"handlers": [], "level": level, "propagate": True}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure(log_format: LogFormat, level: str = "INFO") -> None:
    """The same configuration, for a process uvicorn does not start (the CLI's others)."""
    logging.config.dictConfig(log_config(log_format, level))
