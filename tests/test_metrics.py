"""Tests for diffedu.metrics: L2 and quantile score errors, 1-D TV, and W2 in 1-D and 2-D."""

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats
import torch

import diffedu

MIX_1D = ([0.3, 0.7], [-2.0, 1.5], [0.25, 0.5])  # weights, means, variances


def _mixture_1d_scipy(weights, means, variances):
    """cdf and pdf of a 1-D Gaussian mixture from scipy.stats.norm (independent of diffedu)."""
    sds = [math.sqrt(v) for v in variances]

    def cdf(x):
        return sum(
            w * scipy.stats.norm.cdf(x, m, s) for w, m, s in zip(weights, means, sds, strict=True)
        )

    def pdf(x):
        return sum(
            w * scipy.stats.norm.pdf(x, m, s) for w, m, s in zip(weights, means, sds, strict=True)
        )

    return cdf, pdf


# ----- L2 score error ------------------------------------------------------------------------


def test_l2_score_error_is_mean_squared_row_norm():
    """l2_score_error is (1/n) sum_i ||score_hat_i - score_i||^2 (squared, not rooted)."""
    g = torch.Generator().manual_seed(0)
    score_hat = torch.randn(500, 3, generator=g, dtype=torch.float64)
    score = torch.randn(500, 3, generator=g, dtype=torch.float64)
    expected = float(np.mean(np.sum((score_hat.numpy() - score.numpy()) ** 2, axis=1)))
    assert diffedu.l2_score_error(score_hat, score) == pytest.approx(expected, rel=1e-13)
    # (n,) inputs are read as d = 1.
    expected_1d = float(np.mean((score_hat[:, 0].numpy() - score[:, 0].numpy()) ** 2))
    got_1d = diffedu.l2_score_error(score_hat[:, 0], score[:, 0])
    assert got_1d == pytest.approx(expected_1d, rel=1e-13)


def test_l2_score_error_of_constant_offset_is_its_squared_norm():
    """For score_hat = score + c the error is ||c||^2 exactly (dyadic values: no rounding)."""
    g = torch.Generator().manual_seed(1)
    score = torch.randint(-50, 50, (1000, 3), generator=g).to(torch.float64) / 4
    c = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float64)
    assert diffedu.l2_score_error(score + c, score) == 0.25 + 1.5625 + 4.0
    assert diffedu.l2_score_error(score, score) == 0.0


# ----- quantile score error D^delta ------------------------------------------------------------


@pytest.mark.parametrize("delta", [0.05, 0.01])
@pytest.mark.parametrize("d", [1, 3])
def test_quantile_score_error_matches_analytic_quantile(d, delta):
    """For score_hat - score = sigma Z, D^delta is sigma times the (1-delta)-quantile of ||Z||."""
    g = torch.Generator().manual_seed(2)
    n, sigma = 200_000, 0.7
    score = torch.randn(n, d, generator=g, dtype=torch.float64)
    score_hat = score + sigma * torch.randn(n, d, generator=g, dtype=torch.float64)
    # ||Z|| is half-normal for d = 1 (quantile Phi^{-1}(1 - delta/2)) and chi with d dof.
    law = scipy.stats.chi(d)
    q = sigma * law.ppf(1 - delta)
    if d == 1:
        assert q == pytest.approx(sigma * scipy.stats.norm.ppf(1 - delta / 2), rel=1e-12)
    # Order-statistic standard error sqrt(delta(1-delta)/n) / density at the quantile; 5 SE.
    density = law.pdf(q / sigma) / sigma
    tol = 5 * math.sqrt(delta * (1 - delta) / n) / density
    assert abs(diffedu.quantile_score_error(score_hat, score, delta) - q) < tol


def _d_delta_brute_force(errors: np.ndarray, delta: float) -> float:
    """inf{eps : #(e >= eps) <= floor(delta n)}: the smallest e_i with #(e > e_i) <= floor(delta n).

    f(eps) = #(e >= eps) is non-increasing and left-continuous, so the feasible set is an
    interval whose infimum is a data value: the smallest e_i beyond which at most k remain.
    """
    k = math.floor(Fraction(repr(delta)) * len(errors))  # exact floor(delta n)
    return min(e for e in errors if np.sum(errors > e) <= k)


@pytest.mark.parametrize("n", [1, 7, 10, 100, 1001])
@pytest.mark.parametrize("delta", [0.3, 0.29, 0.1, 0.05, 0.5, 0.999])
def test_quantile_score_error_matches_definition(n, delta):
    """D^delta equals a brute-force evaluation of eq. (6) on the empirical law, ties included."""
    g = torch.Generator().manual_seed(3)
    # Integer-valued errors along one axis, so that ties occur.
    diff = torch.randint(0, 6, (n,), generator=g).to(torch.float64)
    score = torch.randn(n, 2, generator=g, dtype=torch.float64)
    score_hat = score.clone()
    score_hat[:, 0] += diff
    errors = torch.linalg.vector_norm(score_hat - score, dim=-1).numpy()
    got = diffedu.quantile_score_error(score_hat, score, delta)
    assert got == _d_delta_brute_force(errors, delta)
    # At most a delta fraction of rows exceed it, and every smaller data value violates that.
    assert np.sum(errors > got) <= delta * n
    for e in errors[errors < got]:
        assert np.sum(errors > e) > delta * n


