r"""The quantile score error :math:`D^\delta` in depth: uncertainty, exact 1-D values, set errors.

- :func:`quantile_score_error_ci`: the Monte Carlo :math:`D^\delta` of
  :func:`.quantile_score_error` with a distribution-free confidence interval from order
  statistics.
- :func:`quantile_score_error_1d_exact`: :math:`D^\delta_{q_t}` in 1-D by quadrature against the
  closed-form density of a :class:`.GaussianMixture`.
- :class:`Interval`, :class:`Ball`, :func:`interval_with_mass` and :func:`perturb_score`: add
  an error of a chosen size on a region of chosen :math:`q_t`-probability, so that
  :math:`D^\delta` and the :math:`L^2` error can be set independently.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
from scipy.stats import binom

from ._validation import (
    as_float,
    as_int,
    as_score_pair,
    as_tensor,
    check_mixture_1d,
    check_nonnegative,
    check_open_unit,
    check_time,
)
from .metrics import quantile_score_error


def quantile_score_error_ci(score_hat, score, delta, level=0.95) -> tuple[float, float, float]:
    r"""Monte Carlo :math:`D^\delta_p(\widehat s, s)` with a distribution-free confidence interval.

    With the errors :math:`e_i = \|\widehat s(x_i) - s(x_i)\|`, :math:`x_i \sim p` i.i.d., sorted
    as :math:`e_{(1)} \le \dots \le e_{(n)}`, and :math:`Q` the :math:`(1-\delta)`-quantile of the
    error's law, the count :math:`B = \#\{i : e_i \le Q\}` is
    :math:`\mathrm{Binomial}(n, 1-\delta)` when that law is continuous at :math:`Q`, so

    .. math:: \mathbb P\big[e_{(l)} \le Q \le e_{(u)}\big] = \mathbb P[l \le B \le u - 1] .

    The interval takes :math:`l` the largest and :math:`u` the smallest index with
    :math:`\mathbb P[B < l] \le \alpha/2` and :math:`\mathbb P[B \ge u] \le \alpha/2`,
    :math:`\alpha = 1 - \text{level}`; its coverage is at least ``level`` whatever the law (no
    normal approximation). Where :math:`l < 1` the lower end is 0, where :math:`u > n` the upper
    end is infinite: ``n`` is then too small for this ``delta`` and ``level``.

    Args:
        score_hat: estimated scores, shape ``(n, d)`` (or ``(n,)`` for ``d = 1``).
        score: true scores at the same points, same shape.
        delta: quantile mass in (0, 1).
        level: confidence level in (0, 1).

    Returns:
        ``(estimate, lower, upper)``, Python floats; the estimate is
        :func:`.quantile_score_error`. None is squared.

    Used in: chapter 4, "Estimating D^delta from samples".
    """
    delta = check_open_unit(delta, "delta")
    level = check_open_unit(level, "level")
    estimate = quantile_score_error(score_hat, score, delta)
    score_hat, score = as_score_pair(score_hat, score)
    errors = torch.sort(torch.linalg.vector_norm(score_hat - score, dim=-1)).values
    n = errors.shape[0]
    alpha = 1.0 - level
    # 1-based order-statistic indices: P[B <= l - 1] <= alpha/2 and P[B >= u] <= alpha/2.
    lower_index = int(binom.ppf(alpha / 2, n, 1.0 - delta))
    upper_index = int(binom.ppf(1.0 - alpha / 2, n, 1.0 - delta)) + 1
    lower = float(errors[lower_index - 1]) if lower_index >= 1 else 0.0
    upper = float(errors[upper_index - 1]) if upper_index <= n else math.inf
    return estimate, lower, upper


def _trapezoid_grid(target, t: float, tail: float, n_grid: int):
    """Uniform grid over the q_t-quantiles tail .. 1 - tail and its trapezoid masses."""
    ends = target.icdf(torch.tensor([tail, 1.0 - tail], dtype=torch.float64), t)
    x = torch.linspace(float(ends[0]), float(ends[1]), n_grid, dtype=torch.float64)
    weights = torch.full_like(x, float(x[1] - x[0]))
    weights[[0, -1]] *= 0.5
    return x, weights * target.log_prob(x[:, None], t).exp()


def quantile_score_error_1d_exact(
    score_hat_fn: Callable, score_fn: Callable, delta, target, t, n_grid=200_001, tail=1e-12
) -> float:
    r"""Exact :math:`D^\delta_{q_t}(\widehat s, s)` for ``d = 1``, by quadrature on the density.

    .. math::
        D^\delta_{q_t}(\widehat s, s) = \inf\big\{\varepsilon \ge 0 :
        \mathbb P_{x\sim q_t}\big[|\widehat s(x) - s(x)| \ge \varepsilon\big] \le \delta\big\}.

    The line between the :math:`q_t`-quantiles ``tail`` and ``1 - tail`` is cut into ``n_grid``
    equal cells with trapezoid masses :math:`w_j`. The errors on the grid, sorted in decreasing
    order, and the running sums of their masses give the infimum directly: it is the largest
    error left once the heaviest errors of total mass at most :math:`\delta` are removed (no
    bisection needed). Accuracy: each mass is exact up to :math:`O(h^2)` for smooth errors and
    :math:`O(h\,\max q_t)` at a jump of the error, :math:`h` the grid step; the ``2 tail`` of
    mass off the grid is ignored. The answer is exact whenever :math:`\delta` is not within
    that accuracy of a mass at which the error's law jumps.

    Args:
        score_hat_fn: callable ``score_hat_fn(x, t) -> (n, 1)`` on points ``(n, 1)``.
        score_fn: the true score, same signature (e.g. ``target.score``).
        delta: quantile mass in (0, 1).
        target: a 1-D :class:`.GaussianMixture`, the law :math:`q_0`.
        t: forward time :math:`t \ge 0`.
        n_grid: grid points, at least 3.
        tail: :math:`q_t`-mass left off the grid on each side, in (0, 1e-3].

    Returns:
        A Python float, not squared.

    Used in: chapter 4, "The quantile error and its picture" and "L^2 against D^delta on the
    chapter 3 instances".
    """
    delta = check_open_unit(delta, "delta")
    target = check_mixture_1d(target)
    t = check_time(t)
    n_grid = as_int(n_grid, "n_grid", minimum=3)
    tail = as_float(tail, "tail")
    if not 0.0 < tail <= 1e-3:
        raise ValueError(f"tail must lie in (0, 1e-3]; got {tail!r}")
    x, mass = _trapezoid_grid(target, t, tail, n_grid)
    score_hat, score = as_score_pair(score_hat_fn(x[:, None], t), score_fn(x[:, None], t))
    errors = (score_hat - score).abs()[:, 0]
    errors, order = torch.sort(errors, descending=True)
    removed = int((torch.cumsum(mass[order], 0) <= delta).sum())
    return float(errors[removed]) if removed < n_grid else 0.0


class Interval(NamedTuple):
    r"""The interval :math:`[\text{lo}, \text{hi})` of the line (``hi`` may be ``inf``).

    Used in: chapter 4, "The quantile error and its picture".
    """

    lo: float
    hi: float


class Ball(NamedTuple):
    r"""The open ball :math:`\{x : \|x - \text{centre}\| < \text{radius}\}` in :math:`\mathbb R^d`.

    Used in: chapter 4, "The quantile error and its picture".
    """

    centre: torch.Tensor
    radius: float


def interval_with_mass(target, t, mass, start=None) -> Interval:
    r"""An interval of :math:`q_t`-probability exactly ``mass``, for a 1-D mixture.

    .. math:: [\,F_t^{-1}(u_0),\ F_t^{-1}(u_0 + \text{mass})\,), \qquad u_0 = \text{start},

    with :math:`F_t` the distribution function of :math:`q_t`
    (:meth:`.GaussianMixture.icdf`, accurate to 1e-12). The default
    :math:`u_0 = 1 - \text{mass}` gives the upper tail :math:`[F_t^{-1}(1 - \text{mass}),
    \infty)`; :math:`u_0 = 0` the lower tail.

    Args:
        target: a 1-D :class:`.GaussianMixture`, the law :math:`q_0`.
        t: forward time :math:`t \ge 0`.
        mass: the probability in (0, 1).
        start: the distribution-function level :math:`u_0 \in [0, 1 - \text{mass}]`.

    Returns:
        An :class:`Interval` of Python floats.

    Used in: chapter 4, "The quantile error and its picture".
    """
    target = check_mixture_1d(target)
    t = check_time(t)
    mass = check_open_unit(mass, "mass")
    start = 1.0 - mass if start is None else as_float(start, "start")
    if not 0.0 <= start <= 1.0 - mass + 1e-15:
        raise ValueError(f"start must lie in [0, 1 - mass] = [0, {1.0 - mass:.6g}]; got {start!r}")
    end = start + mass

    def quantile(u: float) -> float:
        if u <= 0.0:
            return -math.inf
        if u >= 1.0 - 1e-15:
            return math.inf
        return float(target.icdf(torch.tensor([u], dtype=torch.float64), t)[0])

    return Interval(quantile(start), quantile(end))


def _in_region(region, x: torch.Tensor) -> torch.Tensor:
    """Boolean mask ``(n,)`` of the rows of ``x`` inside ``region``."""
    if isinstance(region, Interval):
        if x.shape[-1] != 1:
            raise ValueError(
                f"an Interval region needs d = 1; got points of shape {tuple(x.shape)}"
            )
        return (x[:, 0] >= region.lo) & (x[:, 0] < region.hi)
    if isinstance(region, Ball):
        centre = as_tensor(region.centre, "region.centre", dtype=x.dtype, device=x.device)
        return torch.linalg.vector_norm(x - centre.reshape(1, -1), dim=-1) < region.radius
    raise TypeError(f"region must be an Interval or a Ball; got {type(region).__name__}")


def perturb_score(score_fn: Callable, region, size, direction=None) -> Callable:
    r"""The score plus an error of norm ``size`` on ``region`` and zero elsewhere.

    .. math:: \widehat s(x, t) = s(x, t) + c(t)\, \mathbb 1_{A_t}(x)\, v, \qquad \|v\| = 1,

    so that :math:`\|\widehat s - s\| = c(t)` on :math:`A_t` and 0 off it. Hence, exactly,
    :math:`\mathbb E_{q_t}\|\widehat s - s\|^2 = c(t)^2 q_t(A_t)` (squared), and
    :math:`D^\delta_{q_t}(\widehat s, s) = c(t)` if :math:`q_t(A_t) > \delta`, 0 if
    :math:`q_t(A_t) \le \delta`.

    Args:
        score_fn: the score, ``score_fn(x, t) -> (n, d)`` on points ``(n, d)``.
        region: the set :math:`A_t`: an :class:`Interval` (``d = 1``) or a :class:`Ball`, or a
            callable ``region(t)`` returning one, for a set that moves with ``t``.
        size: :math:`c(t) \ge 0`: a number or a callable ``size(t)``.
        direction: :math:`v`, shape ``(d,)``, normalised here; default
            :math:`(1, \dots, 1)/\sqrt d`.

    Returns:
        The callable ``score_hat(x, t) -> (n, d)``.

    Used in: chapter 4, "The quantile error and its picture" and "An experiment: scores that are
    terrible in L^2"; chapter 5, "ERM over a finite class, measured".
    """
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable; got {type(score_fn).__name__}")
    if not (callable(region) or isinstance(region, (Interval, Ball))):
        raise TypeError(f"region must be an Interval, a Ball or a callable; got {region!r}")
    if not callable(size):
        check_nonnegative(size, "size")
    if direction is not None:
        direction = as_tensor(direction, "direction", dtype=torch.float64).reshape(-1)
        norm = float(torch.linalg.vector_norm(direction))
        if not norm > 0.0:
            raise ValueError("direction must be a non-zero vector")
        direction = direction / norm

    def score_hat(x, t):
        score = score_fn(x, t)
        region_t = region(t) if callable(region) else region
        c_t = float(size(t)) if callable(size) else float(size)
        v = direction
        if v is None:
            v = torch.full((score.shape[-1],), 1.0 / math.sqrt(score.shape[-1]), dtype=score.dtype)
        mask = _in_region(region_t, x).to(score.dtype)
        return score + c_t * mask[:, None] * v.to(score.dtype).to(score.device)[None]

    return score_hat
