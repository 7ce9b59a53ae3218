"""Argument checks for scalars: the torch-free half of :mod:`diffedu._validation` (private).

Pure Python (``math``, ``numbers``), so that :mod:`diffedu.bounds` validates its arguments
without importing torch. :mod:`diffedu._validation` re-exports every name here, so the rest
of the package imports all its checks from one place.

Each check returns the converted value or raises ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, wrong value), naming the argument, the expectation and the value.
One-element tensors and arrays count as scalars: they are recognised by their ``shape`` and
``item``, without importing their library.
"""

from __future__ import annotations

import math
import numbers


def _is_scalar_array(value) -> bool:
    """A tensor or array with exactly one element (anything with a ``shape`` and ``item``)."""
    shape = getattr(value, "shape", None)
    return shape is not None and hasattr(value, "item") and math.prod(shape) == 1


def as_float(value, name: str) -> float:
    """A real scalar (number or one-element tensor or array) as a finite Python float."""
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "item"):
        if math.prod(shape) != 1:
            raise ValueError(f"{name} must be a scalar; got a tensor of shape {tuple(shape)}")
        value = value.item()
    if not isinstance(value, numbers.Real):
        try:
            value = float(value)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a real number; got {type(value).__name__}") from err
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return value


def as_int(value, name: str, minimum: int | None = None) -> int:
    """An integral value (int, or a one-element integer tensor or array) as ``int``.

    Booleans are refused. With ``minimum``, values below it raise ``ValueError``.
    """
    if _is_scalar_array(value):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_positive(value, name: str) -> float:
    """A finite real scalar > 0."""
    value = as_float(value, name)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return value


def check_nonnegative(value, name: str) -> float:
    """A finite real scalar >= 0."""
    value = as_float(value, name)
    if value < 0.0:
        raise ValueError(f"{name} must be >= 0; got {value!r}")
    return value


def check_at_least(value, name: str, minimum: float) -> float:
    """A finite real scalar >= ``minimum`` (a real-valued count such as a dimension)."""
    value = as_float(value, name)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}; got {value!r}")
    return value


def check_open_unit(value, name: str) -> float:
    """A finite real scalar in the open interval (0, 1), such as a quantile mass ``delta``."""
    value = as_float(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1); got {value!r}")
    return value


def check_time(t, name: str = "t", positive: bool = False) -> float:
    """A scalar forward time: finite and >= 0 (or > 0 when ``positive``)."""
    return check_positive(t, name) if positive else check_nonnegative(t, name)