@pytest.mark.parametrize("delta", [0.05, 0.1, 0.25, 0.37])
def test_quantile_score_error_is_inverted_cdf_quantile(delta):
    """D^delta equals numpy's (1 - delta)-quantile with method='inverted_cdf' (continuous data)."""
    g = torch.Generator().manual_seed(4)
    n = 1000
    score = torch.randn(n, 2, generator=g, dtype=torch.float64)
    score_hat = torch.randn(n, 2, generator=g, dtype=torch.float64)
    errors = np.linalg.norm(score_hat.numpy() - score.numpy(), axis=1)
    expected = np.quantile(errors, 1 - delta, method="inverted_cdf")
    assert diffedu.quantile_score_error(score_hat, score, delta) == expected


# ----- W2 in one dimension --------------------------------------------------------------------


def test_wasserstein2_1d_equal_sizes_matches_assignment():
    """Equal sizes: W2 equals exact optimal transport by linear_sum_assignment on squared cost."""
    g = torch.Generator().manual_seed(5)
    a = torch.randn(200, generator=g, dtype=torch.float64)
    b = 2 * torch.rand(200, generator=g, dtype=torch.float64) ** 2 - 0.3
    cost = (a.numpy()[:, None] - b.numpy()[None, :]) ** 2
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    expected = math.sqrt(cost[rows, cols].mean())
    assert diffedu.wasserstein2_1d(a, b) == pytest.approx(expected, rel=1e-12)
    assert diffedu.wasserstein2_1d(a[:, None], b[:, None]) == pytest.approx(expected, rel=1e-12)


