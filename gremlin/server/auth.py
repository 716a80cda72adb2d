"""Who may use the endpoint, and what each user may do.

The endpoint asks an **Authenticator** (anything with ``authenticate(user, password) -> Grant``)
once per connection, with the username and password of the client's SASL PLAIN response. The
**Grant** it returns says what the connection's traversals may do: the strategies the server
imposes on every one of them (a PartitionStrategy, ReadOnlyStrategy: applied by the graph after
the client's own, so nothing the client sends removes or widens them), and a test the server
repeats before each request, so a revoked credential stops working on connections already open.

``Credentials`` is the stock authenticator, as Gremlin Server's SimpleAuthenticator: users with
passwords, each granted the whole graph. Passwords are kept only as salted scrypt hashes and
compared in constant time. A credentials file holds one ``username:hash`` line per user (``#``
starts a comment); make a line with ``python -m gremlin.server --hash-password USER`` (the
password is read from stdin).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Protocol

from gremlin_python.process.traversal import TraversalStrategy

from ..errors import AuthenticationError, InvalidArgumentError

__all__ = ["Grant", "Authenticator", "Credentials", "hash_password", "verify_password", "parse_sasl_plain"]


@dataclass(frozen=True)
class Grant:
    """What an authenticated connection may do."""

    user: str
    #: imposed on each of the connection's traversals (PartitionStrategy, SubgraphStrategy, ReadOnlyStrategy)
    strategies: tuple[TraversalStrategy, ...] = ()
    #: asked before each request; False ends the connection's access (a revoked key)
    valid: Callable[[], bool] | None = None

    @property
    def read_only(self) -> bool:
        return any(s.strategy_name == "ReadOnlyStrategy" for s in self.strategies)

    def still_valid(self) -> bool:
        return self.valid is None or bool(self.valid())


class Authenticator(Protocol):
    def authenticate(self, user: str, password: str) -> Grant:
        """The Grant for this user and password, or AuthenticationError (whose message must
        not say which of the two was wrong)."""

_SCHEME = "scrypt"
_N, _R, _P = 2**14, 8, 1  # ~16 MiB and tens of milliseconds per check
_KEY_BYTES = 32


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$key`` with base64 salt and key."""
    salt = salt if salt is not None else os.urandom(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_KEY_BYTES)
    return "$".join([_SCHEME, str(_N), str(_R), str(_P),
                     base64.b64encode(salt).decode("ascii"), base64.b64encode(key).decode("ascii")])


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        if scheme != _SCHEME:
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(key_b64)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


def _is_hash(value: str) -> bool:
    return value.startswith(_SCHEME + "$") and value.count("$") == 5


class Credentials:
    """Users and their password hashes.

    ``Credentials({"alice": "secret"})`` hashes plain passwords on the way in; values that
    already are hashes (from :func:`hash_password`) are kept as they are."""

    def __init__(self, users: Mapping[str, str] | None = None):
        self._hashes: dict[str, str] = {}
        for user, secret in (users or {}).items():
            self.add(user, secret)
        # Unknown users are checked against this so a miss costs as much as a wrong password.
        self._decoy = hash_password(os.urandom(8).hex())

    def add(self, user: str, password_or_hash: str) -> None:
        if not user or ":" in user or "\0" in user:
            raise InvalidArgumentError(f"Invalid username {user!r}")
        self._hashes[user] = password_or_hash if _is_hash(password_or_hash) else hash_password(password_or_hash)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> "Credentials":
        credentials = cls()
        for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, stored = line.partition(":")
            if not sep or not _is_hash(stored.strip()):
                raise InvalidArgumentError(
                    f"{path}:{number}: expected 'username:scrypt$...' (make one with --hash-password)")
            credentials.add(user.strip(), stored.strip())
        return credentials

    def __len__(self) -> int:
        return len(self._hashes)

    def authenticate(self, user: str, password: str) -> Grant:
        """The whole graph for a known user with the right password, or AuthenticationError
        (the message never says which part was wrong)."""
        stored = self._hashes.get(user)
        ok = verify_password(password, stored if stored is not None else self._decoy)
        if stored is None or not ok:
            raise AuthenticationError("Username and/or password are incorrect")
        return Grant(user)


def parse_sasl_plain(sasl: object) -> tuple[str, str]:
    """``base64(authzid \\0 user \\0 password)`` -> (user, password)."""
    if not isinstance(sasl, str) or not sasl:
        raise AuthenticationError("Authentication needs a SASL PLAIN response in the 'sasl' argument")
    try:
        decoded = base64.b64decode(sasl, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("The 'sasl' argument is not base64 SASL PLAIN") from None
    parts = decoded.split("\0")
    if len(parts) != 3:
        raise AuthenticationError("The 'sasl' argument is not a SASL PLAIN response")
    return parts[1], parts[2]
