"""Python clients for the identity service's JSON-RPC API, blocking and asyncio.

    client = IdentityClient("http://127.0.0.1:8080", api_key)
    client.ingest([{"type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"}]}])
    client.resolve("email", "ann@example.com")
    client.resolve_many([("email", "ann@example.com"), ("phone", "+1 555 0100")])
    client.explain(("email", "ann@example.com"), ("phone", "+1 555 0100"))

    async with AsyncIdentityClient(url, api_key) as client:
        await client.resolve("email", "ann@example.com")

Both retry what the server says is worth retrying (HTTP 429 and 503 honouring Retry-After,
502/504, "graph unavailable", a connection that failed) with the service's own policy,
exponential backoff with jitter (identity.graph.resilience.RetryPolicy), within ``timeout`` seconds
overall. Retrying ``ingest`` is safe: ingest is idempotent per event_id. JSON-RPC errors
become ``ClientError`` (``code``, ``message``, ``data``).
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from typing import Any, Awaitable, Callable, Mapping, TypeVar

import tenacity

from ..graph.resilience import RetryPolicy

__all__ = ["IdentityClient", "AsyncIdentityClient", "ClientError", "Unavailable", "GRAPH_UNAVAILABLE"]

#: identity.service.rpc.errors.GRAPH_UNAVAILABLE (the client does not import the server)
GRAPH_UNAVAILABLE = -32002
_RETRYABLE_HTTP = frozenset({429, 502, 503, 504})
T = TypeVar("T")


class ClientError(Exception):
    """A JSON-RPC error the service answered with."""

    def __init__(self, code: int, message: str, data: Any = None, http_status: int = 200):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data, self.http_status = code, message, data, http_status


class Unavailable(ClientError):
    """The service or its graph is unavailable for now (retried until the timeout)."""

    def __init__(self, message: str, *, code: int = GRAPH_UNAVAILABLE, data: Any = None, http_status: int = 0,
                 retry_after: float | None = None):
        super().__init__(code, message, data, http_status)
        self.retry_after = retry_after


class _Methods:
    """The service's methods; ``_call`` is blocking or a coroutine, so each method returns
    the result or an awaitable of it."""

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def ingest(self, events: list[dict], *, atomic: bool = False) -> Any:
        """{"results": one per event}: event_id, customer_id, merged, refused, duplicate; for an
        invalid event, event_id and error (its fields and rules) while the others are written.
        ``atomic``: an invalid event fails the call (ClientError -32602) and nothing is written."""
        return self._call("ingest", {"events": events, **({"atomic": True} if atomic else {})})

    def resolve(self, id_type: str, value: str, **options: Any) -> Any:
        """The customer of (id_type, value) or None; options: max_hops, max_identifiers,
        max_fanout, evidence, as_of."""
        return self._call("resolve", {"type": id_type, "value": value, **options})

    def resolve_many(self, identifiers: list[tuple[str, str]], **options: Any) -> Any:
        """{"results": one per (type, value), in order}: what resolve answers (None when unknown),
        or {"error": ...} for an invalid identifier; resolve's options. At most 1,000 a call."""
        return self._call("resolve_many", {"identifiers": [_identifier(item) for item in identifiers],
                                           **options})

    def explain(self, a: tuple[str, str], b: tuple[str, str], **options: Any) -> Any:
        """Whether ``a`` and ``b`` (each (type, value)) are one customer, the paths joining them with
        their events, or what keeps them apart; options max_hops, max_fanout (as resolve's)."""
        return self._call("explain", {"a": _identifier(a), "b": _identifier(b), **options})

    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> Any:
        return self._call("unlink", {"a": _identifier(a), "b": _identifier(b)})

    def stats(self) -> Any:
        return self._call("stats", {})

    def tenant_create(self, tenant: str, region: str) -> Any:
        return self._call("tenant.create", {"tenant": tenant, "region": region})

    def tenant_list(self) -> Any:
        return self._call("tenant.list", {})

    def key_create(self, tenant: str, *, admin: bool = False) -> Any:
        return self._call("key.create", {"tenant": tenant, "admin": admin})

    def key_revoke(self, key_id: str) -> Any:
        return self._call("key.revoke", {"key_id": key_id})