def _w2_common_grid(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W2 of two empirical laws: both quantile functions are constant on [i/L, (i+1)/L)."""
    n, m = len(a), len(b)
    L = math.lcm(n, m)
    i = np.arange(L)
    qa, qb = np.sort(a)[i * n // L], np.sort(b)[i * m // L]
    return math.sqrt(np.mean((qa - qb) ** 2))


@pytest.mark.parametrize("n, m", [(30, 45), (997, 1009), (1, 17), (250, 1000)])
def test_wasserstein2_1d_unequal_sizes_matches_quantile_integration(n, m):
    """Unequal sizes: W2 equals the quantile integral, on a common grid and on a fine u-grid."""
    g = torch.Generator().manual_seed(6)
    a = torch.randn(n, generator=g, dtype=torch.float64)
    b = 1.5 * torch.randn(m, generator=g, dtype=torch.float64) + 0.4
    got = diffedu.wasserstein2_1d(a, b)
    assert got == pytest.approx(_w2_common_grid(a.numpy(), b.numpy()), rel=1e-12)
    assert diffedu.wasserstein2_1d(b, a) == pytest.approx(got, rel=1e-12)
    # Midpoint rule on 10^6 points of u: only the cells holding one of the n + m jumps
    # are wrong, each by at most (range)^2 / M, so W2^2 is off by <= (n+m) range^2 / M.
    M = 1_000_000
    u = (np.arange(M) + 0.5) / M
    qa = np.quantile(a.numpy(), u, method="inverted_cdf")
    qb = np.quantile(b.numpy(), u, method="inverted_cdf")
    w2_sq_grid = np.mean((qa - qb) ** 2)
    span = max(a.max(), b.max()) - min(a.min(), b.min())
    assert abs(got**2 - w2_sq_grid) <= (n + m) * float(span) ** 2 / M


def test_wasserstein2_1d_to_mixture_matches_quadrature():
    """W2 from samples to a mixture target equals sum_i int (a_(i) - x)^2 dF over quantile cells."""
    g = torch.Generator().manual_seed(7)
    weights, means, variances = MIX_1D
    target = diffedu.GaussianMixture(weights, means, variances)
    n = 40
    a = np.sort(2 * torch.randn(n, generator=g, dtype=torch.float64).numpy())
    cdf, pdf = _mixture_1d_scipy(weights, means, variances)
    # Quantile breakpoints F^{-1}(i/n) by root-finding on the scipy cdf.
    inner = [
        scipy.optimize.brentq(lambda x, u=i / n: cdf(x) - u, -30, 30, xtol=1e-14)
        for i in range(1, n)
    ]
    edges = [-np.inf, *inner, np.inf]
    w2_sq = sum(
        scipy.integrate.quad(
            lambda x, ai=ai: (ai - x) ** 2 * pdf(x), lo, hi, epsabs=1e-13, epsrel=1e-12
        )[0]
        for ai, lo, hi in zip(a, edges[:-1], edges[1:], strict=True)
    )
    got = diffedu.wasserstein2_1d(torch.from_numpy(a[::-1].copy()), target)
    # icdf is exact to 1e-12 in x, so W2 is exact to ~1e-12 relative.
    assert got == pytest.approx(math.sqrt(w2_sq), rel=1e-10)


def test_wasserstein2_1d_gaussian_closed_form():
    """Samples of N(0,1) against target N(mu, s^2): W2 -> sqrt(mu^2 + (1-s)^2) as n grows."""
    g = torch.Generator().manual_seed(8)
    mu, s = 0.8, 1.6
    closed = math.hypot(mu, 1 - s)
    target, standard = (
        diffedu.GaussianMixture([1.0], [mu], [s**2]),
        diffedu.GaussianMixture([1.0], [0.0], [1.0]),
    )
    errors = []
    for n in (100, 100_000):
        a = torch.randn(n, generator=g, dtype=torch.float64)
        got = diffedu.wasserstein2_1d(a, target)
        # Triangle inequality for the metric W2: |W2(P_n, Q) - W2(P, Q)| <= W2(P_n, P).
        assert abs(got - closed) <= diffedu.wasserstein2_1d(a, standard) + 1e-9
        errors.append(abs(got - closed))
    # W2(P_n, P) ~ sqrt(log log n / n) for Gaussians: ~0.01 at n = 1e5.
    assert errors[1] < 0.03 and errors[1] < errors[0]


def test_wasserstein2_1d_translation_and_scipy_w1():
    """For a and a + c both W1 (scipy) and W2 equal |c|; in general W1 <= W2."""
    g = torch.Generator().manual_seed(9)
    a = torch.randn(300, generator=g, dtype=torch.float64)
    c = -0.75
    assert diffedu.wasserstein2_1d(a, a + c) == pytest.approx(abs(c), rel=1e-12)
    assert scipy.stats.wasserstein_distance(a.numpy(), a.numpy() + c) == pytest.approx(
        abs(c), rel=1e-12
    )
    assert diffedu.wasserstein2_1d(a, a) == 0.0
    b = torch.rand(170, generator=g, dtype=torch.float64) * 3
    w1 = scipy.stats.wasserstein_distance(a.numpy(), b.numpy())
    assert w1 <= diffedu.wasserstein2_1d(a, b) * (1 + 1e-12)


def test_wasserstein2_1d_rejects_bad_input():
    """wasserstein2_1d rejects non-finite, empty and multi-dimensional samples and bad targets."""
    good = torch.zeros(5)
    with pytest.raises(ValueError, match="^a must"):
        diffedu.wasserstein2_1d(torch.tensor([0.0, float("nan")]), good)
    with pytest.raises(ValueError, match="^b must"):
        diffedu.wasserstein2_1d(good, torch.tensor([float("inf")]))
    with pytest.raises(ValueError, match="^a must"):
        diffedu.wasserstein2_1d(torch.zeros(5, 2), good)
    with pytest.raises(ValueError, match="^a must"):
        diffedu.wasserstein2_1d(torch.zeros(0), good)
    with pytest.raises(TypeError, match="^b must"):
        diffedu.wasserstein2_1d(good, "b")
    mix_2d = diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [1.0])
    with pytest.raises(ValueError, match="^b must"):
        diffedu.wasserstein2_1d(good, mix_2d)


# ----- W2 in two dimensions ----------------------------------------------------------------


def test_wasserstein2_2d_matches_brute_force_over_permutations():
    """For n = 6, W2 equals the minimum over all 720 permutations of the mean squared distance."""
    g = torch.Generator().manual_seed(10)
    a = torch.randn(6, 2, generator=g, dtype=torch.float64)
    b = torch.randn(6, 2, generator=g, dtype=torch.float64) + 0.5
    an, bn = a.numpy(), b.numpy()
    best = min(
        np.mean(np.sum((an - bn[list(p)]) ** 2, axis=1)) for p in itertools.permutations(range(6))
    )
    assert diffedu.wasserstein2_2d(a, b) == pytest.approx(math.sqrt(best), rel=1e-12)


def test_wasserstein2_2d_symmetric_zero_and_translation():
    """W2 in 2-D is symmetric, zero between a set and its permutation, and ||c|| for a + c."""
    g = torch.Generator().manual_seed(11)
    a = torch.randn(50, 2, generator=g, dtype=torch.float64)
    b = torch.rand(50, 2, generator=g, dtype=torch.float64)
    assert diffedu.wasserstein2_2d(a, b) == pytest.approx(diffedu.wasserstein2_2d(b, a), rel=1e-12)
    assert diffedu.wasserstein2_2d(a, a[torch.randperm(50, generator=g)]) == 0.0
    # Any coupling of a with a + c costs W2(a, a)^2 + ||c||^2, since the means cancel.
    c = torch.tensor([0.3, -0.4], dtype=torch.float64)
    assert diffedu.wasserstein2_2d(a, a + c) == pytest.approx(0.5, rel=1e-12)


def test_wasserstein2_2d_rejects_bad_input():
    """wasserstein2_2d rejects mismatched shapes, wrong dimension, non-finite, too many points."""
    a = torch.zeros(5, 2)
    with pytest.raises(ValueError, match="^b must"):
        diffedu.wasserstein2_2d(a, torch.zeros(6, 2))
    with pytest.raises(ValueError, match="^a must"):
        diffedu.wasserstein2_2d(torch.zeros(5, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="^a must"):
        diffedu.wasserstein2_2d(torch.tensor([[0.0, float("nan")]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="^b must"):
        diffedu.wasserstein2_2d(torch.zeros(1, 2), torch.tensor([[0.0, float("inf")]]))
    with pytest.raises(ValueError, match="^a and b"):
        diffedu.wasserstein2_2d(torch.zeros(4001, 2), torch.zeros(4001, 2))
    with pytest.raises(TypeError, match="^a must"):
        diffedu.wasserstein2_2d("a", a)


# ----- TV in one dimension ---------------------------------------------------------------------


def test_tv_noise_floor_formula():
    """tv_noise_floor_1d is (n_bins/2) E|N(0, p(1-p)/n)| with p = 1/n_bins."""
    n, n_bins = 20_000, 50
    p = 1 / n_bins
    assert diffedu.tv_noise_floor_1d(n, n_bins) == pytest.approx(
        0.5 * n_bins * math.sqrt(2 / math.pi) * math.sqrt(p * (1 - p) / n), rel=1e-14
    )


def test_tv_exact_samples_near_noise_floor():
    """For exact samples the TV estimate averages to tv_noise_floor_1d (within 30%)."""
    g = torch.Generator().manual_seed(12)
    target = diffedu.GaussianMixture(*MIX_1D)
    n, n_bins = 20_000, 50
    estimates = [
        diffedu.tv_distance_1d(target.sample(n, generator=g), target, n_bins) for _ in range(5)
    ]
    # One estimate has relative sd ~ sqrt(pi/2 - 1)/sqrt(n_bins) ~ 0.11; the mean of 5 ~ 0.05,
    # so a 30% band is about 6 standard deviations.
    floor = diffedu.tv_noise_floor_1d(n, n_bins)
    assert abs(np.mean(estimates) / floor - 1) < 0.3
    assert all(0.0 <= e <= 1.0 for e in estimates)


def _binned_tv_and_tolerance(edges: np.ndarray, p_cdf, q_cdf, n: int):
    """Binned TV between laws P (samples) and Q (target) on edges, and a 3x noise tolerance.

    Binning merges differences, so binned TV <= TV. The estimate differs from the binned TV by
    at most (1/2) sum_b |n_b/n - P_b|, whose mean is about (1/2) sum_b sqrt(2 P_b(1-P_b)/(pi n)).
    """
    P, Q = np.diff(p_cdf(edges)), np.diff(q_cdf(edges))
    binned = 0.5 * np.abs(P - Q).sum()
    noise = 0.5 * np.sum(np.sqrt(2 / np.pi * P * (1 - P) / n))
    return binned, 3 * noise


def test_tv_shifted_gaussian_matches_analytic():
    """Samples of N(mu, 1) against N(0, 1): the estimate is near TV = 2 Phi(|mu|/2) - 1."""
    g = torch.Generator().manual_seed(13)
    mu, n = 1.0, 100_000
    analytic = 2 * scipy.stats.norm.cdf(abs(mu) / 2) - 1  # 0.3829
    target = diffedu.GaussianMixture([1.0], [0.0], [1.0])
    samples = mu + torch.randn(n, generator=g, dtype=torch.float64)
    n_bins = max(10, math.ceil(2 * n ** (1 / 3)))  # the documented default, 93 bins
    edges = scipy.stats.norm.ppf(np.arange(n_bins + 1) / n_bins)  # equal target mass
    binned, tol = _binned_tv_and_tolerance(
        edges, lambda x: scipy.stats.norm.cdf(x, mu), scipy.stats.norm.cdf, n
    )
    assert 0 <= analytic - binned < 0.005  # binning allowance: small with 93 bins
    got = diffedu.tv_distance_1d(samples, target)
    assert abs(got - binned) < tol
    assert abs(got - analytic) < tol + (analytic - binned)
    # The callable log_prob path: equal-width bins over the sample range widened by 10%,
    # plus the target mass outside the range as one empty bin.
    got_callable = diffedu.tv_distance_1d(samples, target.log_prob)
    lo, hi = float(samples.min()), float(samples.max())
    pad = 0.1 * (hi - lo)
    edges_c = np.linspace(lo - pad, hi + pad, n_bins + 1)
    binned_c, tol_c = _binned_tv_and_tolerance(
        edges_c, lambda x: scipy.stats.norm.cdf(x, mu), scipy.stats.norm.cdf, n
    )
    outside = scipy.stats.norm.cdf(edges_c[0]) + scipy.stats.norm.sf(edges_c[-1])
    outside_p = scipy.stats.norm.cdf(edges_c[0], mu) + scipy.stats.norm.sf(edges_c[-1], mu)
    binned_c += 0.5 * abs(outside - outside_p)
    assert abs(got_callable - binned_c) < tol_c
    assert abs(got_callable - got) < tol + tol_c + (analytic - binned) + (analytic - binned_c)


def test_tv_callable_path_agrees_with_mixture_path_on_exact_samples():
    """For exact samples both paths return about the noise floor: no spurious mass or bias."""
    g = torch.Generator().manual_seed(14)
    target = diffedu.GaussianMixture(*MIX_1D)
    n, n_bins = 50_000, 60
    samples = target.sample(n, generator=g)
    via_mixture = diffedu.tv_distance_1d(samples, target, n_bins)
    via_callable = diffedu.tv_distance_1d(samples, target.log_prob, n_bins)
    # Both are noise: (1/2) sum_b |n_b/n - P_b| has mean <= (1/2) sqrt(2 n_bins / (pi n)) by
    # Cauchy-Schwarz (about 0.014 here); allow 3 times that for each.
    bound = 0.5 * math.sqrt(2 * n_bins / (math.pi * n))
    assert via_mixture < 3 * bound and via_callable < 3 * bound


def test_tv_rejects_bad_input():
    """tv_distance_1d and tv_noise_floor_1d reject bad samples, targets, n and n_bins."""
    target = diffedu.GaussianMixture([1.0], [0.0], [1.0])
    with pytest.raises(ValueError, match="samples"):
        diffedu.tv_distance_1d(torch.tensor([0.0, float("nan")]), target)
    with pytest.raises(ValueError, match="samples"):
        diffedu.tv_distance_1d(torch.zeros(10, 2), target)
    with pytest.raises(TypeError, match="target"):
        diffedu.tv_distance_1d(torch.zeros(10), "N(0,1)")
    with pytest.raises(ValueError, match="target"):
        diffedu.tv_distance_1d(torch.zeros(10), diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [1.0]))
    with pytest.raises(ValueError, match="n_bins"):
        diffedu.tv_distance_1d(torch.zeros(10), target, n_bins=1)
    with pytest.raises(TypeError, match="n_bins"):
        diffedu.tv_distance_1d(torch.zeros(10), target, n_bins=2.5)
    with pytest.raises(ValueError, match="n must"):
        diffedu.tv_noise_floor_1d(0, 10)
    with pytest.raises(ValueError, match="n_bins"):
        diffedu.tv_noise_floor_1d(100, 1)


# ----- bad input for the score errors ---------------------------------------------------------


@pytest.mark.parametrize("delta", [0, 1, -0.1, 1.5, float("nan")])
def test_quantile_score_error_rejects_bad_delta(delta):
    """delta outside the open interval (0, 1) is rejected naming delta."""
    x = torch.zeros(10, 2)
    with pytest.raises(ValueError, match="delta"):
        diffedu.quantile_score_error(x, x, delta)


def test_quantile_score_error_rejects_string_delta():
    """A string delta is a TypeError naming delta."""
    x = torch.zeros(10, 2)
    with pytest.raises(TypeError, match="delta"):
        diffedu.quantile_score_error(x, x, "0.1")


@pytest.mark.parametrize(
    "fn", [diffedu.l2_score_error, lambda a, b: diffedu.quantile_score_error(a, b, 0.1)]
)
def test_score_errors_reject_bad_input(fn):
    """Score errors reject mismatched shapes, non-finite values, empty and string input."""
    with pytest.raises(ValueError, match="^score must"):
        fn(torch.zeros(10, 2), torch.zeros(10, 3))
    with pytest.raises(ValueError, match="^score must"):
        fn(torch.zeros(10, 2), torch.zeros(9, 2))
    with pytest.raises(ValueError, match="score_hat"):
        fn(torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="^score must"):
        fn(torch.zeros(1, 2), torch.tensor([[float("inf"), 0.0]]))
    with pytest.raises(ValueError, match="score_hat"):
        fn(torch.zeros(0, 2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="score_hat"):
        fn(torch.zeros(2, 2, 2), torch.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="score_hat"):
        fn("s", torch.zeros(1, 2))


# ----- TV between two 1-D mixtures by quadrature ----------------------------------------------


@pytest.mark.parametrize(
    ("mu1", "mu2", "sigma"), [(0.0, 0.1, 1.0), (-1.0, 2.0, 0.5), (3.0, 0.0, 2.0)]
)
def test_tv_mixtures_equal_variance_gaussians_closed_form(mu1, mu2, sigma):
    """TV(N(mu1, s^2), N(mu2, s^2)) = 2 Phi(|mu1 - mu2| / (2 s)) - 1."""
    p = diffedu.GaussianMixture([1.0], [[mu1]], [sigma**2])
    q = diffedu.GaussianMixture([1.0], [[mu2]], [sigma**2])
    exact = 2 * scipy.stats.norm.cdf(abs(mu1 - mu2) / (2 * sigma)) - 1
    tv = diffedu.tv_distance_mixtures_1d(p, q, lo=-20.0, hi=20.0, n_points=8001)
    # Trapezoid rule, h = 0.005: error O(h^2) at the kink where the densities cross.
    assert abs(tv - exact) < 1e-6
    assert diffedu.tv_distance_mixtures_1d(q, p, lo=-20.0, hi=20.0, n_points=8001) == tv


def test_tv_mixtures_matches_scipy_quadrature_between_crossings():
    """For two mixtures, TV equals scipy's adaptive quadrature of |p - q|/2 (independent code)."""
    p_args = MIX_1D
    q_args = ([0.5, 0.5], [-1.0, 1.0], [1.0, 0.3])
    _, p_pdf = _mixture_1d_scipy(*p_args)
    _, q_pdf = _mixture_1d_scipy(*q_args)
    exact, _ = scipy.integrate.quad(
        lambda x: 0.5 * abs(p_pdf(x) - q_pdf(x)), -15, 15, limit=400, epsabs=1e-12
    )
    p = diffedu.GaussianMixture(p_args[0], [[m] for m in p_args[1]], p_args[2])
    q = diffedu.GaussianMixture(q_args[0], [[m] for m in q_args[1]], q_args[2])
    assert abs(diffedu.tv_distance_mixtures_1d(p, q) - exact) < 1e-6
    assert diffedu.tv_distance_mixtures_1d(p, p) == 0.0


def test_tv_mixtures_far_apart_is_one_and_noised_laws_merge():
    """Disjoint components give TV 1; the OU flow brings q_t to N(0, 1), TV falling with t."""
    p = diffedu.GaussianMixture([1.0], [[-6.0]], [0.25])
    q = diffedu.GaussianMixture([1.0], [[6.0]], [0.25])
    assert abs(diffedu.tv_distance_mixtures_1d(p, q) - 1.0) < 1e-9
    mix = diffedu.GaussianMixture(*MIX_1D)
    normal = diffedu.GaussianMixture([1.0], [[0.0]], [1.0])
    tvs = [diffedu.tv_distance_mixtures_1d(mix.noised(t), normal) for t in (0.0, 0.5, 2.0, 6.0)]
    assert all(a > b for a, b in zip(tvs[:-1], tvs[1:], strict=True)) and tvs[-1] < 1e-2


def test_tv_mixtures_rejects_bad_input():
    """tv_distance_mixtures_1d rejects non-mixtures, 2-D laws, bad grids and grids missing mass."""
    p = diffedu.GaussianMixture([1.0], [[0.0]], [1.0])
    with pytest.raises(TypeError, match="^p must"):
        diffedu.tv_distance_mixtures_1d("N(0,1)", p)
    with pytest.raises(TypeError, match="^q must"):
        diffedu.tv_distance_mixtures_1d(p, None)
    with pytest.raises(ValueError, match="^q must be one-dimensional"):
        diffedu.tv_distance_mixtures_1d(p, diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [1.0]))
    with pytest.raises(ValueError, match="^hi must"):
        diffedu.tv_distance_mixtures_1d(p, p, lo=1.0, hi=-1.0)
    with pytest.raises(ValueError, match="^n_points must be >= 2"):
        diffedu.tv_distance_mixtures_1d(p, p, n_points=1)
    with pytest.raises(TypeError, match="^n_points"):
        diffedu.tv_distance_mixtures_1d(p, p, n_points=100.5)
    with pytest.raises(ValueError, match="^n_points must make the spacing"):
        diffedu.tv_distance_mixtures_1d(p, p, n_points=50)
    far = diffedu.GaussianMixture([1.0], [[11.0]], [1.0])
    with pytest.raises(ValueError, match="mass of q"):
        diffedu.tv_distance_mixtures_1d(p, far)
    with pytest.raises(TypeError, match="^lo"):
        diffedu.tv_distance_mixtures_1d(p, p, lo="a")


