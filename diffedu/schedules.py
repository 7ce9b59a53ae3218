r"""Grids of forward times for the reverse-time sampler.

A schedule is a float64 tensor ``ts`` of shape ``(n_steps + 1,)``, strictly decreasing::

    # ts[0] = T, ..., ts[n_steps] = gamma
    # (forward times; the sampler walks them in order)

``gamma > 0`` is the early-stopping time: the sampler's output is compared with
:math:`q_\gamma`, never with :math:`q_0`.
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    as_float,
    as_float64,
    as_int,
    check_nonnegative_entries,
    check_positive,
    check_positive_entries,
)


def check_schedule(ts, name: str = "ts", *, min_times: int = 2, positive: bool = False):
    r"""Validate a grid of forward times: the one check of every ``ts`` the package takes.

    A grid is one-dimensional, finite, strictly decreasing and non-negative
    (``ts[0] = T, ..., ts[-1] = gamma``), with at least ``min_times`` entries.

    Args:
        ts: the grid, shape ``(N,)`` (a number is read as one time).
        name: the argument's name, for error messages.
        min_times: the fewest entries allowed: 2 for a sampler (one step at least), 1 for
            a training grid.
        positive: require every time to be > 0 (training: :math:`\sigma_t = 0` at
            :math:`t = 0`, so the loss of eq. (4) is undefined there).

    Returns:
        ``ts`` as a float64 CPU tensor of shape ``(N,)``.

    Raises:
        ValueError: naming ``name`` and what is wrong.

    Used in: :func:`.ddpm_sample`, :class:`.EnsembleMLP` and :func:`.train_score`.
    """
    ts = as_float64(ts, name)
    if ts.ndim == 0:
        ts = ts[None]
    if ts.ndim != 1 or ts.numel() < min_times:
        raise ValueError(
            f"{name} must be a 1-D tensor of at least {min_times} time"
            f"{'s' * (min_times != 1)}; got shape {tuple(ts.shape)}"
        )
    if positive:
        check_positive_entries(ts, name)
    else:
        check_nonnegative_entries(ts, name)
    if bool((ts[1:] >= ts[:-1]).any()):
        shown = f"{ts.tolist()[:8]}{' ...' if ts.numel() > 8 else ''}"
        raise ValueError(
            f"{name} must be strictly decreasing (ts[0] = T, ..., ts[-1] = gamma); got {shown}"
        )
    return ts.cpu()


def _check_horizon(T, gamma, n_steps):
    T = as_float(T, "T")
    gamma = check_positive(gamma, "gamma")
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    if T <= gamma:
        raise ValueError(f"T must be larger than gamma={gamma!r}; got T={T!r}")
    return T, gamma, n_steps


def uniform_schedule(T, gamma, n_steps) -> torch.Tensor:
    r"""Equally spaced forward times from ``T`` down to ``gamma``.

    Args:
        T: horizon, the forward time the sampler starts from (``T > gamma``).
        gamma: early-stopping time (``gamma > 0``).
        n_steps: number of sampler steps :math:`N \ge 1`.

    Returns:
        ``ts``, float64 of shape ``(n_steps + 1,)``; ``ts[0] = T``, ``ts[-1] = gamma``.

    Used in: chapter 1, "Choosing the time grid".
    """
    T, gamma, n_steps = _check_horizon(T, gamma, n_steps)
    ts = torch.linspace(T, gamma, n_steps + 1, dtype=torch.float64)
    ts[0], ts[-1] = T, gamma
    return ts


def early_stopped_schedule(T, gamma, n_steps) -> torch.Tensor:
    r"""The early-stopped schedule of Benton et al.: uniform above :math:`t=1`, geometric below.

    Step sizes satisfy :math:`h_k \lesssim \kappa \min(1, t_{k+1})` in forward time: constant
    steps while :math:`t \ge 1`, then :math:`t_{k+1} = t_k / (1 + \kappa)` down to ``gamma``
    (Benton et al., 2024). For a given ``n_steps`` the steps are split between the two
    parts in proportion to their lengths in these units, :math:`T - 1` and
    :math:`\log(1/\gamma)`, so that both parts use about the same :math:`\kappa \approx
    (T - 1 + \log(1/\gamma)) / N`. If ``T <= 1`` the whole grid is geometric; if
    ``gamma >= 1`` it is uniform.

    Args:
        T: horizon (``T > gamma``).
        gamma: early-stopping time (``gamma > 0``).
        n_steps: number of sampler steps :math:`N \ge 1`.

    Returns:
        ``ts``, float64 of shape ``(n_steps + 1,)``, strictly decreasing,
        ``ts[0] = T``, ``ts[-1] = gamma``.

    Used in: chapter 1, "Choosing the time grid", and Lemma 1.3 in chapter 4.
    """
    T, gamma, n_steps = _check_horizon(T, gamma, n_steps)
    if gamma >= 1.0:
        return uniform_schedule(T, gamma, n_steps)
    if T <= 1.0:
        return _geometric(T, gamma, n_steps)
    uniform_len, geometric_len = T - 1.0, math.log(1.0 / gamma)
    if n_steps == 1:
        return torch.tensor([T, gamma], dtype=torch.float64)
    # Steps in the geometric part: proportional to its length, at least one in each part.
    n_geo = round(n_steps * geometric_len / (uniform_len + geometric_len))
    n_geo = min(max(n_geo, 1), n_steps - 1)
    upper = torch.linspace(T, 1.0, n_steps - n_geo + 1, dtype=torch.float64)
    lower = _geometric(1.0, gamma, n_geo)
    ts = torch.cat([upper[:-1], lower])
    ts[0], ts[-1] = T, gamma
    return ts


def _geometric(t_start: float, t_end: float, n_steps: int) -> torch.Tensor:
    """Geometrically spaced times from ``t_start`` down to ``t_end`` (both > 0)."""
    exponents = torch.linspace(0.0, 1.0, n_steps + 1, dtype=torch.float64)
    ts = t_start * (t_end / t_start) ** exponents
    ts[0], ts[-1] = t_start, t_end
    return ts
