r"""Score errors and distances between distributions.

Score errors act on *evaluated* scores: two tensors of shape ``(n, d)`` holding
:math:`\widehat s(x_i)` and :math:`s(x_i)` at the same points :math:`x_i \sim p`.

- :func:`l2_score_error` is the squared L2 error :math:`\mathbb E_p\|\widehat s - s\|^2`.
- :func:`quantile_score_error` is the paper's :math:`D^\delta_p(\widehat s, s)`, eq. (6): the
  :math:`(1-\delta)`-quantile of :math:`\|\widehat s(x) - s(x)\|` under :math:`x\sim p`.
- :func:`score_error_profile` evaluates both at every time of a grid, in the paper's units
  :math:`\sigma_t^2 \times` L2 and :math:`\sigma_t \times D^\delta` if asked.

Distances: total variation in 1-D against a known target, and the 2-Wasserstein distance
(never squared unless the name says so).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from ._validation import (
    as_1d,
    as_float,
    as_int,
    as_score_pair,
    as_tensor,
    check_finite,
    check_mixture_1d,
    check_open_unit,
)
from .forward import ou_sigma
from .targets import GaussianMixture


def l2_score_error(score_hat, score) -> float:
    r"""Squared L2 score error :math:`\frac1n\sum_i \|\widehat s(x_i) - s(x_i)\|^2`.

    A Monte Carlo estimate of :math:`\mathbb E_{x\sim p}\|\widehat s(x) - s(x)\|^2` when the
    rows were evaluated at :math:`x_i \sim p`. The result is **squared**.

    Args:
        score_hat: estimated scores, shape ``(n, d)`` (or ``(n,)`` for ``d = 1``).
        score: true scores at the same points, same shape.

    Returns:
        A Python float.

    Used in: chapter 3, "Two mixtures that samples cannot tell apart"; chapter 4, "Trained scores".
    """
    score_hat, score = as_score_pair(score_hat, score)
    return float(((score_hat - score) ** 2).sum(-1).mean())


def _quantile_index(n: int, delta: float) -> int:
    """0-based index of the order statistic that is the empirical D^delta."""
    k = math.floor(delta * n + 1e-9)  # rows allowed to exceed the threshold
    return n - k - 1 if k < n else 0


def quantile_score_error(score_hat, score, delta) -> float:
    r"""Quantile score error :math:`D^\delta_p(\widehat s, s)` of the paper's eq. (6).

    .. math::
        D^\delta_p(\widehat s, s) = \inf\big\{\varepsilon \ge 0 :
        \mathbb P_{x\sim p}\big[\|\widehat s(x) - s(x)\| \ge \varepsilon\big] \le \delta\big\}.

    Under the empirical law of the rows this infimum is an order statistic: with the norms
    sorted, :math:`e_{(1)} \le \dots \le e_{(n)}`, and :math:`k = \lfloor \delta n\rfloor`
    rows allowed above the threshold, it is :math:`e_{(n-k)}`. The result is not squared.

    Args:
        score_hat: estimated scores, shape ``(n, d)`` (or ``(n,)`` for ``d = 1``).
        score: true scores at the same points, same shape.
        delta: quantile mass in (0, 1).

    Returns:
        A Python float.

    Used in: chapter 3, "Two mixtures that samples cannot tell apart" and exercise "A score from a
    weight that underflows"; chapter 4, "The quantile error and its picture".
    """
    delta = check_open_unit(delta, "delta")
    score_hat, score = as_score_pair(score_hat, score)
    errors = torch.linalg.vector_norm(score_hat - score, dim=-1)
    index = _quantile_index(errors.shape[0], delta)
    return float(torch.sort(errors).values[index])


# ----- one-dimensional distances ------------------------------------------------------------


def tv_distance_1d(samples, target, n_bins=None) -> float:
    r"""Histogram estimate of :math:`\mathrm{TV}(\widehat p, q)` between samples and a 1-D target.

    The estimator bins the line and compares frequencies with exact bin masses:
    :math:`\widehat{\mathrm{TV}} = \frac12\sum_b |n_b/n - q(B_b)|`.

    - ``target`` a 1-D :class:`.GaussianMixture`: ``n_bins`` bins of equal target mass
      (edges at target quantiles, the outer bins reaching to :math:`\pm\infty`), masses exact.
    - ``target`` a callable ``log_prob(x) -> (n,)``: equal-width bins over the sample range
      widened by 10% on each side, masses by composite Simpson quadrature, and the target
      mass outside the range counted as one more bin with no samples.

    Bias, both ways: binning can only merge differences, so with exact masses the estimate
    is at most the true TV plus sampling noise; sampling noise adds a positive floor, about
    :math:`\frac12\sum_b\sqrt{2 q_b(1-q_b)/(\pi n)} \approx \sqrt{n_\text{bins}/(2\pi n)}` for
    equal-mass bins (see :func:`tv_noise_floor_1d`), which dominates once the true TV is
    below it.

    Args:
        samples: points, shape ``(n,)`` or ``(n, 1)``.
        target: a 1-D :class:`.GaussianMixture` or a callable returning log densities.
        n_bins: number of bins; default :math:`\lceil 2 n^{1/3}\rceil` (at least 10).

    Returns:
        A Python float in [0, 1].

    Used in: chapter 1, "Measuring the sampler"; chapters 2, 4 and 5.
    """
    x = as_1d(samples, "samples").cpu()
    n = x.shape[0]
    n_bins = as_int(_default_bins(n) if n_bins is None else n_bins, "n_bins", minimum=2)
    if isinstance(target, GaussianMixture):
        check_mixture_1d(target)
        u = torch.arange(1, n_bins, dtype=torch.float64) / n_bins
        edges = target.icdf(u)
        counts = torch.bincount(torch.searchsorted(edges, x), minlength=n_bins)
        return float(0.5 * (counts / n - 1.0 / n_bins).abs().sum())
    if callable(target):
        lo, hi = float(x.min()), float(x.max())
        pad = 0.1 * max(hi - lo, 1e-12)
        edges = torch.linspace(lo - pad, hi + pad, n_bins + 1, dtype=torch.float64)
        masses = _simpson_bin_masses(target, edges)
        counts = torch.histogram(x, bins=edges).hist
        outside = max(0.0, 1.0 - float(masses.sum()))
        return float(0.5 * ((counts / n - masses).abs().sum() + outside))
    raise TypeError(
        f"target must be a GaussianMixture or a callable log_prob; got {type(target).__name__}"
    )


def _simpson_bin_masses(log_prob: Callable, edges: torch.Tensor, per_bin: int = 16) -> torch.Tensor:
    """Mass of each bin under ``exp(log_prob)`` by composite Simpson with ``per_bin`` panels."""
    n_bins = edges.shape[0] - 1
    grid = torch.linspace(
        float(edges[0]), float(edges[-1]), n_bins * per_bin + 1, dtype=torch.float64
    )
    density = torch.exp(
        as_tensor(log_prob(grid[:, None]), "log_prob(x)", dtype=torch.float64).reshape(-1)
    )
    check_finite(density, "exp(log_prob(x))")
    step = float(grid[1] - grid[0])
    weights = torch.ones(per_bin + 1, dtype=torch.float64)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    panels = density.cpu().unfold(0, per_bin + 1, per_bin)  # (n_bins, per_bin + 1)
    return (panels * weights).sum(1) * step / 3.0


def _default_bins(n: int) -> int:
    """Default bin count of :func:`tv_distance_1d`: 2 n^(1/3) rounded up, at least 10."""
    return max(10, math.ceil(2 * n ** (1 / 3)))


def tv_noise_floor_1d(n, n_bins=None) -> float:
    r"""Expected :func:`tv_distance_1d` for exact samples with equal-mass bins (normal approx.).

    .. math:: \mathbb E\,\widehat{\mathrm{TV}} \approx \tfrac12\, n_\text{bins}
        \sqrt{\tfrac{2}{\pi}\,\tfrac{p(1-p)}{n}},\qquad p = 1/n_\text{bins}.

    Args:
        n: number of samples, ``n >= 1``.
        n_bins: number of bins; default the same as :func:`tv_distance_1d`'s.

    Returns:
        A Python float.

    Used in: chapter 1, "Measuring the sampler".
    """
    n = as_int(n, "n", minimum=1)
    n_bins = as_int(_default_bins(n) if n_bins is None else n_bins, "n_bins", minimum=2)
    p = 1.0 / n_bins
    return 0.5 * n_bins * math.sqrt(2.0 / math.pi * p * (1.0 - p) / n)


def wasserstein2_1d(a, b) -> float:
    r"""2-Wasserstein distance :math:`W_2` in 1-D (not squared), exact for empirical laws.

    In 1-D the optimal coupling matches quantiles:
    :math:`W_2^2(\mu, \nu) = \int_0^1 (F_\mu^{-1}(u) - F_\nu^{-1}(u))^2\,\mathrm du`.

    - ``b`` samples: both quantile functions are step functions, and the integral is summed
      exactly over the merged breakpoints (sorting alone when the sizes are equal).
    - ``b`` a 1-D :class:`.GaussianMixture`: the integral against the empirical law of ``a`` is
      exact up to the bisection tolerance, using the closed-form partial first moments of
      the mixture,
      :math:`\int_{-\infty}^{y} x\,\mathrm dF = \sum_k w_k(\mu_k\Phi(z_k) - s_k\phi(z_k))`.

    Args:
        a: samples, shape ``(n,)`` or ``(n, 1)``.
        b: samples of shape ``(m,)`` or ``(m, 1)``, or a 1-D :class:`.GaussianMixture`.

    Returns:
        :math:`W_2` as a Python float.

    Used in: chapter 1, "Measuring the sampler"; chapters 2 and 5.
    """
    a = torch.sort(as_1d(a, "a").cpu()).values
    if isinstance(b, GaussianMixture):
        return _w2_to_mixture(a, check_mixture_1d(b, "b"))
    b = torch.sort(as_1d(b, "b").cpu()).values
    if a.shape == b.shape:
        return float(((a - b) ** 2).mean().sqrt())
    n, m = a.shape[0], b.shape[0]
    cuts = torch.unique(
        torch.cat(
            [
                torch.arange(1, n, dtype=torch.float64) / n,
                torch.arange(1, m, dtype=torch.float64) / m,
            ]
        )
    )
    breaks = torch.cat(
        [torch.zeros(1, dtype=torch.float64), cuts, torch.ones(1, dtype=torch.float64)]
    )
    mids = 0.5 * (breaks[1:] + breaks[:-1])
    qa = a[torch.clamp((mids * n).long(), max=n - 1)]
    qb = b[torch.clamp((mids * m).long(), max=m - 1)]
    return float((((qa - qb) ** 2) * (breaks[1:] - breaks[:-1])).sum().sqrt())


def _w2_to_mixture(a: torch.Tensor, target: GaussianMixture) -> float:
    n = a.shape[0]
    w, mu, sd = target.components_1d(0.0, "cpu")
    inner = target.icdf(torch.arange(1, n, dtype=torch.float64) / n)
    # Partial first moments M(y) = E[X 1{X <= y}] at the quantile breakpoints.
    z = (inner[:, None] - mu[None]) / sd[None]
    phi = torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    Phi = 0.5 * torch.erfc(-z / math.sqrt(2.0))
    partial = (w[None] * (mu[None] * Phi - sd[None] * phi)).sum(1)
    mean_b = float((w * mu).sum())
    moments = torch.cat(
        [torch.zeros(1, dtype=torch.float64), partial, torch.tensor([mean_b], dtype=torch.float64)]
    )
    cross = (a * (moments[1:] - moments[:-1])).sum()
    second_b = float((w * (mu**2 + sd**2)).sum())
    w2_sq = float((a**2).mean() - 2.0 * cross + second_b)
    return math.sqrt(max(w2_sq, 0.0))


def wasserstein2_2d(a, b) -> float:
    r"""2-Wasserstein distance between two equal-size empirical laws in 2-D (not squared).

    For equal sizes an optimal coupling is a permutation, found exactly by the Hungarian
    algorithm (``scipy.optimize.linear_sum_assignment``) on squared distances:
    :math:`W_2^2 = \min_\pi \frac1n\sum_i \|a_i - b_{\pi(i)}\|^2`. As an estimate of the
    distance between the underlying laws it is biased upward by sampling noise (of order
    :math:`n^{-1/2}` in 2-D, up to logarithms). Cost :math:`O(n^3)`; ``n`` is capped at 4000.

    Args:
        a: samples, shape ``(n, 2)``.
        b: samples, shape ``(n, 2)``.

    Returns:
        :math:`W_2` as a Python float.

    Used in: chapter 1, "In two dimensions"; chapter 2, "Sampling with the learned score".
    """
    from scipy.optimize import linear_sum_assignment

    a = check_finite(as_tensor(a, "a"), "a")
    b = check_finite(as_tensor(b, "b"), "b")
    if a.ndim != 2 or a.shape[1] != 2 or a.shape[0] == 0:
        raise ValueError(f"a must have shape (n, 2) with n >= 1; got {tuple(a.shape)}")
    if b.shape != a.shape:
        raise ValueError(f"b must have the shape of a {tuple(a.shape)}; got {tuple(b.shape)}")
    if a.shape[0] > 4000:
        raise ValueError(f"a and b may hold at most 4000 points (O(n^3) cost); got {a.shape[0]}")
    a_np = a.detach().to(torch.float64).cpu().numpy()
    b_np = b.detach().to(torch.float64).cpu().numpy()
    cost = ((a_np[:, None, :] - b_np[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))


def tv_distance_mixtures_1d(p, q, *, lo=-12.0, hi=12.0, n_points=4801) -> float:
    r"""Total variation between two 1-D Gaussian mixtures, by quadrature of their densities.

    .. math::
        \mathrm{TV}(p, q) = \frac12 \int_{\mathbb R} |p(x) - q(x)|\,\mathrm dx
        \approx \frac12 \int_{\mathrm{lo}}^{\mathrm{hi}} |p(x) - q(x)|\,\mathrm dx ,

    the integral on the right by the trapezoid rule on ``n_points`` equally spaced points.
    Unlike :func:`tv_distance_1d`, which estimates TV from samples, this uses the two
    densities: the only errors are the mass outside ``[lo, hi]`` (at most ``1e-9``, checked)
    and the quadrature error, :math:`O(h^2)` with the spacing :math:`h`, which must be at most
    a tenth of the smallest standard deviation of a component (checked).

    Args:
        p: a 1-D :class:`.GaussianMixture`, the law itself (use ``p.noised(t)`` for
            :math:`p_t`).
        q: a 1-D :class:`.GaussianMixture`.
        lo: left end of the integration interval.
        hi: right end, ``hi > lo``.
        n_points: number of quadrature points, ``>= 2``.

    Returns:
        A Python float in [0, 1].

    Raises:
        ValueError: if ``[lo, hi]`` misses more than ``1e-9`` of the mass of ``p`` or ``q``,
            or if the grid is too coarse for their narrowest component.

    Used in: chapter 1, "The forward process" and "A longer horizon".
    """
    p = check_mixture_1d(p, "p")
    q = check_mixture_1d(q, "q")
    lo = as_float(lo, "lo")
    hi = as_float(hi, "hi")
    if not hi > lo:
        raise ValueError(f"hi must be > lo = {lo!r}; got {hi!r}")
    n_points = as_int(n_points, "n_points", minimum=2)
    spacing = (hi - lo) / (n_points - 1)
    for law, name in ((p, "p"), (q, "q")):
        ends = torch.tensor([lo, hi], dtype=torch.float64)
        cdf = law.cdf(ends)
        outside = float(cdf[0] + (1.0 - cdf[1]))
        if outside > 1e-9:
            raise ValueError(
                f"[lo, hi] = [{lo:g}, {hi:g}] must hold all but 1e-9 of the mass of {name}; "
                f"it misses {outside:.3g}"
            )
        sd_min = float(law.covs[:, 0, 0].sqrt().min())
        if spacing > 0.1 * sd_min:
            raise ValueError(
                f"n_points must make the spacing at most 0.1 x the smallest standard deviation "
                f"of {name} ({0.1 * sd_min:.3g}); got spacing {spacing:.3g} with "
                f"n_points={n_points}"
            )
    x = torch.linspace(lo, hi, n_points, dtype=torch.float64)[:, None]
    gap = (p.log_prob(x).exp() - q.log_prob(x).exp()).abs()
    return 0.5 * float(torch.trapezoid(gap, x[:, 0]))


# ----- score errors along a time grid -------------------------------------------------------


def _weighted_quantile_error(errors: torch.Tensor, weights: torch.Tensor, delta: float) -> float:
    """The least e with P[error >= e] <= delta under the weighted empirical law of the errors."""
    order = torch.argsort(errors, descending=True)
    tail = torch.cumsum(weights[order], 0)  # P[error >= e_(j)], largest errors first
    j = int(torch.searchsorted(tail, tail.new_tensor(delta), right=True))
    return float(errors[order][min(j, errors.numel() - 1)])


def score_error_profile(
    score_hat_fn, target, ts, points, delta, *, weights=None, scaled=True
) -> tuple[np.ndarray, np.ndarray]:
    r"""L2 and quantile score errors at each time of a grid, optionally in the paper's units.

    At each time :math:`t_k` of ``ts``, on the points :math:`x_{k,i} \sim q_{t_k}` of
    ``points[k]``, with :math:`c_k = \sigma_{t_k}` when ``scaled`` and :math:`c_k = 1` otherwise,

    .. math::
        \mathrm{l2}_k = c_k^2\,\frac1{n_k}\sum_i
        \big\|\widehat s(x_{k,i}, t_k) - s_{t_k}(x_{k,i})\big\|^2, \qquad
        \mathrm{dd}_k = c_k\, D^\delta_{q_{t_k}}(\widehat s_{t_k}, s_{t_k}),

    i.e. :func:`l2_score_error` (squared) and :func:`quantile_score_error` (not squared) time
    by time. With ``weights``, the points of each batch carry probabilities :math:`w_{k,i}`
    (summing to 1) instead of :math:`1/n_k`: the mean becomes
    :math:`\sum_i w_{k,i}\|\widehat s - s\|^2` and :math:`D^\delta` the least :math:`e` with
    :math:`\sum_i w_{k,i}\,\mathbb 1[\|\widehat s - s\| \ge e] \le \delta`. This serves a
    stratified sample, e.g. a rare mode sampled apart and weighted by its mass.
    The paper asks for :math:`D^\delta \le \varepsilon/\sigma_t` (and the L2
    analyses for :math:`\mathbb E\|\widehat s_t - s_t\|^2 \le \varepsilon^2/\sigma_t^2`), so
    in the scaled units a flat profile below :math:`\varepsilon` meets the target at every
    time.

    Args:
        score_hat_fn: the estimate, a callable ``score_hat_fn(x, t) -> (n, d)`` (a trained
            ``TrainResult.score_fn``, or any score function).
        target: the true law, a :class:`.GaussianMixture` (its ``score(x, t)`` is
            :math:`s_t`), or a callable ``score(x, t) -> (n, d)``.
        ts: forward times :math:`t_k > 0`, shape ``(N,)`` (any order).
        points: ``N`` batches of points, ``points[k]`` of shape ``(n_k, d)`` drawn from
            :math:`q_{t_k}`: a sequence of tensors, or one tensor of shape ``(N, n, d)``.
        delta: quantile mass of :math:`D^\delta`, in (0, 1).
        weights: optional, keyword-only: ``N`` batches of probabilities, ``weights[k]`` of
            shape ``(n_k,)``, non-negative and summing to 1; ``None`` means :math:`1/n_k` each.
        scaled: multiply by :math:`\sigma_{t_k}^2` (L2) and :math:`\sigma_{t_k}`
            (:math:`D^\delta`); keyword-only, a bool.

    Returns:
        ``(l2, dd)``: two float64 NumPy arrays of shape ``(N,)``, the (scaled) squared L2
        errors and the (scaled) :math:`D^\delta` errors, in the order of ``ts``.

    Used in: chapter 2, "Errors across time and sample size".
    """
    if not callable(score_hat_fn):
        raise TypeError(f"score_hat_fn must be callable (x, t); got {type(score_hat_fn).__name__}")
    if isinstance(target, GaussianMixture):
        score_fn = target.score
    elif callable(target):
        score_fn = target
    else:
        raise TypeError(
            f"target must be a GaussianMixture or a callable score(x, t); "
            f"got {type(target).__name__}"
        )
    ts = check_finite(as_tensor(ts, "ts", dtype=torch.float64), "ts").cpu()
    if ts.ndim != 1 or ts.numel() == 0:
        raise ValueError(f"ts must be a non-empty 1-D tensor of times; got {tuple(ts.shape)}")
    if bool((ts <= 0).any()):
        raise ValueError(f"ts must be > 0; got min {float(ts.min())!r}")
    if not hasattr(points, "__len__") or isinstance(points, (str, bytes)):
        raise TypeError(f"points must be a sequence of (n, d) tensors; got {type(points).__name__}")
    if len(points) != ts.numel():
        raise ValueError(f"points must hold one batch per time ({ts.numel()}); got {len(points)}")
    delta = check_open_unit(delta, "delta")
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be a bool; got {type(scaled).__name__}")
    if weights is not None and (not hasattr(weights, "__len__") or len(weights) != ts.numel()):
        raise ValueError(
            f"weights must be None or hold one batch per time ({ts.numel()}); "
            f"got {type(weights).__name__}"
        )
    sigmas = ou_sigma(ts) if scaled else torch.ones_like(ts)
    l2, dd = np.empty(ts.numel()), np.empty(ts.numel())
    for k, (t, c_k) in enumerate(zip(ts.tolist(), sigmas.tolist(), strict=True)):
        x = check_finite(as_tensor(points[k], f"points[{k}]"), f"points[{k}]")
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(
                f"points[{k}] must have shape (n, d) with n >= 1; got {tuple(x.shape)}"
            )
        score_hat, score = score_hat_fn(x, t), score_fn(x, t)
        if weights is None:
            l2[k] = c_k**2 * l2_score_error(score_hat, score)
            dd[k] = c_k * quantile_score_error(score_hat, score, delta)
            continue
        w = _probabilities(weights[k], x.shape[0], f"weights[{k}]")
        score_hat, score = as_score_pair(score_hat, score)
        errors = torch.linalg.vector_norm(score_hat - score, dim=-1).to(torch.float64).cpu()
        l2[k] = c_k**2 * float((w * errors**2).sum())
        dd[k] = c_k * _weighted_quantile_error(errors, w, delta)
    return l2, dd


def _probabilities(w, n: int, name: str) -> torch.Tensor:
    """A batch of point probabilities: shape (n,), finite, >= 0, summing to 1."""
    w = check_finite(as_tensor(w, name, dtype=torch.float64), name).cpu()
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one per point; got {tuple(w.shape)}")
    # 1e-6 admits float32 weights; the rounding left is then divided out.
    if bool((w < 0).any()) or abs(float(w.sum()) - 1.0) > 1e-6:
        raise ValueError(f"{name} must be >= 0 and sum to 1; got sum {float(w.sum())!r}")
    return w / w.sum()