# ----- score errors along a time grid ----------------------------------------------------------

MIX_2D = diffedu.GaussianMixture(
    weights=[0.4, 0.6], means=[[-1.0, 0.5], [1.5, -0.5]], covs=[0.2, 0.35]
)
TS_PROFILE = (2.0, 0.5, 0.1, 0.01)


def _sigma(t):
    """sigma_t = sqrt(1 - e^{-2t}), written out independently of diffedu.ou_sigma."""
    return math.sqrt(-math.expm1(-2.0 * t))


@pytest.mark.parametrize("scaled", [True, False])
def test_score_error_profile_of_time_dependent_offset(scaled):
    """score_hat = s_t + c(t): l2_k = c_k^2 ||c(t_k)||^2 and dd_k = c_k ||c(t_k)|| for any delta."""
    g = torch.Generator().manual_seed(2)
    offset = torch.tensor([0.5, -1.0], dtype=torch.float64)  # ||offset||^2 = 1.25

    def score_hat_fn(x, t):
        return MIX_2D.score(x, t) + t * offset

    points = [MIX_2D.sample(300, t, generator=g) for t in TS_PROFILE]
    l2, dd = diffedu.score_error_profile(
        score_hat_fn, MIX_2D, TS_PROFILE, points, 0.05, scaled=scaled
    )
    c = np.array([_sigma(t) if scaled else 1.0 for t in TS_PROFILE])
    t_arr = np.array(TS_PROFILE)
    assert l2.shape == dd.shape == (len(TS_PROFILE),)
    assert l2.dtype == dd.dtype == np.float64
    np.testing.assert_allclose(l2, c**2 * t_arr**2 * 1.25, rtol=1e-12)
    np.testing.assert_allclose(dd, c * t_arr * math.sqrt(1.25), rtol=1e-12)


