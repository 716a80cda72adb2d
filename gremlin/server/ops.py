"""What a request asks for, checked on the event loop, then run on a worker thread.

``prepare`` validates a request's arguments (499 when they are wrong) and turns it into a
Plan; ``run`` executes a Plan against the graph and returns every response frame, already
encoded, so neither execution nor serialization ever blocks the event loop.

The server's own limits (Settings) bound what a client may ask for: ``max_evaluation_timeout_ms``
caps evaluationTimeout however the client sets it (a client may lower it, never raise it, and
"0: no timeout" means the cap), ``max_results`` the results of one request (traversers for
bytecode, values for scripts) and ``max_collection`` the values one step may gather. The
strategies a Plan carries (``Plan.strategies``, from the connection's authentication) are imposed
on its traversal by the graph, after the client's own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from gremlin_python.process.traversal import Bytecode, TraversalStrategy

from ..engine.limits import Limits
from ..errors import GremlinError, LimitExceeded, TraversalError, TraversalTimeout
from ..language import parse_query as parse_script
from .protocol import Codec, RequestMessage, ResponseMessage, Status, error_response

__all__ = ["Settings", "Plan", "InvalidRequestArguments", "prepare", "parse", "run", "timeout_frame",
           "DEFAULT_BATCH_SIZE", "DEFAULT_EVALUATION_TIMEOUT_MS"]

DEFAULT_BATCH_SIZE = 64                   # Gremlin Server's resultIterationBatchSize
DEFAULT_EVALUATION_TIMEOUT_MS = 30_000    # Gremlin Server's evaluationTimeout
_MATERIALIZE = ("all", "tokens")
_LANGUAGES = (None, "gremlin-groovy", "gremlin-lang")


class InvalidRequestArguments(GremlinError):
    status = Status.INVALID_REQUEST_ARGUMENTS
    exception_class = "java.lang.IllegalArgumentException"


@dataclass
class Settings:
    traversal_source: str = "g"
    evaluation_timeout_ms: int = DEFAULT_EVALUATION_TIMEOUT_MS
    batch_size: int = DEFAULT_BATCH_SIZE
    #: ``parse_query(text, bindings) -> object with .bytecode and .terminal`` for the eval op;
    #: None: gremlin.language's parser.
    parse_query: Callable[[str, dict], Any] | None = None
    #: the longest evaluationTimeout a request gets, in ms (None: what it asks for)
    max_evaluation_timeout_ms: int | None = None
    #: the most results one request returns (None: no limit)
    max_results: int | None = None
    #: the most values one step of a traversal may gather (None: no limit)
    max_collection: int | None = None


@dataclass
class Plan:
    request_id: uuid.UUID | None
    op: str                                # "bytecode" or "eval"
    bytecode: Bytecode | None = None       # bytecode op
    script: str | None = None              # eval op
    bindings: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    timeout_ms: int = 0                    # 0: no limit
    batch_size: int = DEFAULT_BATCH_SIZE
    #: the script's terminal step (``next``, ``toList``...), once parse() has read it
    terminal: Any = None
    #: imposed on the traversal: the restrictions of the connection's user (gremlin.server.auth.Grant)
    strategies: tuple = ()
    #: true once nobody waits for the answer (the client went away, or was answered by the watchdog)
    cancelled: Callable[[], bool] | None = None


def _options_strategy(bytecode: Bytecode) -> dict:
    config: dict = {}
    for instruction in bytecode.source_instructions:
        if instruction[0] == "withStrategies":
            for strategy in instruction[1:]:
                if isinstance(strategy, TraversalStrategy) and strategy.strategy_name == "OptionsStrategy":
                    config.update(strategy.configuration)
    return config


def _number(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise InvalidRequestArguments(f"The [{name}] argument must be a number >= {minimum}, not {value!r}")
    return int(value)


def _check_aliases(args: dict, settings: Settings, *, required: bool) -> None:
    aliases = args.get("aliases")
    if aliases is None:
        if required:
            raise InvalidRequestArguments(
                "A message with [bytecode] op code requires the [aliases] argument to be a Map "
                "containing one alias assignment named 'g'.")
        return
    if not isinstance(aliases, dict) or (required and len(aliases) != 1):
        raise InvalidRequestArguments("The [aliases] argument must be a Map with one alias named 'g'")
    for alias, source in aliases.items():
        if source != settings.traversal_source:
            raise InvalidRequestArguments(
                f"The traversal source [{source}] for alias [{alias}] is not configured on the server "
                f"(this server serves [{settings.traversal_source}])")


def prepare(request: RequestMessage, settings: Settings) -> Plan:
    """Validate ``request`` (a bytecode or eval op) into a Plan; raises InvalidRequestArguments."""
    args = request.args
    plan = Plan(request.request_id, request.op)
    if request.processor == "session":
        raise InvalidRequestArguments(
            "Sessions are not supported: every request is its own transaction (send bytecode to "
            "processor 'traversal' or scripts to processor '')")
    if request.op == "bytecode":
        if request.processor != "traversal":
            raise InvalidRequestArguments(f"The [bytecode] op is served by processor 'traversal', not {request.processor!r}")
        bytecode = args.get("gremlin")
        if not isinstance(bytecode, Bytecode):
            raise InvalidRequestArguments("A message with [bytecode] op code requires the [gremlin] argument "
                                          "to be Bytecode")
        _check_aliases(args, settings, required=True)
        plan.bytecode = bytecode
        options = _options_strategy(bytecode)
    elif request.op == "eval":
        if request.processor not in ("", "standard"):
            raise InvalidRequestArguments(f"The [eval] op is served by processor '', not {request.processor!r}")
        script = args.get("gremlin")
        if not isinstance(script, str) or not script.strip():
            raise InvalidRequestArguments("A message with [eval] op code requires a [gremlin] argument "
                                          "holding the script")
        bindings = args.get("bindings") or {}
        if not isinstance(bindings, dict) or not all(isinstance(k, str) for k in bindings):
            raise InvalidRequestArguments("The [bindings] argument must be a Map with string keys")
        if args.get("language") not in _LANGUAGES:
            raise InvalidRequestArguments(f"The script language {args.get('language')!r} is not supported")
        _check_aliases(args, settings, required=False)
        plan.script, plan.bindings = script, dict(bindings)
        options = {}
    else:
        raise InvalidRequestArguments(f"Message with op code [{request.op}] is not recognized.")

    for key in ("evaluationTimeout", "scriptEvaluationTimeout", "batchSize", "materializeProperties"):
        if key in args and args[key] is not None:
            options[key] = args[key]
    timeout = options.get("evaluationTimeout", options.get("scriptEvaluationTimeout", settings.evaluation_timeout_ms))
    plan.timeout_ms = _number("evaluationTimeout", timeout, minimum=0)
    cap = settings.max_evaluation_timeout_ms
    if cap and (not plan.timeout_ms or plan.timeout_ms > cap):
        plan.timeout_ms = cap
    plan.batch_size = _number("batchSize", options.get("batchSize", settings.batch_size), minimum=1)
    materialize = options.get("materializeProperties", "all")
    if materialize not in _MATERIALIZE:
        raise InvalidRequestArguments(f"The [materializeProperties] argument must be 'all' or 'tokens', "
                                      f"not {materialize!r}")
    plan.options = {"materializeProperties": materialize}
    if plan.timeout_ms:
        plan.options["evaluationTimeout"] = plan.timeout_ms
    return plan


# ---- execution (worker thread) ---------------------------------------------------------------

def _parser(settings: Settings) -> Callable[[str, dict], Any]:
    return settings.parse_query or parse_script


def _terminal_parts(terminal: Any) -> tuple[str | None, tuple]:
    if terminal is None or isinstance(terminal, str):
        return terminal, ()
    if isinstance(terminal, (tuple, list)) and terminal and isinstance(terminal[0], str):
        return terminal[0], tuple(terminal[1:])
    name = getattr(terminal, "name", None)
    return (name if isinstance(name, str) else None), tuple(getattr(terminal, "args", ()) or ())


def apply_terminal(values: list, terminal: Any) -> list:
    """The values a script ending in ``terminal`` yields once Gremlin Server iterates them."""
    name, args = _terminal_parts(terminal)
    if name in (None, "toList", "toBulkSet"):
        return values
    if name == "iterate":
        return []
    if name == "hasNext":
        return [bool(values)]
    if name == "tryNext":
        return values[:1]
    if name == "next":
        if args:
            return values[:int(args[0])]
        if not values:
            raise TraversalError("The traversal has no results: next() found no element "
                                 "(java.util.NoSuchElementException)")
        return values[:1]
    if name == "toSet":
        unique: list = []
        for value in values:
            if value not in unique:
                unique.append(value)
        return unique
    raise TraversalError(f"The terminal step {name}() is not supported in scripts")


def _unroll(traversers: list, limit: int | None) -> list:
    values: list = []
    for traverser in traversers:
        bulk = int(getattr(traverser, "bulk", 1) or 1)
        if limit is not None and len(values) + bulk > limit:
            raise LimitExceeded(f"The script's results number more than {limit:,}, the most this server sends "
                                f"for one request: narrow it, or page with range()/limit()")
        values.extend([traverser.object] * bulk)
    return values


def parse(plan: Plan, settings: Settings) -> None:
    """A script's traversal as bytecode (and its terminal step) in ``plan``; bytecode as it came."""
    if plan.op == "bytecode" or plan.bytecode is not None:
        return
    parsed = _parser(settings)(plan.script or "", plan.bindings)
    terminal = getattr(parsed, "terminal", None)
    argument = getattr(parsed, "terminal_argument", None)
    if terminal == "explain":
        raise TraversalError("explain() is not supported: this engine has no strategy-based planner to explain")
    plan.bytecode = parsed.bytecode
    plan.terminal = (terminal, argument) if argument is not None else terminal


