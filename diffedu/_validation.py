"""Argument checks shared by the public functions (private module).

Every public function validates at its boundary and raises ``ValueError`` or
``TypeError`` naming the argument, what was expected and what came.
"""

from __future__ import annotations

import math
import numbers

import torch


def as_tensor(value, name: str, dtype=None, device=None) -> torch.Tensor:
    """Convert ``value`` to a tensor, rejecting strings, None and non-numeric input.

    Python numbers and lists become float64 (unless ``dtype`` says otherwise); tensors and
    arrays keep their dtype.
    """
    if isinstance(value, torch.Tensor):
        out = value
    elif isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a tensor, array or number; got {type(value).__name__}")
    else:
        if dtype is None and not hasattr(value, "dtype"):
            dtype = torch.float64  # Python numbers and lists: never round through float32
        try:
            out = torch.as_tensor(value, dtype=dtype)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a tensor, array or number; got {type(value).__name__}"
            ) from err
    if out.dtype == torch.bool or out.is_complex():
        raise TypeError(f"{name} must hold real numbers; got dtype {out.dtype}")
    if dtype is not None or device is not None:
        out = out.to(dtype=dtype or out.dtype, device=device or out.device)
    return out


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise if ``x`` holds NaN or infinity."""
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name} must be finite; got {n_bad} NaN or infinite entries")
    return x


def as_float(value, name: str) -> float:
    """Convert a real scalar (number or one-element tensor) to a finite Python float."""
    if isinstance(value, bool) or isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar; got a tensor of shape {tuple(value.shape)}")
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
    """Convert an integral value to ``int``, checking an optional lower bound."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
            value = int(value.item())
        else:
            raise TypeError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_open_unit(value, name: str) -> float:
    """A scalar in the open interval (0, 1), such as a quantile mass ``delta``."""
    value = as_float(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie in (0, 1); got {value!r}")
    return value


def check_positive(value, name: str) -> float:
    """A finite scalar > 0."""
    value = as_float(value, name)
    if value <= 0.0:
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return value


def check_time(t, name: str = "t", positive: bool = False) -> float:
    """A scalar forward time: finite and >= 0 (or > 0 when ``positive``)."""
    t = as_float(t, name)
    if positive and t <= 0.0:
        raise ValueError(f"{name} must be > 0; got {t!r}")
    if t < 0.0:
        raise ValueError(f"{name} must be >= 0; got {t!r}")
    return t


def check_points(x, name: str, dim: int) -> torch.Tensor:
    """A batch of points of shape ``(n, dim)`` with finite real entries."""
    x = as_tensor(x, name)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}); got {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    return check_finite(x, name)


def append_dims(x: torch.Tensor, target_ndim: int) -> torch.Tensor:
    """Append trailing singleton dimensions so ``x`` broadcasts against a ``target_ndim`` tensor."""
    missing = target_ndim - x.ndim
    if missing < 0:
        raise ValueError(f"cannot broadcast a {x.ndim}-d tensor to {target_ndim} dimensions")
    return x.reshape(*x.shape, *([1] * missing))