def test_score_error_profile_gaussian_closed_form():
    """For q_0 = N(0, v I_2) and score_hat(x) = -x: closed-form L2 and D^delta at every time.

    q_t = N(0, tau^2 I) with tau^2 = e^{-2t} v + sigma_t^2, and the error is x (1/tau^2 - 1),
    so ||error||^2 = r^2 (1 - tau^2)^2 / tau^2 with r^2 = ||x||^2 / tau^2 ~ chi-square(2):
    L2 = 2 (1 - tau^2)^2 / tau^2 and D^delta = |1 - tau^2| / tau * sqrt(-2 log delta) (the
    Rayleigh quantile). Relative standard errors at n = 20000: 1/sqrt(n) = 0.007 for the mean of
    chi-square(2)/2, and sqrt(delta (1 - delta) / n) / (r^2 delta) = 0.005 for the quantile at
    delta = 0.1. The 4% tolerance is more than 5 of them at each of the 4 times.
    """
    g = torch.Generator().manual_seed(3)
    v, delta, n = 0.25, 0.1, 20_000
    q = diffedu.GaussianMixture(weights=[1.0], means=[[0.0, 0.0]], covs=[v])
    tau2 = np.array([math.exp(-2 * t) * v + _sigma(t) ** 2 for t in TS_PROFILE])
    points = [q.sample(n, t, generator=g) for t in TS_PROFILE]
    l2, dd = diffedu.score_error_profile(
        lambda x, t: -x, q, TS_PROFILE, points, delta, scaled=False
    )
    np.testing.assert_allclose(l2, 2 * (1 - tau2) ** 2 / tau2, rtol=0.04)
    rayleigh = math.sqrt(-2 * math.log(delta))
    np.testing.assert_allclose(dd, np.abs(1 - tau2) / np.sqrt(tau2) * rayleigh, rtol=0.04)

    # A callable target (the closed-form Gaussian score) gives the same numbers.
    def score(x, t):
        return -x / (math.exp(-2 * t) * v + _sigma(t) ** 2)

    l2_c, dd_c = diffedu.score_error_profile(
        lambda x, t: -x, score, TS_PROFILE, points, delta, scaled=False
    )
    np.testing.assert_allclose(l2_c, l2, rtol=1e-10)
    np.testing.assert_allclose(dd_c, dd, rtol=1e-10)


