r"""The paper's L2-hardness instances (its Section 4).

- :class:`Lemma41Pair`: two mixtures that no test tells apart with fewer than about
  :math:`1/\eta` samples, although their scores differ by :math:`\eta R^2/\sigma^4` in
  squared L2 (Lemma 4.1, Figure 1).
- :class:`Lemma42Mixture`: a mixture whose score matches :math:`\mathcal N(0, \sigma^2)` on every
  training sample but not in L2 (Lemma 4.2, Figure 2). Its weight :math:`\eta` can be far below
  the smallest float64, so it is stored as :math:`\log\eta` and its score is evaluated in log
  space; a :class:`.GaussianMixture` is built only when :math:`\eta` is representable.

The finite-class ERM of Algorithm 1 that chapter 3 runs on these instances is
:func:`.erm_select` in :mod:`diffedu.erm`.

Everything is float64. Quadratures work on log densities, with ``logsumexp``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize
import scipy.special
import torch

from ._validation import as_float, as_int, as_tensor, check_finite, check_open_unit, check_positive
from .targets import GaussianMixture
from .utils import draw_device

_LOG_2PI = math.log(2.0 * math.pi)
_MINUS_LOG_2 = -math.log(2.0)  # where log(1 - e^x) switches formula
# Below this, exp(log_eta) is subnormal or zero: no GaussianMixture can hold the weight.
_LOG_TINY = math.log(np.finfo(np.float64).tiny)
# Quadrature spacing for Lemma 4.1, in units of sigma: it resolves sigma and, where it falls
# inside the 12-sigma windows (R < 24 sigma), the width sigma^2 / R of the switch between
# the components.
_H_41 = 1.0 / 400.0


def _log_normal(x: torch.Tensor, mean: float, sigma: float) -> torch.Tensor:
    """Log density of N(mean, sigma^2) at ``x``."""
    return -0.5 * ((x - mean) / sigma) ** 2 - math.log(sigma) - 0.5 * _LOG_2PI


def _simpson_nodes(lo: float, hi: float, h: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Composite Simpson nodes on ``[lo, hi]`` with spacing at most ``h``, and log weights."""
    n = max(2, math.ceil((hi - lo) / h))
    n += n % 2  # an even number of panels
    x = torch.linspace(lo, hi, n + 1, dtype=torch.float64)
    w = torch.ones(n + 1, dtype=torch.float64)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return x, torch.log(w * (hi - lo) / (3.0 * n))


