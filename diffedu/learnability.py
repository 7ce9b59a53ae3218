r"""How many samples the ERM of Algorithm 1 needs to reject bad candidates (Lemma A.2, measured).

Every candidate of the classes here is the true score plus a piecewise-constant error,

.. math::
    \tilde s_\theta(x) = s_t(x) + \frac{\theta_k}{\sigma_t}\, v \quad\text{for } x \in A_k,
    \qquad \tilde s_\theta(x) = s_t(x) \text{ off } \textstyle\bigcup_k A_k,

with disjoint cells :math:`A_k` of chosen :math:`q_t`-mass, a unit direction :math:`v` and
offsets :math:`\theta_k` in units of the score's scale :math:`1/\sigma_t`. Writing
:math:`\Delta_i = s_t(x_i) + z_i/\sigma_t^2`, the eq. (4) loss of such a candidate exceeds the
true score's by the *centred loss*

.. math::
    L(\tilde s_\theta) - L(s_t)
    &= \frac1m\sum_i \Big(\|\tilde s_\theta - s_t\|^2 + 2\langle \tilde s_\theta - s_t,
    \Delta_i\rangle\Big)

    &= \frac{1}{m\sigma_t^2}\sum_k \big(K_k\theta_k^2 + 2\theta_k S_k\big),

with :math:`K_k` the number of training points in :math:`A_k` and :math:`S_k` the sum over
them of :math:`\xi_i = \langle v, \sigma_t\Delta_i\rangle`. The ERM's choice therefore depends
on a training set only through the cell statistics :math:`(K_k, S_k)`, which
:func:`cell_statistics` computes for many training sets and every prefix length :math:`m` at
once. The common term :math:`\|\Delta_i\|^2`, of size :math:`d/\sigma_t^2`, cancels exactly.

- :func:`cells_with_mass` and :func:`cell_statistics`: the classes' cells and the statistics
  of Algorithm 1's training sets (the noise :math:`\xi` is :func:`.centred_noise`).
- :func:`finite_class_erm` and :func:`grid_class_erm`: the ERM over a finite class and over a
  net of a parametric family.
- :func:`samples_needed` and :func:`jackknife_rates`: the smallest :math:`m` at which the ERM
  fails with probability at most :math:`\delta_{train}`, and its uncertainty.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ._validation import (
    as_float,
    as_int,
    as_tensor,
    as_unit_vector,
    check_mixture,
    check_open_unit,
    check_time,
)
from .centred import centred_noise
from .forward import ou_alpha, ou_sigma
from .quantile import Interval
from .targets import GaussianMixture

# ----- cells, noise and statistics of training sets ------------------------------------------


def cells_with_mass(target, t, masses, start=0.0) -> tuple[Interval, ...]:
    r"""Consecutive slabs :math:`A_k = \{x : x_1 \in [a_k, a_{k+1})\}` of chosen :math:`q_t`-mass.

    .. math::
        a_k = F_t^{-1}\Big(u_0 + \sum_{j<k} p_j\Big), \qquad q_t(A_k) = p_k,

    with :math:`F_t` the distribution function of the first coordinate of :math:`x_t \sim q_t`
    (a 1-D mixture) and :math:`u_0` = ``start``. In 1-D the slabs are intervals.

    Args:
        target: a :class:`.GaussianMixture`, the law :math:`q_0`, any dimension.
        t: forward time :math:`t \ge 0`.
        masses: the masses :math:`p_k > 0`, a sequence whose sum with ``start`` is at most 1.
        start: the level :math:`u_0 \ge 0` at which the first slab begins.

    Returns:
        A tuple of :class:`.Interval` (bounds on the first coordinate; :math:`\pm\infty` at
        levels 0 and 1).

    Used in: chapter 5, "ERM over a finite class, measured".
    """
    target = check_mixture(target)
    t = check_time(t)
    masses = [as_float(p, "masses") for p in masses]
    start = as_float(start, "start")
    if not masses or min(masses) <= 0.0:
        raise ValueError(f"masses must be a non-empty sequence of numbers > 0; got {masses!r}")
    if start < 0.0 or start + sum(masses) > 1.0 + 1e-12:
        raise ValueError(f"start + sum(masses) must lie in [0, 1]; got {start + sum(masses)!r}")
    first = GaussianMixture(target.weights, target.means[:, :1], target.covs[:, :1, :1])
    levels = [start]
    for p in masses:
        levels.append(levels[-1] + p)

    def quantile(u: float) -> float:
        if u <= 1e-15:
            return -math.inf
        if u >= 1.0 - 1e-12:
            return math.inf
        return float(first.icdf(torch.tensor([u], dtype=torch.float64), t)[0])

    edges = [quantile(u) for u in levels]
    return tuple(Interval(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True))


class CellStatistics(NamedTuple):
    r"""What :func:`cell_statistics` returns: the cell counts and noise sums of training sets.

    Used in: chapter 5, "ERM over a finite class, measured".
    """

    #: The training-set sizes (prefix lengths), shape ``(n_m,)``, ``torch.long``.
    m: torch.Tensor
    #: :math:`K_k`, the number of the first :math:`m` points in cell :math:`k`, shape
    #: ``(trials, n_m, n_cells)``, float64.
    counts: torch.Tensor
    #: :math:`S_k`, the sum of :math:`\xi_i` over those points, same shape.
    sums: torch.Tensor


def _cell_index(x1: torch.Tensor, cells) -> torch.Tensor:
    """Index of the cell holding each first coordinate, ``len(cells)`` for none."""
    order = sorted(range(len(cells)), key=lambda k: cells[k].lo)
    bounds = [b for k in order for b in (cells[k].lo, cells[k].hi)]
    if any(a > b for a, b in zip(bounds[:-1], bounds[1:], strict=True)):
        raise ValueError(f"cells must be disjoint intervals; got {list(cells)!r}")
    edges = torch.tensor(bounds, dtype=x1.dtype, device=x1.device)
    slot = torch.searchsorted(edges, x1.contiguous(), right=True)  # odd: inside a cell
    lookup = torch.tensor([*order, len(cells)], dtype=torch.long, device=x1.device)
    inside = slot % 2 == 1
    return torch.where(inside, lookup[((slot - 1) // 2).clamp(0, len(cells) - 1)], len(cells))


def _sample_q0(target, n: int, generator, device) -> torch.Tensor:
    """``n`` points of :math:`q_0`, one matrix product per component (no per-point factor)."""
    weights, means = target.weights.to(device), target.means.to(device)
    chol = torch.linalg.cholesky(target.covs.to(device))
    comp = torch.multinomial(weights, n, replacement=True, generator=generator)
    noise = torch.randn(n, target.dim, generator=generator, dtype=torch.float64, device=device)
    out = torch.empty_like(noise)
    for k in range(target.n_components):
        mask = comp == k
        out[mask] = means[k] + noise[mask] @ chol[k].T
    return out


def cell_statistics(
    target, t, cells, m_grid, trials, *, generator=None, direction=None, max_points=2**21
) -> CellStatistics:
    r"""Draw training sets as Algorithm 1 does and return their cell statistics at every prefix.

    Each of ``trials`` training sets has :math:`m_{max} = \max` ``m_grid`` pairs
    :math:`x_i = e^{-t}y_i + z_i`, :math:`y_i \sim q_0`, :math:`z_i \sim \mathcal N(0,
    \sigma_t^2 I)` (step 1 of Algorithm 1). For every :math:`m` of the grid, its first
    :math:`m` pairs give

    .. math::
        K_k = \#\{i \le m : x_i \in A_k\}, \qquad S_k = \sum_{i \le m,\ x_i \in A_k} \xi_i,

    with :math:`\xi_i` of :func:`.centred_noise`. A prefix of an i.i.d. sequence is an i.i.d.
    training set of size :math:`m`, so one draw serves every :math:`m` (the sizes are then
    dependent across the grid, each one exactly distributed). The score is evaluated only at
    points inside a cell. Work is split into chunks of at most ``max_points`` points.

    Args:
        target: a :class:`.GaussianMixture`, the law :math:`q_0`.
        t: forward time :math:`t > 0`.
        cells: disjoint :class:`.Interval` bounds on the first coordinate (see
            :func:`cells_with_mass`).
        m_grid: increasing training-set sizes, each :math:`\ge 1`.
        trials: number of independent training sets, :math:`\ge 1`.
        generator: optional ``torch.Generator``; everything is drawn on its device.
        direction: the error direction :math:`v` of :func:`.centred_noise`.
        max_points: the largest number of points drawn at once.

    Returns:
        A :class:`CellStatistics` ``(m, counts, sums)``.

    Used in: chapter 5, "The loss, centred" and "ERM over a finite class, measured".
    """
    target = check_mixture(target)
    t = check_time(t, positive=True)
    if not cells or not all(isinstance(c, Interval) for c in cells):
        raise TypeError(f"cells must be a non-empty sequence of Interval; got {cells!r}")
    m_grid = torch.as_tensor([as_int(m, "m_grid", minimum=1) for m in m_grid], dtype=torch.long)
    if m_grid.numel() == 0 or bool((m_grid[1:] <= m_grid[:-1]).any()):
        raise ValueError(f"m_grid must be strictly increasing; got {m_grid.tolist()}")
    trials = as_int(trials, "trials", minimum=1)
    max_points = as_int(max_points, "max_points", minimum=1)
    device = generator.device if generator is not None else torch.device("cpu")
    d, n_cells, n_m, m_max = target.dim, len(cells), m_grid.numel(), int(m_grid[-1])
    sigma_t, alpha_t = float(ou_sigma(t)), float(ou_alpha(t))
    v = as_unit_vector(direction, d, device)
    # Segment of each point: the first grid size that includes it.
    segment = torch.searchsorted(m_grid.to(device), torch.arange(m_max, device=device), right=True)
    counts = torch.zeros(trials, n_m * (n_cells + 1), dtype=torch.float64, device=device)
    sums = torch.zeros_like(counts)
    chunk = max(1, max_points // (m_max * d))
    for first in range(0, trials, chunk):
        n = min(chunk, trials - first)
        # Algorithm 1, step 1: x_i = e^{-t} y_i + z_i.
        y = _sample_q0(target, n * m_max, generator, device).reshape(n, m_max, d)
        z = sigma_t * torch.randn(
            n, m_max, d, generator=generator, dtype=torch.float64, device=device
        )
        x_t = alpha_t * y + z
        cell = _cell_index(x_t[..., 0], cells)
        inside = cell < n_cells
        xi = torch.zeros(n, m_max, dtype=torch.float64, device=device)
        xi[inside] = centred_noise(target, t, x_t[inside], z[inside], direction=v)
        slot = segment[None, :] * (n_cells + 1) + cell
        counts[first : first + n].scatter_add_(1, slot, torch.ones_like(xi))
        sums[first : first + n].scatter_add_(1, slot, xi)
    shape = (trials, n_m, n_cells + 1)
    counts = counts.reshape(shape).cumsum(1)[..., :n_cells]
    sums = sums.reshape(shape).cumsum(1)[..., :n_cells]
    return CellStatistics(m=m_grid, counts=counts, sums=sums)


# ----- the ERM over a finite class and over a net ----------------------------------------------


def _check_stats(stats) -> CellStatistics:
    if not isinstance(stats, CellStatistics):
        raise TypeError(f"stats must be a CellStatistics; got {type(stats).__name__}")
    return stats


def finite_class_erm(offsets, stats, *, generator=None) -> torch.Tensor:
    r"""Algorithm 1 over a finite class of piecewise-constant perturbations of the score.

    Candidate :math:`j` is :math:`s_t + (\theta_{jk}/\sigma_t)\, v` on cell :math:`k`. Its
    loss exceeds the true score's by :math:`G_j/(m\sigma_t^2)`,

    .. math::
        G_j = \sum_k \big(K_k\theta_{jk}^2 + 2\theta_{jk} S_k\big),

    and the ERM returns :math:`\arg\min_j G_j`, ties (exactly equal :math:`G_j`, as when a
    candidate's cells hold no training point) broken uniformly at random, as in
    :func:`.erm_select`.

    Args:
        offsets: :math:`\theta`, shape ``(n_candidates, n_cells)``, in units of
            :math:`1/\sigma_t`; a row of zeros is the true score.
        stats: the :class:`CellStatistics` of the training sets.
        generator: optional ``torch.Generator`` for the tie-breaks, on the device of ``stats``.

    Returns:
        The index of the selected candidate, shape ``(trials, n_m)``, ``torch.long``.

    Used in: chapter 5, "ERM over a finite class, measured".
    """
    stats = _check_stats(stats)
    offsets = as_tensor(offsets, "offsets", dtype=torch.float64, device=stats.counts.device)
    n_cells = stats.counts.shape[-1]
    if offsets.ndim != 2 or offsets.shape[1] != n_cells or offsets.shape[0] < 1:
        raise ValueError(
            f"offsets must have shape (n_candidates, {n_cells}); got {tuple(offsets.shape)}"
        )
    gaps = stats.counts @ (offsets**2).T + 2.0 * stats.sums @ offsets.T  # (trials, n_m, n_cand)
    is_min = gaps <= gaps.min(-1, keepdim=True).values
    keys = torch.rand(gaps.shape, generator=generator, dtype=torch.float64, device=gaps.device)
    return torch.where(is_min, keys, -1.0).argmax(-1)


def grid_class_erm(stats, step, bound, *, generator=None) -> torch.Tensor:
    r"""Algorithm 1 over the net :math:`\theta \in (\tau\mathbb Z \cap [-\Theta, \Theta])^{P}`.

    The class holds one candidate per point of the net: :math:`|\mathcal H| =
    (2\lfloor\Theta/\tau\rfloor + 1)^P` for :math:`P` cells. The loss is a sum over cells of
    :math:`K_k\theta_k^2 + 2\theta_k S_k = K_k(\theta_k + S_k/K_k)^2 - S_k^2/K_k`, so the ERM
    over the net is found cell by cell: :math:`\hat\theta_k` is the net value nearest to
    :math:`-S_k/K_k`. An empty cell (:math:`K_k = 0`) leaves every value tied, and one is
    drawn uniformly, as Algorithm 1's random tie-break would.

    Args:
        stats: the :class:`CellStatistics` of the training sets.
        step: the net's spacing :math:`\tau > 0`.
        bound: the parameter bound :math:`\Theta \ge \tau`.
        generator: optional ``torch.Generator`` for empty cells, on the device of ``stats``.

    Returns:
        :math:`\hat\theta`, shape ``(trials, n_m, n_cells)``, float64.

    Used in: chapter 5, "From finite classes to networks".
    """
    stats = _check_stats(stats)
    step, bound = as_float(step, "step"), as_float(bound, "bound")
    if not 0.0 < step <= bound:
        raise ValueError(f"step and bound must satisfy 0 < step <= bound; got {step}, {bound}")
    top = math.floor(bound / step + 1e-9)  # the net is step * {-top, ..., top}
    counts, sums = stats.counts, stats.sums
    centre = -sums / counts.clamp(min=1.0)
    theta = (centre / step).round().clamp(-top, top)
    empty = counts == 0
    drawn = torch.randint(
        -top, top + 1, counts.shape, generator=generator, device=counts.device
    ).to(theta)
    return step * torch.where(empty, drawn, theta)


# ----- the smallest sufficient m, measured ---------------------------------------------------


def jackknife_rates(failure, groups) -> torch.Tensor:
    r"""Failure rates with one group of trials left out, for jackknife standard errors.

    The trials are cut into ``groups`` contiguous blocks; row :math:`g` is the rate over all
    trials outside block :math:`g`. For a statistic :math:`\hat\theta` computed from rates, with
    :math:`\hat\theta_{(g)}` its value on row :math:`g`, the jackknife standard error is
    :math:`\sqrt{\frac{G-1}{G}\sum_g(\hat\theta_{(g)} - \bar\theta)^2}`.

    Args:
        failure: whether each trial failed, shape ``(trials, n_m)``, bool or 0/1.
        groups: the number of blocks :math:`G`, :math:`2 \le G \le` trials.

    Returns:
        Tensor of shape ``(groups, n_m)``, float64.

    Used in: chapter 5, "ERM over a finite class, measured".
    """
    failure = (
        as_tensor(failure, "failure", dtype=torch.float64)
        if not isinstance(failure, torch.Tensor)
        else failure.to(torch.float64)
    )
    if failure.ndim != 2:
        raise ValueError(f"failure must have shape (trials, n_m); got {tuple(failure.shape)}")
    groups = as_int(groups, "groups", minimum=2)
    if groups > failure.shape[0]:
        raise ValueError(f"groups must be at most trials = {failure.shape[0]}; got {groups}")
    block = torch.arange(failure.shape[0], device=failure.device) * groups // failure.shape[0]
    per_group = torch.zeros(groups, failure.shape[1], dtype=torch.float64, device=failure.device)
    per_group.index_add_(0, block, failure)
    sizes = torch.bincount(block, minlength=groups).to(per_group)
    return (per_group.sum(0) - per_group) / (failure.shape[0] - sizes)[:, None]


def samples_needed(m, rates, delta_train) -> float:
    r"""The smallest :math:`m` at which the failure rate reaches :math:`\delta_{train}`.

    With rates :math:`r_j` at the sizes :math:`m_j`, take the first :math:`j` with
    :math:`r_j \le \delta_{train}` and interpolate :math:`\log m` linearly in the rate between
    :math:`m_{j-1}` and :math:`m_j`:

    .. math::
        \log m^* = \log m_{j-1} + \frac{r_{j-1} - \delta_{train}}{r_{j-1} - r_j}
        \big(\log m_j - \log m_{j-1}\big).

    Args:
        m: increasing sizes, shape ``(n_m,)``.
        rates: failure rates at those sizes, shape ``(n_m,)``, or the per-trial failures,
            shape ``(trials, n_m)`` (then averaged).
        delta_train: the target probability in (0, 1).

    Returns:
        :math:`m^*`, a Python float; ``m[0]`` if the first rate is already low enough, and
        ``nan`` if no rate is.

    Used in: chapter 5, "ERM over a finite class, measured" and "From finite classes to
    networks".
    """
    delta_train = check_open_unit(delta_train, "delta_train")
    m = as_tensor(m, "m", dtype=torch.float64).reshape(-1).cpu()
    if isinstance(rates, torch.Tensor) and rates.dtype == torch.bool:
        rates = rates.to(torch.float64)
    rates = as_tensor(rates, "rates", dtype=torch.float64).cpu()
    if rates.ndim == 2:
        rates = rates.mean(0)
    if rates.shape != m.shape or m.numel() == 0:
        raise ValueError(
            f"rates must have the shape of m {tuple(m.shape)}; got {tuple(rates.shape)}"
        )
    below = torch.nonzero(rates <= delta_train).flatten()
    if below.numel() == 0:
        return math.nan
    j = int(below[0])
    if j == 0:
        return float(m[0])
    w = float((rates[j - 1] - delta_train) / (rates[j - 1] - rates[j]))
    return math.exp(math.log(m[j - 1]) + w * (math.log(m[j]) - math.log(m[j - 1])))