def test_score_error_profile_scaling_and_tensor_points():
    """Scaled errors are sigma_t^2 L2 and sigma_t D^delta; an (N, n, d) tensor equals a list."""
    g = torch.Generator().manual_seed(4)
    points = torch.stack([MIX_2D.sample(500, t, generator=g) for t in TS_PROFILE])

    def score_hat_fn(x, t):
        return MIX_2D.score(x, t) + torch.tanh(x)  # an error that varies from point to point

    args = (score_hat_fn, MIX_2D, torch.tensor(TS_PROFILE, dtype=torch.float64))
    l2_s, dd_s = diffedu.score_error_profile(*args, points, 0.2)  # scaled by default
    l2_u, dd_u = diffedu.score_error_profile(*args, list(points), 0.2, scaled=False)
    sig = np.array([_sigma(t) for t in TS_PROFILE])
    np.testing.assert_allclose(l2_s, sig**2 * l2_u, rtol=1e-12)
    np.testing.assert_allclose(dd_s, sig * dd_u, rtol=1e-12)
    # Each entry is the pointwise metric at that time (tanh error: 0 < D^0.2 < max |tanh| < 1).
    for k in range(len(TS_PROFILE)):
        err = torch.tanh(points[k])
        assert l2_u[k] == pytest.approx(float(err.pow(2).sum(-1).mean()), rel=1e-12)
        assert 0.0 < dd_u[k] < float(err.norm(dim=-1).max())