def limits_of(plan: Plan, settings: Settings) -> Limits:
    return Limits(timeout_ms=plan.timeout_ms or None, max_results=settings.max_results,
                  max_collection=settings.max_collection, cancelled=plan.cancelled)


def execute(graph: Any, plan: Plan, settings: Settings) -> list:
    """Results: Traversers for bytecode, plain values for scripts."""
    parse(plan, settings)
    traversers = graph.execute(plan.bytecode, dict(plan.options), imposed=plan.strategies,
                               limits=limits_of(plan, settings))
    if plan.op == "bytecode":
        return list(traversers)
    return apply_terminal(_unroll(traversers, settings.max_results), plan.terminal)


def encode_results(results: list, plan: Plan, codec: Codec) -> list[bytes]:
    if not results:
        return [codec.encode_response(ResponseMessage(plan.request_id, Status.NO_CONTENT))]
    frames = []
    for start in range(0, len(results), plan.batch_size):
        batch = results[start:start + plan.batch_size]
        last = start + plan.batch_size >= len(results)
        code = Status.SUCCESS if last else Status.PARTIAL_CONTENT
        frames.append(codec.encode_response(ResponseMessage(plan.request_id, code, data=batch)))
    return frames


def run(graph: Any, plan: Plan, settings: Settings, codec: Codec,
        on_unexpected: Callable[[BaseException], None] | None = None) -> list[bytes]:
    """Execute and encode; failures become a single error frame."""
    try:
        return encode_results(execute(graph, plan, settings), plan, codec)
    except GremlinError as error:
        return [codec.encode_response(error_response(plan.request_id, error))]
    except MemoryError:  # while encoding (the engine reports its own as LimitExceeded)
        return [codec.encode_response(error_response(plan.request_id, LimitExceeded(
            "The answer needs more memory than this server gives one request: narrow the traversal")))]
    except Exception as error:  # a bug in the engine: answer 500 rather than hang the client
        if on_unexpected is not None:
            on_unexpected(error)
        return [codec.encode_response(error_response(plan.request_id, error))]


def timeout_frame(plan: Plan, codec: Codec) -> bytes:
    """The 598 a request gets when its traversal did not stop by itself at its deadline."""
    return codec.encode_response(error_response(plan.request_id, TraversalTimeout(
        f"A timeout occurred during traversal evaluation of request [{plan.request_id}] - "
        f"consider increasing the limit given to evaluationTimeout ({plan.timeout_ms} ms)")))
