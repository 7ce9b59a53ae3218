"""Argument checks shared by the public functions (private module).

Every public function validates at its boundary and raises ``ValueError`` or ``TypeError``
naming the argument, what was expected and what came. The checks of scalars are torch-free and
live in :mod:`diffedu._validation_scalars` (so that :mod:`diffedu.bounds` needs no torch); they
are re-exported here, and every other module imports its checks from this one.
"""

from __future__ import annotations

import torch

from ._validation_scalars import (
    as_float,
    as_int,
    check_at_least,
    check_nonnegative,
    check_open_unit,
    check_positive,
    check_time,
)

__all__ = [
    "append_dims",
    "as_1d",
    "as_float",
    "as_float64",
    "as_generator",
    "as_int",
    "as_score_pair",
    "as_tensor",
    "check_at_least",
    "check_finite",
    "check_mixture_1d",
    "check_nonnegative",
    "check_nonnegative_entries",
    "check_open_unit",
    "check_points",
    "check_positive",
    "check_positive_entries",
    "check_time",
]


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


def as_float64(value, name: str) -> torch.Tensor:
    """``value`` as a finite float64 tensor; Python numbers and lists never pass through float32."""
    if not isinstance(value, (torch.Tensor, str, bytes, bool)) and value is not None:
        try:
            value = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            pass  # as_tensor below raises the TypeError that names the argument
    return check_finite(as_tensor(value, name, dtype=torch.float64), name)


def check_positive_entries(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise unless every entry of ``x`` is > 0 (such as times or noise levels)."""
    if x.numel() and bool((x <= 0).any()):
        raise ValueError(f"{name} must be > 0; got min {float(x.min())!r}")
    return x


def check_nonnegative_entries(x: torch.Tensor, name: str) -> torch.Tensor:
    """Raise unless every entry of ``x`` is >= 0 (such as forward times)."""
    if x.numel() and bool((x < 0).any()):
        raise ValueError(f"{name} must be >= 0; got min {float(x.min())!r}")
    return x


def check_points(x, name: str, dim: int | None = None) -> torch.Tensor:
    """A batch of points of shape ``(n, dim)`` (any ``d`` when ``dim`` is None), finite, float.

    Integer input becomes float64; floating input keeps its dtype.
    """
    x = as_tensor(x, name)
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"{name} must have shape (n, {dim or 'd'}); got {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    return check_finite(x, name)


def as_1d(x, name: str, allow_empty: bool = False) -> torch.Tensor:
    """One-dimensional points as a finite float64 tensor of shape ``(n,)``, on ``x``'s device.

    Accepts shape ``(n,)``, ``(n, 1)`` or a scalar; ``n >= 1`` unless ``allow_empty``.
    """
    x = as_tensor(x, name, dtype=torch.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim == 0:
        x = x[None]
    if x.ndim != 1 or (x.shape[0] == 0 and not allow_empty):
        least = "" if allow_empty else " with n >= 1"
        raise ValueError(f"{name} must have shape (n,) or (n, 1){least}; got {tuple(x.shape)}")
    return check_finite(x, name)


def as_score_pair(score_hat, score) -> tuple[torch.Tensor, torch.Tensor]:
    """Two evaluated scores of the same shape ``(n, d)`` (``(n,)`` read as ``d = 1``), float64.

    ``score`` is moved to ``score_hat``'s device.
    """
    score_hat = check_finite(as_tensor(score_hat, "score_hat"), "score_hat")
    score = check_finite(as_tensor(score, "score"), "score")
    if score_hat.ndim == 1:
        score_hat = score_hat[:, None]
    if score.ndim == 1:
        score = score[:, None]
    if score_hat.ndim != 2 or score_hat.shape[0] == 0:
        raise ValueError(
            f"score_hat must have shape (n, d) with n >= 1; got {tuple(score_hat.shape)}"
        )
    if score.shape != score_hat.shape:
        raise ValueError(
            f"score must have the shape of score_hat {tuple(score_hat.shape)}; "
            f"got {tuple(score.shape)}"
        )
    score = score.to(device=score_hat.device)
    return score_hat.to(torch.float64), score.to(torch.float64)


def check_mixture(target, name: str = "target"):
    """A :class:`.GaussianMixture` of any dimension; returns it unchanged."""
    from .targets import GaussianMixture  # on use: targets itself imports this module

    if not isinstance(target, GaussianMixture):
        raise TypeError(f"{name} must be a GaussianMixture; got {type(target).__name__}")
    return target


def check_mixture_1d(target, name: str = "target"):
    """A one-dimensional :class:`.GaussianMixture`; returns it unchanged."""
    target = check_mixture(target, name)
    if target.dim != 1:
        raise ValueError(f"{name} must be one-dimensional; got dim={target.dim}")
    return target


def as_unit_vector(direction, d: int, device=None, name: str = "direction") -> torch.Tensor:
    """The unit vector along ``direction``, shape ``(d,)``, float64; ``None`` gives
    :math:`(1, \\dots, 1)/\\sqrt d`."""
    if direction is None:
        return torch.full((d,), d**-0.5, dtype=torch.float64, device=device)
    v = as_tensor(direction, name, dtype=torch.float64, device=device).reshape(-1)
    norm_v = float(torch.linalg.vector_norm(v))
    if v.numel() != d or not norm_v > 0.0:
        raise ValueError(f"{name} must be a non-zero vector of length {d}; got {tuple(v.shape)}")
    return v / norm_v


def as_generator(generator) -> torch.Generator | None:
    """An int seed becomes a CPU ``torch.Generator``; a generator or None passes through."""
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    seed = as_int(generator, "generator", minimum=0)
    return torch.Generator().manual_seed(seed)


def append_dims(x: torch.Tensor, target_ndim: int) -> torch.Tensor:
    """Append trailing singleton dimensions so ``x`` broadcasts against a ``target_ndim`` tensor."""
    missing = target_ndim - x.ndim
    if missing < 0:
        raise ValueError(f"cannot broadcast a {x.ndim}-d tensor to {target_ndim} dimensions")
    return x.reshape(*x.shape, *([1] * missing))