def _window_nodes(centers, half_width: float, h: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Simpson nodes over the union of ``[c - half_width, c + half_width]``, overlaps merged."""
    spans = sorted((c - half_width, c + half_width) for c in centers)
    merged = [list(spans[0])]
    for lo, hi in spans[1:]:
        if lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    parts = [_simpson_nodes(lo, hi, h) for lo, hi in merged]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


# ----- Lemma 4.1 ----------------------------------------------------------------------------


class Lemma41Pair:
    r"""The pair of Lemma 4.1: the same bulk, a far component of mass :math:`\eta` on either side.

    .. math::
        p_1 &= (1-\eta)\,\mathcal N(0, \sigma^2) + \eta\,\mathcal N(-R, \sigma^2),

        p_2 &= (1-\eta)\,\mathcal N(0, \sigma^2) + \eta\,\mathcal N(R, \sigma^2),

    with :math:`\eta = \varepsilon^2\sigma^2/R^2` when ``eps`` is given. Their scores differ by
    :math:`s_1 - s_2 = -\frac{R}{\sigma^2}(\pi_1 + \pi_2)`, where :math:`\pi_i(x)` is the
    posterior weight of the far component of :math:`p_i`. So the squared L2 gap is about
    :math:`\eta R^2/\sigma^4 = \varepsilon^2/\sigma^2`, while :math:`\mathrm{TV}(p_1, p_2)` is
    about :math:`\eta`. Read :math:`p_i` as the law of :math:`x = y + z` with clean data
    :math:`y \in \{0, \mp R\}` and noise :math:`z \sim \mathcal N(0, \sigma^2)`, i.e. as
    :math:`q_t` at noise level :math:`\sigma = \sigma_t` without the shrinking :math:`e^{-t}`.

    Args:
        R: distance of the far component, :math:`R > 0`.
        sigma: standard deviation of every component, :math:`\sigma > 0` (not squared).
        eta: mass of the far component, in (0, 1). Give exactly one of ``eta`` and ``eps``.
        eps: accuracy :math:`\varepsilon > 0`; sets :math:`\eta = \varepsilon^2\sigma^2/R^2`.

    Attributes:
        R, sigma, eta, eps: the parameters (``eps`` is :math:`\sqrt\eta R/\sigma` when ``eta``
            was given).
        p1, p2: the two laws as one-dimensional :class:`.GaussianMixture` objects.

    Used in: chapter 3, "Two mixtures that samples cannot tell apart".
    """

    def __init__(self, R, sigma=1.0, eta=None, eps=None):
        self.R = check_positive(R, "R")
        self.sigma = check_positive(sigma, "sigma")
        if (eta is None) == (eps is None):
            raise ValueError(f"give exactly one of eta and eps; got eta={eta!r}, eps={eps!r}")
        if eta is None:
            self.eps = check_positive(eps, "eps")
            eta = self.eps**2 * self.sigma**2 / self.R**2
            if not 0.0 < eta < 1.0:
                raise ValueError(
                    f"eps must give eta = eps^2 sigma^2 / R^2 in (0, 1); got eta={eta!r}"
                )
        self.eta = check_open_unit(eta, "eta")
        if eps is None:
            self.eps = math.sqrt(self.eta) * self.R / self.sigma
        weights = [1.0 - self.eta, self.eta]
        covs = [self.sigma**2, self.sigma**2]
        self.p1 = GaussianMixture(weights, [[0.0], [-self.R]], covs)
        self.p2 = GaussianMixture(weights, [[0.0], [self.R]], covs)

    def __repr__(self) -> str:
        return f"Lemma41Pair(R={self.R:g}, sigma={self.sigma:g}, eta={self.eta:g})"

    def _log_far(self, x: torch.Tensor, sign: float) -> torch.Tensor:
        """Log posterior weight of the far component at ``sign * R`` (p1: -1, p2: +1)."""
        log_far = math.log(self.eta) + _log_normal(x, sign * self.R, self.sigma)
        log_bulk = math.log1p(-self.eta) + _log_normal(x, 0.0, self.sigma)
        return log_far - torch.logaddexp(log_far, log_bulk)

    def log_score_gap(self, x) -> torch.Tensor:
        r"""Log of :math:`|s_1(x) - s_2(x)| = \frac{R}{\sigma^2}(\pi_1(x) + \pi_2(x))`.

        Finite where the gap itself underflows (near the bulk it is about
        :math:`e^{-R^2/(2\sigma^2)}`).

        Args:
            x: points, any shape (one-dimensional data).

        Returns:
            Tensor of ``x``'s shape, float64.

        Used in: chapter 3, "Two mixtures that samples cannot tell apart".
        """
        x = check_finite(as_tensor(x, "x", dtype=torch.float64), "x")
        log_sum = torch.logaddexp(self._log_far(x, -1.0), self._log_far(x, 1.0))
        return math.log(self.R / self.sigma**2) + log_sum

    def _p1_nodes(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Quadrature nodes and log weights of p1's density, 12 sigma around each mean."""
        x, log_w = _window_nodes([0.0, -self.R], 12.0 * self.sigma, self.sigma * _H_41)
        return x, log_w + self.p1.log_prob(x[:, None])

    def l2_gap(self) -> float:
        r"""Squared L2 gap :math:`\mathbb E_{x\sim p_1}|s_1(x) - s_2(x)|^2`, by quadrature.

        About :math:`\eta R^2/\sigma^4` once :math:`R \gg \sigma`; by the symmetry
        :math:`x \mapsto -x` it equals :math:`\mathbb E_{p_2}|s_1 - s_2|^2`. Squared.

        Used in: chapter 3, "Two mixtures that samples cannot tell apart".
        """
        x, log_w = self._p1_nodes()
        return float(torch.logsumexp(log_w + 2.0 * self.log_score_gap(x), 0).exp())

    def tv_distance(self) -> float:
        r"""Total variation :math:`\mathrm{TV}(p_1, p_2) = \eta\,\mathrm{erf}(R/(\sigma\sqrt2))`.

        The bulks cancel, so the TV is :math:`\eta` times the TV between
        :math:`\mathcal N(-R, \sigma^2)` and :math:`\mathcal N(R, \sigma^2)`.

        Used in: chapter 3, "Two mixtures that samples cannot tell apart".
        """
        return self.eta * math.erf(self.R / (self.sigma * math.sqrt(2.0)))

    def hellinger_squared(self) -> float:
        r"""Squared Hellinger distance :math:`H^2 = 1 - \int\sqrt{p_1 p_2}`, by quadrature.

        Computed as :math:`\frac12\int(\sqrt{p_1} - \sqrt{p_2})^2`, which keeps its relative
        accuracy when it is as small as :math:`\eta`. It satisfies
        :math:`H^2 \le \mathrm{TV}(p_1, p_2)`, and the Bhattacharyya coefficient
        :math:`\int\sqrt{p_1p_2} = 1 - H^2` of :math:`m` samples is its :math:`m`-th power.
        Squared, as the name says.

        Used in: chapter 3, "The barrier at small noise".
        """
        x, log_w = _window_nodes([-self.R, 0.0, self.R], 12.0 * self.sigma, self.sigma * _H_41)
        root_1 = torch.exp(0.5 * self.p1.log_prob(x[:, None]))
        root_2 = torch.exp(0.5 * self.p2.log_prob(x[:, None]))
        return float(0.5 * (log_w.exp() * (root_1 - root_2) ** 2).sum())

    def samples_to_distinguish(self, tv_level=0.5) -> tuple[float, float]:
        r"""Bounds on :math:`m^*`, the fewest samples with :math:`\mathrm{TV}(p_1^m, p_2^m)\ge\ell`.

        With :math:`\tau = \mathrm{TV}(p_1, p_2)` and :math:`H^2` the squared Hellinger distance
        (:meth:`hellinger_squared`), coupling and the Hellinger bound give
        :math:`1 - (1 - H^2)^m \le \mathrm{TV}(p_1^m, p_2^m) \le 1 - (1-\tau)^m`, hence

        .. math::
            \frac{\log(1-\ell)}{\log(1-\tau)} \le m^* \le \frac{\log(1-\ell)}{\log(1 - H^2)},
            \qquad \ell = \texttt{tv\_level}.

        Below :math:`m^*` every test errs with probability at least :math:`(1-\ell)/2`. Both
        bounds are about :math:`\log\frac{1}{1-\ell}\,/\,\eta` when :math:`R \gg \sigma`.

        Args:
            tv_level: the total variation :math:`\ell` to reach, in (0, 1).

        Returns:
            ``(lower, upper)`` as Python floats (real numbers, not rounded up).

        Used in: chapter 3, "The barrier at small noise".
        """
        level = check_open_unit(tv_level, "tv_level")
        target = math.log1p(-level)
        return target / math.log1p(-self.tv_distance()), target / math.log1p(
            -self.hellinger_squared()
        )

    def log_quantile_gap(self, delta) -> float:
        r"""Log of :math:`D^\delta_{p_1}(s_2, s_1)`, the quantile error of the wrong score.

        The :math:`(1-\delta)`-quantile of :math:`|s_1(x) - s_2(x)|` under :math:`x\sim p_1`, in
        log space, by quadrature (accurate to the grid spacing :math:`\sigma/400`). For
        :math:`\delta > \eta` it sits in the bulk, where the gap is about
        :math:`e^{-R^2/(2\sigma^2)}`: the value can be far below the smallest float64.

        Args:
            delta: quantile mass in (0, 1).

        Returns:
            A Python float, the natural log of the (not squared) quantile error.

        Used in: chapter 3, "Figure 1 of the paper".
        """
        delta = check_open_unit(delta, "delta")
        x, log_w = self._p1_nodes()
        order = torch.argsort(self.log_score_gap(x), descending=True)
        mass = torch.softmax(log_w, 0)[order].cumsum(0)  # P[gap >= value], largest first
        k = min(int(torch.searchsorted(mass, delta, right=True)), len(order) - 1)
        return float(self.log_score_gap(x[order[k]]))

    def training_pairs(self, trials, m, truth=1, *, generator=None):
        r"""Draw ``trials`` training sets for Algorithm 1 from :math:`p_1` or :math:`p_2`.

        Each point is :math:`x_i = y_i + z_i` with :math:`y_i = \mp R` with probability
        :math:`\eta` (else 0) and :math:`z_i \sim \mathcal N(0, \sigma^2)`.

        Args:
            trials: number of independent training sets.
            m: points per training set.
            truth: 1 (far component at :math:`-R`) or 2 (at :math:`+R`).
            generator: optional ``torch.Generator``; the draws are made on its device, or on
                the CPU when ``None`` (:func:`.draw_device`).

        Returns:
            ``(x_t, z, far)``: ``x_t`` and ``z`` of shape ``(trials, m, 1)``, float64, and the
            boolean ``far`` of shape ``(trials, m)``, true where :math:`y_i \ne 0`.

        Used in: chapter 3, "Figure 1 of the paper".
        """
        trials = as_int(trials, "trials", minimum=1)
        m = as_int(m, "m", minimum=1)
        if truth not in (1, 2):
            raise ValueError(f"truth must be 1 or 2; got {truth!r}")
        device = draw_device(generator)
        shape = (trials, m)
        far = torch.rand(shape, generator=generator, device=device, dtype=torch.float64) < self.eta
        z = self.sigma * torch.randn(
            (*shape, 1), generator=generator, device=device, dtype=torch.float64
        )
        y = torch.where(far, -self.R if truth == 1 else self.R, 0.0)
        return y[..., None] + z, z, far


# ----- Lemma 4.2 ----------------------------------------------------------------------------


def _log_one_minus_exp(log_p: float) -> float:
    """log(1 - e^log_p) for log_p < 0, accurate at both ends.

    Above -log 2 the difference 1 - e^log_p is computed by expm1, below it by log1p: each
    keeps full relative accuracy on its side of the switch (Maechler, 2012).
    """
    if log_p > _MINUS_LOG_2:
        return math.log(-math.expm1(log_p))
    return math.log1p(-math.exp(log_p))


class Lemma42Mixture:
    r"""The mixture of Lemma 4.2, with :math:`\eta` set so that its score vanishes at :math:`x_0`.

    .. math::
        \widehat p &= \eta\,\mathcal N(0, \sigma^2) + (1-\eta)\,\mathcal N(S, \sigma^2),

        \widehat s(x) &= -\frac{x}{\sigma^2} + \frac{S}{\sigma^2}\,
        \mathrm{sigmoid}\big(\log r(x)\big),

        \log r(x) &= \log\frac{1-\eta}{\eta} + \frac{Sx - S^2/2}{\sigma^2}.

    Against the truth :math:`p^* = \mathcal N(0, \sigma^2)`, with score
    :math:`s^*(x) = -x/\sigma^2`, the error is
    :math:`\widehat s - s^* = \frac{S}{\sigma^2}\mathrm{sigmoid}(\log r)`: negligible left of
    the switch point :math:`x_0` (where :math:`\widehat s(x_0) = 0`) and about
    :math:`S/\sigma^2` right of it.

    The weight is found by a bracketed root-find (Brent) of :math:`\widehat s(x_0) = 0` in
    :math:`\log\eta`, evaluated with the log-odds above, because :math:`\eta` is about
    :math:`\frac{S}{x_0}e^{-S^2/(2\sigma^2) + Sx_0/\sigma^2}` and underflows float64 for most
    interesting :math:`(S, x_0)`. All methods use this closed form; :attr:`mixture` is a
    :class:`.GaussianMixture` of the same law when :math:`\eta` is a normal float64, else
    ``None``.

    Args:
        S: mean of the heavy component, :math:`S > 0`.
        switch_point: :math:`x_0`, strictly between 0 and ``S``.
        sigma: standard deviation of both components and of :math:`p^*` (not squared).

    Attributes:
        S, switch_point, sigma: the parameters.
        log_eta: :math:`\log\eta`, a Python float.
        eta: :math:`\eta` as a float (0.0 when it underflows).
        mixture: the :class:`.GaussianMixture`, or ``None`` when :math:`\eta` underflows.

    Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
    """

    def __init__(self, S, switch_point, sigma=1.0):
        self.S = check_positive(S, "S")
        self.switch_point = as_float(switch_point, "switch_point")
        self.sigma = check_positive(sigma, "sigma")
        if not 0.0 < self.switch_point < self.S:
            raise ValueError(
                f"switch_point must lie in (0, S) = (0, {self.S:g}); got {self.switch_point!r}"
            )
        self.log_eta = self._solve_log_eta()
        self.eta = math.exp(self.log_eta)
        self.mixture = None
        if self.log_eta > _LOG_TINY:
            self.mixture = GaussianMixture(
                [self.eta, 1.0 - self.eta], [[0.0], [self.S]], [self.sigma**2, self.sigma**2]
            )

    def __repr__(self) -> str:
        return (
            f"Lemma42Mixture(S={self.S:g}, switch_point={self.switch_point:g}, "
            f"sigma={self.sigma:g}, log_eta={self.log_eta:.6g})"
        )

    def _resp_at_switch(self, log_eta: float) -> float:
        """Posterior weight of the heavy component at the switch point, minus x_0 / S."""
        x0, S, var = self.switch_point, self.S, self.sigma**2
        log_odds = _log_one_minus_exp(log_eta) - log_eta + (S * x0 - 0.5 * S**2) / var
        return float(scipy.special.expit(log_odds)) - x0 / S

    def _solve_log_eta(self) -> float:
        # s_hat(x_0) = (S / sigma^2) * (sigmoid(log r(x_0)) - x_0 / S), decreasing in log eta.
        f = self._resp_at_switch
        lo = -1.0
        while f(lo) <= 0.0:  # push eta down until the heavy component wins at x_0
            lo *= 2.0
            if lo < -1e300:
                raise ValueError("no eta in (0, 1) makes the score vanish at switch_point")
        hi = -1.0
        while f(hi) >= 0.0:  # push eta up towards 1 until the light component wins at x_0
            hi *= 0.5
            if hi > -1e-300:
                raise ValueError(
                    f"switch_point {self.switch_point!r} is too close to S for float64: "
                    "1 - eta would underflow"
                )
        return float(scipy.optimize.brentq(f, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps))

    def log_odds(self, x) -> torch.Tensor:
        r"""The log-odds :math:`\log r(x)` of the heavy component, elementwise.

        Args:
            x: points, any shape.

        Returns:
            Tensor of ``x``'s shape, float64.

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        x = check_finite(as_tensor(x, "x", dtype=torch.float64), "x")
        log_prior = _log_one_minus_exp(self.log_eta) - self.log_eta
        return log_prior + (self.S * x - 0.5 * self.S**2) / self.sigma**2

    def score_hat(self, x) -> torch.Tensor:
        r"""The score :math:`\widehat s(x)` of :math:`\widehat p`, elementwise, in closed form.

        Args:
            x: points, any shape; ``(n, 1)`` gives the ``(n, 1)`` of
                :meth:`.GaussianMixture.score`.

        Returns:
            Tensor of ``x``'s shape, float64.

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        x = check_finite(as_tensor(x, "x", dtype=torch.float64), "x")
        return (-x + self.S * torch.sigmoid(self.log_odds(x))) / self.sigma**2

    def score_true(self, x) -> torch.Tensor:
        r"""The true score :math:`s^*(x) = -x/\sigma^2` of :math:`p^* = \mathcal N(0, \sigma^2)`.

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        x = check_finite(as_tensor(x, "x", dtype=torch.float64), "x")
        return -x / self.sigma**2

    def log_sq_error(self, x) -> torch.Tensor:
        r"""Log of the squared error :math:`|\widehat s(x) - s^*(x)|^2`, elementwise.

        .. math::
            \log|\widehat s - s^*|^2 = 2\log\frac{S}{\sigma^2} + 2\log\mathrm{sigmoid}(\log r(x))

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        log_sig = torch.nn.functional.logsigmoid(self.log_odds(x))
        return 2.0 * math.log(self.S / self.sigma**2) + 2.0 * log_sig

    def log_empirical_l2_error(self, x) -> torch.Tensor:
        r"""Log of the empirical squared L2 error :math:`\frac1m\sum_i|\widehat s(x_i)-s^*(x_i)|^2`.

        One value per trial, by ``logsumexp`` over the last axis, so errors below the smallest
        float64 stay finite.

        Args:
            x: samples, shape ``(trials, m)`` or ``(trials, m, 1)``.

        Returns:
            Tensor of shape ``(trials,)``, float64 (the log of a squared error).

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        x = as_tensor(x, "x", dtype=torch.float64)
        if x.ndim == 3 and x.shape[-1] == 1:
            x = x[..., 0]
        if x.ndim != 2 or x.shape[1] == 0:
            raise ValueError(
                f"x must have shape (trials, m) or (trials, m, 1); got {tuple(x.shape)}"
            )
        return torch.logsumexp(self.log_sq_error(x), dim=-1) - math.log(x.shape[1])

    def log_population_l2_error(self) -> float:
        r"""Log of the population squared L2 error :math:`\mathbb E_{p^*}|\widehat s - s^*|^2`.

        .. math::
            \mathbb E|\widehat s - s^*|^2 = \frac{S^2}{\sigma^4}\,
            \mathbb E_{x\sim\mathcal N(0,\sigma^2)}\big[\mathrm{sigmoid}(\log r(x))^2\big]

        by composite Simpson quadrature in log space over :math:`[-15\sigma, x_0 + 15\sigma]`.
        The spacing resolves the width :math:`\sigma^2/S` of the switch within
        :math:`50\sigma^2/S` of :math:`x_0`, and :math:`\sigma` and :math:`\sigma^2/x_0` elsewhere,
        where the integrand is within a factor :math:`e^{-50}` of :math:`0` (left) or of the
        normal density (right). For a switch point far in the tail and :math:`S \gg x_0` the
        result is about :math:`\frac{S^2}{\sigma^4}\mathbb P[x > x_0]`.

        Returns:
            A Python float (the natural log of a squared error).

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        sigma, x0 = self.sigma, self.switch_point
        lo, hi = -15.0 * sigma, x0 + 15.0 * sigma
        a, b = max(lo, x0 - 50.0 * sigma**2 / self.S), min(hi, x0 + 50.0 * sigma**2 / self.S)
        h_fine = min(sigma, sigma**2 / self.S) / 40.0
        h_coarse = min(sigma, sigma**2 / max(x0, sigma)) / 40.0
        parts = [_simpson_nodes(a, b, h_fine)]
        parts += [_simpson_nodes(u, v, h_coarse) for u, v in ((lo, a), (b, hi)) if v > u]
        x = torch.cat([p[0] for p in parts])
        log_w = torch.cat([p[1] for p in parts])
        log_density = _log_normal(x, 0.0, sigma)
        return float(torch.logsumexp(log_w + log_density + self.log_sq_error(x), 0))

    def population_l2_error(self) -> float:
        r"""The squared L2 error :math:`\mathbb E_{p^*}|\widehat s - s^*|^2` (0.0 if it underflows).

        See :meth:`log_population_l2_error`.

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        return math.exp(self.log_population_l2_error())

    def prob_beyond_switch(self, m) -> float:
        r"""Probability that one of ``m`` samples of :math:`p^*` or more lies beyond :math:`x_0`.

        .. math:: 1 - \big(1 - \bar\Phi(x_0/\sigma)\big)^m

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        m = as_int(m, "m", minimum=1)
        log_tail = float(scipy.special.log_ndtr(-self.switch_point / self.sigma))
        return -math.expm1(m * _log_one_minus_exp(log_tail))

    def sample_true(self, trials, m, *, generator=None) -> torch.Tensor:
        r"""Draw ``trials`` sets of ``m`` points from :math:`p^* = \mathcal N(0, \sigma^2)`.

        Returns:
            Tensor of shape ``(trials, m)``, float64, on the generator's device.

        Used in: chapter 3, "Lemma 4.2: the empirical loss can lie".
        """
        trials = as_int(trials, "trials", minimum=1)
        m = as_int(m, "m", minimum=1)
        device = draw_device(generator)
        return self.sigma * torch.randn(
            trials, m, generator=generator, device=device, dtype=torch.float64
        )
