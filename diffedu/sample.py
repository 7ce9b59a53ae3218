r"""The DDPM sampler: exponential-integrator discretisation of the reverse SDE.

The reverse of the OU process, run forward in reverse time, is

.. math:: \mathrm dy = \big(y + 2\,s_{T-u}(y)\big)\,\mathrm du + \sqrt 2\,\mathrm dB_u .

Freezing the score at the start of each step and integrating the linear drift exactly
gives, with :math:`h_k = t_k - t_{k+1}` in forward time and :math:`\xi_k\sim\mathcal N(0, I_d)`,

.. math::
    y_{k+1} = e^{h_k} y_k + 2\,(e^{h_k} - 1)\,\widehat s_{t_k}(y_k) + \sqrt{e^{2h_k} - 1}\;\xi_k .

:func:`em_sample` is the Euler-Maruyama discretisation of the same equation, kept for
comparison. Every sampler takes any ``score_fn(x, t) -> (n, d)``, so the exact mixture score
and a trained network plug into the same function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._validation import as_int, check_points
from .schedules import check_schedule
from .utils import draw_device

ScoreFn = Callable[[torch.Tensor, float], torch.Tensor]


def standard_normal(
    n, d, *, generator: torch.Generator | None = None, device=None, dtype=torch.float64
) -> torch.Tensor:
    r"""Draw ``n`` points from :math:`\mathcal N(0, I_d)`, the sampler's starting law.

    The package's rule for draws: points are made on ``generator``'s device, or on the CPU
    when no generator is given (as :meth:`.GaussianMixture.sample` does); ``device``
    overrides it.

    Args:
        n: number of points, ``n >= 1``.
        d: dimension, ``d >= 1``.
        generator: optional ``torch.Generator``.
        device: where to draw; ``None`` means the generator's device, or the CPU when no
            generator is given.
        dtype: floating dtype of the result.

    Returns:
        Tensor of shape ``(n, d)``.

    Used in: chapter 1, "Sampling with the exact score".
    """
    n = as_int(n, "n", minimum=1)
    d = as_int(d, "d", minimum=1)
    if device is None:
        device = draw_device(generator)
    return torch.randn(n, d, generator=generator, device=device, dtype=dtype)


def _exponential_step(x, score, h, noise):
    """Eq. (13) in closed form: exact linear drift, frozen score, exact noise variance."""
    return (
        math.exp(h) * x
        + (2.0 * math.expm1(h)) * score.to(x.dtype)
        + math.sqrt(math.expm1(2.0 * h)) * noise
    )


def _euler_maruyama_step(x, score, h, noise):
    """Freeze the whole drift and the noise coefficient over the step."""
    return x + h * (x + 2.0 * score.to(x.dtype)) + math.sqrt(2.0 * h) * noise


def _iterate(step, score_fn, x_T, ts, generator, return_trajectory, name: str):
    """The loop every sampler shares: validate, then ``x <- step(x, score, h, noise)``."""
    if not callable(score_fn):
        raise TypeError(
            f"score_fn must be callable as score_fn(x, t); got {type(score_fn).__name__}"
        )
    x = check_points(x_T, "x_T")
    times = check_schedule(ts).tolist()
    trajectory = [x]
    for t_now, t_next in zip(times[:-1], times[1:], strict=True):
        score = score_fn(x, t_now)
        if score.shape != x.shape:
            raise ValueError(
                f"score_fn must return shape {tuple(x.shape)}; "
                f"got {tuple(score.shape)} at t={t_now}"
            )
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = step(x, score, t_now - t_next, noise)
        if return_trajectory:
            trajectory.append(x)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} produced NaN or inf: check that score_fn returns finite values")
    if return_trajectory:
        return x, torch.stack(trajectory)
    return x


def ddpm_sample(
    score_fn: ScoreFn,
    x_T: torch.Tensor,
    ts,
    *,
    generator: torch.Generator | None = None,
    return_trajectory: bool = False,
):
    r"""Run the exponential-integrator DDPM sampler from ``ts[0]`` down to ``ts[-1]``.

    Implements the step of eq. (13) of the paper in closed form (see the module docstring):
    the score is frozen at the step start, the linear drift is exact, fresh noise each step.

    Args:
        score_fn: callable ``score_fn(x, t) -> (n, d)``, the (estimated) score of
            :math:`q_t` at forward time ``t`` (a Python float).
        x_T: starting points, shape ``(n, d)``, usually :func:`standard_normal`.
        ts: forward times, shape ``(N + 1,)``, strictly decreasing;
            ``ts[0] = T, ..., ts[N] = gamma``.
        generator: optional ``torch.Generator`` on ``x_T``'s device.
        return_trajectory: also return every iterate.

    Returns:
        The final points, shape ``(n, d)`` with ``x_T``'s dtype and device; with
        ``return_trajectory``, a pair ``(x, trajectory)`` where ``trajectory`` has shape
        ``(N + 1, n, d)`` and ``trajectory[k]`` is the iterate at forward time ``ts[k]``.

    Raises:
        ValueError: on bad shapes or times, or if the iterates stop being finite
            (a score that returned NaN or inf).

    Used in: chapter 1, "Sampling with the exact score"; chapters 2, 4 and 5.
    """
    return _iterate(
        _exponential_step, score_fn, x_T, ts, generator, return_trajectory, "ddpm_sample"
    )


def em_sample(
    score_fn: ScoreFn,
    x_T: torch.Tensor,
    ts,
    *,
    generator: torch.Generator | None = None,
    return_trajectory: bool = False,
):
    r"""Run the Euler-Maruyama discretisation of the reverse SDE from ``ts[0]`` to ``ts[-1]``.

    Freezes the whole drift and the noise coefficient over each step, with
    :math:`h_k = t_k - t_{k+1}` and :math:`\xi_k \sim \mathcal N(0, I_d)`:

    .. math::
        y_{k+1} = y_k + h_k\big(y_k + 2\,\widehat s_{t_k}(y_k)\big) + \sqrt{2 h_k}\;\xi_k .

    It agrees with the exponential-integrator step of :func:`ddpm_sample` to first order in
    :math:`h_k`; one step from a fixed :math:`y` is Gaussian with mean
    :math:`y + h(y + 2\widehat s_{t_k}(y))` and variance :math:`2h` (against
    :math:`e^{2h} - 1` for :func:`ddpm_sample`). Same arguments and checks as
    :func:`ddpm_sample`.

    Args:
        score_fn: callable ``score_fn(x, t) -> (n, d)``, the (estimated) score of
            :math:`q_t` at forward time ``t`` (a Python float).
        x_T: starting points, shape ``(n, d)``, usually :func:`standard_normal`.
        ts: forward times, shape ``(N + 1,)``, strictly decreasing;
            ``ts[0] = T, ..., ts[N] = gamma``.
        generator: optional ``torch.Generator`` on ``x_T``'s device.
        return_trajectory: also return every iterate.

    Returns:
        The final points, shape ``(n, d)`` with ``x_T``'s dtype and device; with
        ``return_trajectory``, a pair ``(x, trajectory)`` where ``trajectory`` has shape
        ``(N + 1, n, d)`` and ``trajectory[k]`` is the iterate at forward time ``ts[k]``.

    Raises:
        ValueError: on bad shapes or times, or if the iterates stop being finite.

    Used in: chapter 1, "The exponential-integrator step" and "More steps".
    """
    return _iterate(
        _euler_maruyama_step, score_fn, x_T, ts, generator, return_trajectory, "em_sample"
    )