class _Base(_Methods):
    def __init__(self, url: str, api_key: str, *, timeout: float = 30.0, policy: RetryPolicy = RetryPolicy(),
                 request_timeout: float = 10.0):
        self.endpoint = url.rstrip("/") + "/rpc"
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.policy = policy
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._ids = itertools.count(1)

    def _body(self, method: str, params: dict[str, Any]) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}).encode()

    def _retrying(self, kind: Callable[..., T]) -> T:
        return kind(stop=tenacity.stop_after_attempt(self.policy.attempts) | tenacity.stop_after_delay(self.timeout),
                    wait=_honouring_retry_after(self.policy.wait()),
                    retry=tenacity.retry_if_exception_type(Unavailable), reraise=True)


def _identifier(identifier: tuple[str, str]) -> dict[str, str]:
    """(type, value) as the API takes an identifier."""
    id_type, value = identifier
    return {"type": id_type, "value": value}


def _honouring_retry_after(backoff: Callable[[tenacity.RetryCallState], float]) -> Callable[..., float]:
    def wait(state: tenacity.RetryCallState) -> float:
        hint = getattr(state.outcome.exception(), "retry_after", None) or 0.0
        return max(backoff(state), hint)
    return wait


def _result(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """The call's result, or the failure it reports as an exception."""
    retry_after = _seconds(headers.get("Retry-After"))
    try:
        document = json.loads(body) if body else {}
    except ValueError:
        document = {}
    error = document.get("error") if isinstance(document, dict) else None
    if status in _RETRYABLE_HTTP:
        error = error or {"code": GRAPH_UNAVAILABLE, "message": f"HTTP {status}"}
        raise Unavailable(error.get("message", ""), code=error.get("code", GRAPH_UNAVAILABLE),
                          data=error.get("data"), http_status=status, retry_after=retry_after)
    if error:
        if error.get("code") == GRAPH_UNAVAILABLE:
            raise Unavailable(error.get("message", ""), data=error.get("data"), http_status=status,
                              retry_after=_seconds((error.get("data") or {}).get("retry_after")))
        raise ClientError(error.get("code", 0), error.get("message", ""), error.get("data"), status)
    if status != 200 or not isinstance(document, dict) or "result" not in document:
        raise ClientError(0, f"unexpected HTTP {status} response", http_status=status)
    return document["result"]


def _seconds(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):  # an HTTP date: fall back to the backoff
        return None


class IdentityClient(_Base):
    """Blocking client (urllib)."""

    def _call(self, method: str, params: dict[str, Any]) -> Any:
        body = self._body(method, params)
        return self._retrying(tenacity.Retrying)(lambda: _result(*self._post(body)))

    def _post(self, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        request = urllib.request.Request(self.endpoint, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()
        except OSError as error:  # URLError, refused, reset, timed out
            raise Unavailable(f"cannot reach the service ({type(error).__name__})", http_status=0) from error

    def close(self) -> None:
        """Nothing to release (one connection per request); for symmetry with the async client."""

    def __enter__(self) -> "IdentityClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncIdentityClient(_Base):
    """asyncio client (tornado's AsyncHTTPClient); every method is a coroutine."""

    def __init__(self, url: str, api_key: str, **options: Any):
        super().__init__(url, api_key, **options)
        from tornado.httpclient import AsyncHTTPClient
        self._http = AsyncHTTPClient()

    def _call(self, method: str, params: dict[str, Any]) -> Awaitable[Any]:
        body = self._body(method, params)

        async def attempt() -> Any:
            return _result(*await self._post(body))

        return self._retrying(tenacity.AsyncRetrying)(attempt)

    async def _post(self, body: bytes) -> tuple[int, Mapping[str, str], bytes]:
        from tornado.httpclient import HTTPRequest
        request = HTTPRequest(self.endpoint, method="POST", body=body, headers=self._headers,
                              request_timeout=self.request_timeout)
        try:
            response = await self._http.fetch(request, raise_error=False)
        except OSError as error:
            raise Unavailable(f"cannot reach the service ({type(error).__name__})") from error
        if response.code == 599:  # tornado's "no HTTP response": refused, reset, timed out
            raise Unavailable(f"cannot reach the service ({type(response.error).__name__})")
        return response.code, response.headers, response.body or b""

    async def close(self) -> None:
        """The shared AsyncHTTPClient stays open for other users on this loop."""

    async def __aenter__(self) -> "AsyncIdentityClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
