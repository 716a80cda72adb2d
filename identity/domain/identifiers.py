"""Identifier types: normalisation and validation.

Each type turns a raw string into its canonical form, so that the same person's identifier
written two ways meets itself in the graph. ``normalize`` raises ``ValidationError`` naming the
field and the rule broken; the raw value is never echoed (it is PII).

    email                trimmed, lower-case; Gmail dots / +tags per TenantConfig
    phone                E.164 (+ and 7..15 digits); national numbers take the tenant's country code
    device_id            IDFA/GAID/UUID -> lower-case canonical UUID; other vendor ids lower-cased
    cookie               trimmed, case kept (cookies are case-sensitive)
    partner_id           a partner's customer id: trimmed, case kept
    ip                   IPv4/IPv6 in canonical form (IPv4-mapped IPv6 becomes IPv4)
    payment_fingerprint  a card/payment fingerprint: [A-Za-z0-9_-], case kept
    hashed_email         a SHA-256 hex digest of an email, lower-case
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from ..base.errors import ValidationError

__all__ = ["IDENTIFIER_TYPES", "Normalization", "normalize", "parse_timestamp", "compact_phone", "MAX_EPOCH_MS"]


class Normalization(Protocol):
    """The settings normalisation reads: a tenant's TenantConfig (identity.domain.guards, which
    builds on the identifier types defined here) has them."""

    gmail_normalization: bool
    strip_plus_tags: bool
    default_country_code: str
    strict_device_ids: bool


#: The last millisecond of 9999-12-31 (UTC): the latest time an event or an ``as_of`` may name.
MAX_EPOCH_MS = 253_402_300_799_999

_MAX_RAW = 1024
_EMAIL_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}
_UUID_LIKE = re.compile(r"^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$")
_DEVICE_TOKEN = re.compile(r"^[a-z0-9][a-z0-9._:-]{2,127}$")
_OPAQUE = re.compile(r"^[\x21-\x7e]{1,256}$")  # printable ASCII, no spaces
_FINGERPRINT = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_PHONE_SEPARATORS = re.compile(r"[\s().\-/]")


def _email(raw: str, config: Normalization) -> str:
    value = raw.strip().lower()
    if value.count("@") != 1:
        raise _invalid("is not an email address (needs exactly one @)")
    local, domain = value.split("@")
    if not _EMAIL_LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise _invalid("has an invalid email local part")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        raise _invalid("has an invalid email domain")
    if config.gmail_normalization and domain in _GMAIL_DOMAINS:
        local, domain = local.split("+", 1)[0].replace(".", ""), "gmail.com"
    elif config.strip_plus_tags:
        local = local.split("+", 1)[0]
    if not local:
        raise _invalid("has an empty email local part")
    if len(local) + 1 + len(domain) > 254:
        raise _invalid("is longer than 254 characters")
    return f"{local}@{domain}"


def compact_phone(raw: str) -> str:
    """The phone number without separators (the form blocked values are matched in too)."""
    return _PHONE_SEPARATORS.sub("", raw.strip())


def _phone(raw: str, config: Normalization) -> str:
    value = compact_phone(raw)
    if value.startswith("+"):
        digits = value[1:]
    elif value.startswith("00"):  # the international call prefix most countries use
        digits = value[2:]
    else:
        national = value[1:] if value.startswith("0") else value  # drop a national trunk prefix
        digits = config.default_country_code + national
    if not digits.isdigit() or not digits.isascii():
        raise _invalid("is not a phone number (digits, spaces, ()-./ and a leading + only)")
    if digits.startswith("0"):
        raise _invalid("has no valid country calling code")
    if len(digits) < 7:
        raise _invalid("is too short for a phone number (E.164 needs at least 7 digits)")
    if len(digits) > 15:
        raise _invalid("is too long for a phone number (E.164 allows at most 15 digits)")
    return "+" + digits


def _device_id(raw: str, config: Normalization) -> str:
    value = raw.strip().lower()
    if _UUID_LIKE.match(value):
        return str(uuid.UUID(value.strip("{}")))
    if config.strict_device_ids:
        raise _invalid("is not an IDFA/GAID/UUID device id")
    if not _DEVICE_TOKEN.match(value):
        raise _invalid("is not a device id (3..128 of a-z 0-9 . _ : -)")
    return value


def _opaque(raw: str, config: Normalization) -> str:
    value = raw.strip()
    if not _OPAQUE.match(value):
        raise _invalid("must be 1..256 printable characters without spaces")
    return value


def _ip(raw: str, config: Normalization) -> str:
    try:
        address = ipaddress.ip_address(raw.strip())
    except ValueError:
        raise _invalid("is not an IPv4 or IPv6 address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


def _fingerprint(raw: str, config: Normalization) -> str:
    value = raw.strip()
    if not _FINGERPRINT.match(value):
        raise _invalid("is not a payment fingerprint (8..128 of A-Z a-z 0-9 _ -)")
    return value


def _hashed_email(raw: str, config: Normalization) -> str:
    value = raw.strip().lower()
    if not _SHA256_HEX.match(value):
        raise _invalid("is not a SHA-256 hex digest (64 hex digits)")
    return value


IDENTIFIER_TYPES: dict[str, Callable[[str, Normalization], str]] = {
    "email": _email,
    "phone": _phone,
    "device_id": _device_id,
    "cookie": _opaque,
    "partner_id": _opaque,
    "ip": _ip,
    "payment_fingerprint": _fingerprint,
    "hashed_email": _hashed_email,
}


class _Invalid(Exception):
    pass


def _invalid(reason: str) -> _Invalid:
    return _Invalid(reason)


def normalize(id_type: Any, raw: Any, config: Normalization, *, field: str = "") -> str:
    """The canonical form of ``raw`` as an identifier of ``id_type``; ValidationError otherwise.
    ``field`` is the JSON path of the identifier (``…identifiers[2]``) used in errors."""
    prefix = f"{field}." if field else ""
    if not isinstance(id_type, str) or id_type not in IDENTIFIER_TYPES:
        known = ", ".join(IDENTIFIER_TYPES)
        raise ValidationError(prefix + "type", f"is not a known identifier type (expected one of {known})")
    if not isinstance(raw, str):
        raise ValidationError(prefix + "value", "must be a string")
    if not raw.strip():
        raise ValidationError(prefix + "value", "is empty")
    if len(raw) > _MAX_RAW:
        raise ValidationError(prefix + "value", f"is longer than {_MAX_RAW} characters")
    try:
        return IDENTIFIER_TYPES[id_type](raw, config)
    except _Invalid as invalid:
        raise ValidationError(prefix + "value", str(invalid)) from None


def parse_timestamp(value: Any, *, field: str, epoch_unit_ms: bool = True) -> int:
    """Epoch milliseconds from an ISO-8601 string (naive means UTC) or an epoch number
    (milliseconds for event timestamps, seconds when ``epoch_unit_ms`` is False), between the
    epoch and the end of year 9999 (``MAX_EPOCH_MS``): the graph stores it as a 64-bit long."""
    if isinstance(value, bool):
        raise ValidationError(field, "must be an ISO-8601 string or an epoch number")
    if isinstance(value, (int, float)):
        if value != value:
            raise ValidationError(field, "must be a number")
        ms = value if epoch_unit_ms else value * 1000
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(field, "is not an ISO-8601 timestamp") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        try:  # an offset can carry year 1 or 9999 out of datetime's range
            ms = moment.timestamp() * 1000
        except (OverflowError, ValueError):
            ms = -1
    else:
        raise ValidationError(field, "must be an ISO-8601 string or an epoch number")
    if not 0 <= ms <= MAX_EPOCH_MS:
        unit = "milliseconds" if epoch_unit_ms else "seconds"
        raise ValidationError(field, f"must lie between the epoch and the end of year 9999 (as epoch {unit}: "
                                     f"0..{MAX_EPOCH_MS if epoch_unit_ms else MAX_EPOCH_MS // 1000})")
    return int(ms)