def test_score_error_profile_rejects_bad_input():
    """Bad arguments raise errors naming the argument."""
    x = [torch.zeros(5, 2)] * 2
    ts = [1.0, 0.5]
    fn = MIX_2D.score
    with pytest.raises(TypeError, match="score_hat_fn"):
        diffedu.score_error_profile("s", MIX_2D, ts, x, 0.1)
    with pytest.raises(TypeError, match="target"):
        diffedu.score_error_profile(fn, 3.0, ts, x, 0.1)
    with pytest.raises(ValueError, match="ts must be > 0"):
        diffedu.score_error_profile(fn, MIX_2D, [1.0, 0.0], x, 0.1)
    with pytest.raises(ValueError, match="ts must be a non-empty 1-D"):
        diffedu.score_error_profile(fn, MIX_2D, [[1.0, 0.5]], x, 0.1)
    with pytest.raises(ValueError, match="ts"):
        diffedu.score_error_profile(fn, MIX_2D, [1.0, float("nan")], x, 0.1)
    with pytest.raises(ValueError, match="points must hold one batch per time"):
        diffedu.score_error_profile(fn, MIX_2D, ts, x[:1], 0.1)
    with pytest.raises(TypeError, match="points"):
        diffedu.score_error_profile(fn, MIX_2D, ts, 3.0, 0.1)
    with pytest.raises(ValueError, match=r"points\[1\]"):
        diffedu.score_error_profile(fn, MIX_2D, ts, [x[0], torch.zeros(5)], 0.1)
    with pytest.raises(ValueError, match=r"points\[0\]"):
        diffedu.score_error_profile(fn, MIX_2D, ts, [torch.full((5, 2), float("inf")), x[1]], 0.1)
    with pytest.raises(ValueError, match="delta"):
        diffedu.score_error_profile(fn, MIX_2D, ts, x, 1.0)
    with pytest.raises(TypeError, match="scaled"):
        diffedu.score_error_profile(fn, MIX_2D, ts, x, 0.1, scaled=1)


