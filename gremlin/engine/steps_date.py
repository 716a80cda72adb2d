"""Date steps (TinkerPop 3.7): asDate(), dateAdd(DT, n), dateDiff(date). Dates are aware UTC datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from gremlin_python.process.traversal import DT

from ..errors import InvalidArgumentError
from .base import Context, Step, Traversal, register
from .steps_map import MapStep
from .traverser import Traverser
from .values import is_number, java_type_name


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _as_date(value: Any) -> datetime:
    """A datetime, an ISO-8601 string or epoch milliseconds (an integer) as a date."""
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    elif is_number(value) and isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    raise InvalidArgumentError(f"Can't parse {value!r} as Date")


def _date(step: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidArgumentError(f"{step}() accepts only dates, not {type(value).__name__}")
    return _utc(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_UNITS = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1),
          "day": timedelta(days=1)}


@register("asDate")
def _as_date_step() -> Step:
    return MapStep("asDate", lambda ctx, t: _as_date(t.obj))


@register("dateAdd")
def _date_add(unit: Any, amount: Any) -> Step:
    name = unit.name if isinstance(unit, DT) else str(unit)
    # TinkerPop's dateAdd(DT, int): a Long (2L, or a number past 32 bits) is an argument type mismatch
    if name not in _UNITS or java_type_name(amount) != "Integer":
        raise InvalidArgumentError("dateAdd() takes a DT unit (second, minute, hour, day) and an Integer, "
                                   f"not {java_type_name(amount)}")
    delta = _UNITS[name] * amount
    return MapStep("dateAdd", lambda ctx, t: _date("dateAdd", t.obj) + delta)


@register("dateDiff")
def _date_diff(other: Any) -> Step:
    def diff(ctx: Context, traverser: Traverser) -> int:
        value = other.first(ctx, traverser, None) if isinstance(other, Traversal) else other
        # a traversal that gives no date (null) stands for the epoch, as TinkerPop's DateDiffStep has it
        since = _EPOCH if value is None and isinstance(other, Traversal) else _date("dateDiff", value)
        return int((_date("dateDiff", traverser.obj) - since).total_seconds())
    return MapStep("dateDiff", diff)
