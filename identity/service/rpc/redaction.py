"""Log lines that cannot carry request data: tornado's own messages with their arguments
withheld, and what our handlers log reduced to the route, the method and exception types.

    install()                      # once per process (make_app calls it); idempotent
    log.error("...", extra=CHECKED) # a record our code built from safe values only

Why: tornado quotes requests in its logs. A header it cannot parse is logged whole ("Invalid
header value 'Bearer idk_...\\x01'": an API key), an unhandled error logs the full URI with its
query string and the request's repr, and exception messages quote whatever input they choke
on. Request data is PII and secrets, so on tornado's loggers every record is rewritten before
any handler sees it: a message template keeps its text and loses its arguments (numbers stay;
an exception becomes its type name), a preformatted message keeps its leading description (up
to the first colon: tornado's "what happened: detail" style), and an attached exception becomes
its type and stack (file, line, function: no message, no source text). Records our own code
marks ``CHECKED`` pass unchanged.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType
from typing import Any, Mapping

__all__ = ["install", "RequestDataFilter", "CHECKED", "TORNADO_LOGGERS", "stack", "described", "safe_route",
           "safe_method", "ROUTES"]

TORNADO_LOGGERS = ("tornado.access", "tornado.application", "tornado.general")
#: ``extra=CHECKED`` on a record built from safe values only (the access log line).
CHECKED = {"identity_checked": True}
WITHHELD = "[withheld]"
#: The routes make_app serves: any other path is a client's text, logged as "(other path)".
ROUTES = frozenset({"/rpc", "/openrpc.json", "/healthz", "/readyz", "/metrics"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def install() -> None:
    """Put the filter on tornado's loggers (once: a second call changes nothing)."""
    for name in TORNADO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RequestDataFilter) for f in logger.filters):
            logger.addFilter(RequestDataFilter())


class RequestDataFilter(logging.Filter):
    """Rewrites a record so that nothing a client sent can reach a log line (module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "identity_checked", False):
            return True
        if record.args:
            if isinstance(record.args, Mapping):
                record.args = {key: _argument(value) for key, value in record.args.items()}
            else:
                record.args = tuple(_argument(value) for value in record.args)
        else:
            record.msg = _description(str(record.msg))
        if record.exc_info:
            error = record.exc_info[1]
            record.exc_text = described(error) if error is not None else None
            record.exc_info = None
        record.stack_info = None
        return True


def _argument(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, BaseException):
        return type(value).__name__
    return WITHHELD


def _description(message: str) -> str:
    head, colon, _ = message.partition(":")
    return f"{head}: {WITHHELD}" if colon else head


def described(error: BaseException) -> str:
    """An exception as its type and stack, never its message (which may quote input)."""
    return f"{type(error).__name__}\n{stack(error.__traceback__)}".rstrip()


def stack(tb: TracebackType | None) -> str:
    """Where it happened: file, line and function of each frame, without source text."""
    return "\n".join(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}'
                     for frame in traceback.extract_tb(tb))


def safe_route(path: str) -> str:
    """The request's path when it is one of our routes, else a placeholder."""
    return path if path in ROUTES else "(other path)"


def safe_method(method: str | None) -> str:
    """The request's method when it is a standard one: a client may send any token there."""
    return method if method in _METHODS else "(other method)"