def test_score_error_profile_weights_equal_repeated_points():
    """Weights act as multiplicities: a point of weight 2/n equals that point listed twice, so
    a weighted batch and its unweighted expansion give the same L2 and D^delta, and uniform
    weights give the unweighted values."""
    g = torch.Generator().manual_seed(3)
    ts = [1.0, 0.3]
    base = [torch.randn(6, 2, generator=g, dtype=torch.float64) for _ in ts]
    counts = torch.tensor([1, 3, 1, 2, 1, 4])  # multiplicities, 12 points in all

    def score_hat(x, t):
        return MIX_2D.score(x, t) + torch.tanh(x) * (1.0 + t)

    expanded = [x.repeat_interleave(counts, dim=0) for x in base]
    weights = [counts.double() / counts.sum()] * len(ts)
    for delta in (0.05, 0.2, 0.4):
        l2_w, dd_w = diffedu.score_error_profile(
            score_hat, MIX_2D, ts, base, delta, weights=weights
        )
        l2_e, dd_e = diffedu.score_error_profile(score_hat, MIX_2D, ts, expanded, delta)
        np.testing.assert_allclose(l2_w, l2_e, rtol=1e-12)
        np.testing.assert_array_equal(dd_w, dd_e)
    uniform = [torch.full((6,), 1 / 6, dtype=torch.float64)] * len(ts)
    plain = diffedu.score_error_profile(score_hat, MIX_2D, ts, base, 0.2)
    weighted = diffedu.score_error_profile(score_hat, MIX_2D, ts, base, 0.2, weights=uniform)
    np.testing.assert_allclose(weighted[0], plain[0], rtol=1e-12)
    np.testing.assert_array_equal(weighted[1], plain[1])


def test_score_error_profile_rejects_bad_weights():
    """Weights of the wrong shape, negative, or not summing to 1 raise errors naming them."""
    x = [torch.zeros(4, 2)] * 2
    ts = [1.0, 0.5]
    fn = MIX_2D.score
    good = torch.full((4,), 0.25)
    with pytest.raises(ValueError, match="weights must be None or hold one batch per time"):
        diffedu.score_error_profile(fn, MIX_2D, ts, x, 0.1, weights=[good])
    with pytest.raises(ValueError, match=r"weights\[1\] must have shape \(4,\)"):
        diffedu.score_error_profile(fn, MIX_2D, ts, x, 0.1, weights=[good, good[:3]])
    with pytest.raises(ValueError, match=r"weights\[0\] must be >= 0 and sum to 1"):
        diffedu.score_error_profile(fn, MIX_2D, ts, x, 0.1, weights=[good * 2, good])
    with pytest.raises(ValueError, match=r"weights\[0\] must be >= 0 and sum to 1"):
        bad = torch.tensor([0.5, 0.75, -0.25, 0.0])
        diffedu.score_error_profile(fn, MIX_2D, ts, x, 0.1, weights=[bad, good])
