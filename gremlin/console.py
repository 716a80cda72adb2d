"""An interactive Gremlin console for any backend.

    python -m gremlin.console ws://127.0.0.1:8182/gremlin
    python -m gremlin.console ws://127.0.0.1:8182/gremlin --user acme     # asks for the password
    python -m gremlin.console memory:// -e "g.inject(1,2,3).sum()"

``--user`` authenticates with SASL PLAIN, as Gremlin Server's clients do (the console endpoint of
``identity serve`` takes a tenant and one of its API keys). The password comes from the
``GREMLIN_PASSWORD`` environment variable, else a prompt, else ``--password``: a password on the
command line is visible to every user of the machine in the process list.

Gremlin text is parsed here and submitted as bytecode, so the console works against Neptune and
any Gremlin Server without a script engine. Input continues over several lines while brackets or
quotes are open or a line ends with '.'; history is kept in ~/.gremlin_console_history.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any, Iterable, TextIO

from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty

from .errors import GremlinError

__all__ = ["main", "run_query", "format_value", "needs_more_input"]

HISTORY = os.path.expanduser("~/.gremlin_console_history")
PASSWORD_VARIABLE = "GREMLIN_PASSWORD"


def needs_more_input(text: str) -> bool:
    """True while brackets or a string are still open, or the text ends with a '.'."""
    depth = 0
    quote: str | None = None
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
    return quote is not None or depth > 0 or text.rstrip().endswith(".")


def format_value(value: Any) -> str:
    """Console notation: v[1], e[7][1-knows->2], vp[name->marko], p[name->marko], path[...]."""
    if isinstance(value, Vertex):
        return f"v[{value.id}]"
    if isinstance(value, Edge):
        return f"e[{value.id}][{value.outV.id}-{value.label}->{value.inV.id}]"
    if isinstance(value, VertexProperty):
        return f"vp[{value.label}->{format_value(value.value)}]"
    if isinstance(value, Property):
        return f"p[{value.key}->{format_value(value.value)}]"
    if isinstance(value, Path):
        return "path[" + ", ".join(format_value(o) for o in value.objects) + "]"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{format_value(k)}:{format_value(v)}" for k, v in value.items()) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, set):
        return "{" + ", ".join(sorted(format_value(v) for v in value)) + "}"
    if hasattr(value, "name") and type(value).__module__.startswith("gremlin_python"):
        return str(value.name).rstrip("_")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_query(connection: Any, text: str) -> Iterable[Any]:
    """Parse ``text`` and yield every result (unrolled by bulk)."""
    from .language import parse_query
    query = parse_query(text)
    remote = connection.submit(query.bytecode)
    results = []
    for traverser in remote.traversers:
        results.extend([traverser.object] * int(getattr(traverser, "bulk", 1) or 1))
    if query.terminal in ("next", "tryNext"):
        return results[:1]
    if query.terminal == "hasNext":
        return [bool(results)]
    if query.terminal == "iterate":
        return []
    return results


def _print_results(results: Iterable[Any], out: TextIO) -> None:
    for value in results:
        out.write(f"==>{format_value(value)}\n")


def _repl(connection: Any, url: str, out: TextIO) -> int:
    try:
        import readline
        try:
            readline.read_history_file(HISTORY)
        except OSError:
            pass
    except ImportError:  # pragma: no cover - readline is missing on some platforms
        readline = None  # type: ignore[assignment]
    out.write(f"gremlin console connected to {url}; :q to quit\n")
    buffer = ""
    try:
        while True:
            try:
                line = input("gremlin> " if not buffer else "......> ")
            except EOFError:
                out.write("\n")
                return 0
            if not buffer and line.strip() in (":q", ":quit", ":exit"):
                return 0
            if not buffer and not line.strip():
                continue
            buffer = f"{buffer}\n{line}" if buffer else line
            if needs_more_input(buffer):
                continue
            text, buffer = buffer, ""
            try:
                _print_results(run_query(connection, text), out)
            except GremlinError as error:
                out.write(f"error: {error}\n")
            except Exception as error:  # a remote server's error arrives as the driver's type
                out.write(f"error: {error}\n")
    finally:
        if readline is not None:
            try:
                readline.write_history_file(HISTORY)
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gremlin-console", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", default="ws://127.0.0.1:8182/gremlin",
                        help="memory://, file:///dir or ws://host:port/gremlin (default: %(default)s)")
    parser.add_argument("-e", "--execute", metavar="GREMLIN", help="run one traversal, print, exit")
    parser.add_argument("--user", help="authenticate as USER (SASL PLAIN)")
    parser.add_argument("--password", help=f"the password (prefer ${PASSWORD_VARIABLE} or the prompt: "
                                           "a command line is visible to other users)")
    args = parser.parse_args(argv)
    from .connect import connect, describe
    credentials = {}
    if args.user is not None:
        credentials = {"username": args.user, "password": _password(args.password)}
    connection = connect(args.url, **credentials)
    try:
        if args.execute is not None:
            try:
                _print_results(run_query(connection, args.execute), sys.stdout)
            except Exception as error:
                sys.stderr.write(f"error: {error}\n")
                return 1
            return 0
        return _repl(connection, describe(args.url), sys.stdout)
    finally:
        close = getattr(connection, "close", None)
        if close is not None:
            close()


def _password(given: str | None) -> str:
    if given is not None:
        return given
    from_environment = os.environ.get(PASSWORD_VARIABLE)
    if from_environment is not None:
        return from_environment
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


if __name__ == "__main__":
    raise SystemExit(main())
