"""Structured logging: one JSON object per line, with the request id.

The request id travels in a context variable so that every log line written
while handling a request carries it, whichever module logs.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys

current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "concord_request_id", default="-"
)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format records as JSON objects; extra fields become keys."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
            # Which process wrote it: the workers of `concord serve --workers` share a log.
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class RequestIdFilter(logging.Filter):
    """Attach the current request id to records for the text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class ConcordHandler(logging.StreamHandler):
    """The handler :func:`configure_logging` installs: a class of its own, so
    that what replaced the root logger's handlers can be told apart (a test
    that runs ``concord serve`` in process removes it afterwards)."""


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Send Concord's logs to stderr in ``fmt`` (``json`` or ``text``)."""
    handler = ConcordHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
