"""The filter on tornado's loggers: every record shape tornado emits loses what a client sent."""

from __future__ import annotations

import logging
import sys

from identity.service.rpc import redaction

SECRET = "idk_0123456789abcdef_SecretKeyMaterial"


def _formatted(record: logging.LogRecord) -> str:
    assert redaction.RequestDataFilter().filter(record)
    return logging.Formatter("%(message)s").format(record)


def _record(msg: str, args: object = (), exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("tornado.general", logging.INFO, __file__, 1, msg, args, exc_info)


def test_template_arguments_are_withheld_numbers_and_exception_types_kept() -> None:
    error = ValueError("Invalid header value 'Bearer " + SECRET + "'")
    text = _formatted(_record("Malformed HTTP message from %s: %s", ("10.0.0.1", error)))
    assert text == "Malformed HTTP message from [withheld]: ValueError"
    assert _formatted(_record("%d %s", (413, "/rpc?email=" + SECRET))) == "413 [withheld]"
    assert _formatted(_record("%(uri)s", ({"uri": SECRET},))) == "[withheld]"


def test_a_preformatted_message_keeps_its_description_only() -> None:
    assert _formatted(_record("Unsatisfiable read, closing connection: " + SECRET)) == \
        "Unsatisfiable read, closing connection: [withheld]"
    assert _formatted(_record("Reached maximum read buffer size")) == "Reached maximum read buffer size"


def test_an_attached_exception_is_its_type_and_stack_without_message_or_source() -> None:
    try:
        raise RuntimeError(SECRET)
    except RuntimeError:
        text = _formatted(_record("Uncaught exception %s\n%r", ("/rpc?q=" + SECRET, object()), sys.exc_info()))
    assert SECRET not in text and "RuntimeError" in text and "test_redaction.py" in text
    assert "raise RuntimeError" not in text  # no source lines: a literal there could be anything


def test_records_our_code_checked_pass_unchanged_and_install_is_idempotent() -> None:
    record = _record("%s", ("/rpc",))
    record.identity_checked = True
    assert _formatted(record) == "/rpc"
    redaction.install()
    redaction.install()
    for name in redaction.TORNADO_LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, redaction.RequestDataFilter)]
        assert len(filters) == 1
