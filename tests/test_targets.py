"""Tests for diffedu.targets.GaussianMixture: noised marginals q_t, densities and scores."""

import math

import mpmath
import numpy as np
import pytest
import scipy.stats
import torch
from scipy.special import logsumexp

import diffedu

TIMES = [0.0, 1e-3, 0.1, 1.0, 3.0]


def _random_mixture(d: int, K: int, isotropic: bool, g: torch.Generator) -> diffedu.GaussianMixture:
    """Random weights, means in [-3, 3]^d and covariances A A^T + 0.05 I (or variances)."""
    weights = torch.rand(K, generator=g, dtype=torch.float64) + 0.1
    weights = weights / weights.sum()
    means = 6 * torch.rand(K, d, generator=g, dtype=torch.float64) - 3
    if isotropic:
        covs = 0.05 + torch.rand(K, generator=g, dtype=torch.float64)
    else:
        A = torch.randn(K, d, d, generator=g, dtype=torch.float64)
        covs = A @ A.transpose(-1, -2) / d + 0.05 * torch.eye(d, dtype=torch.float64)
    return diffedu.GaussianMixture(weights, means, covs)


def _ou_params(mean, cov, t):
    """Mean e^{-t} mu and covariance e^{-2t} Sigma + (1 - e^{-2t}) I of q_t, in numpy float64."""
    mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
    return np.exp(-t) * mean, np.exp(-2 * t) * cov - np.expm1(-2 * t) * np.eye(len(mean))


# ----- score = grad log q_t ----------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("isotropic", [False, True])
@pytest.mark.parametrize("t", TIMES)
def test_score_equals_autograd_of_log_prob(d, isotropic, t):
    """score(x, t) equals the autograd gradient of log_prob(x, t) for random mixtures."""
    g = torch.Generator().manual_seed(100 * d + int(isotropic))
    mix = _random_mixture(d, K=3, isotropic=isotropic, g=g)
    # Typical points of q_t plus points far out in the tails (still finite densities).
    x = torch.cat([mix.sample(64, t, generator=g), 8 * torch.randn(16, d, generator=g)])
    x = x.clone().requires_grad_(True)
    mix.log_prob(x, t).sum().backward()
    score = mix.score(x.detach(), t)
    assert score.shape == (80, d) and score.dtype == torch.float64
    torch.testing.assert_close(score, x.grad, rtol=1e-9, atol=1e-9)


# ----- the analytic OU marginal of one Gaussian --------------------------------------------


@pytest.mark.parametrize("t", [0.0, 1e-3, 0.3, 2.0])
def test_noised_single_gaussian_parameters(t):
    """noised(t) of N(mu, Sigma) is N(e^{-t} mu, e^{-2t} Sigma + (1 - e^{-2t}) I)."""
    mu = [1.5, -0.5]
    cov = [[2.0, 0.6], [0.6, 0.5]]
    q_t = diffedu.GaussianMixture([1.0], [mu], [cov]).noised(t)
    mean_t, cov_t = _ou_params(mu, cov, t)
    assert isinstance(q_t, diffedu.GaussianMixture)
    np.testing.assert_allclose(q_t.means.numpy()[0], mean_t, rtol=1e-14, atol=0)
    np.testing.assert_allclose(q_t.covs.numpy()[0], cov_t, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(q_t.weights.numpy(), [1.0])


@pytest.mark.parametrize("t", [0.0, 1e-3, 0.3, 2.0])
def test_log_prob_single_gaussian_matches_scipy(t):
    """log_prob(x, t) of one Gaussian equals scipy's multivariate normal logpdf of q_t."""
    g = torch.Generator().manual_seed(1)
    mu = [1.5, -0.5, 0.0]
    cov = [[2.0, 0.6, 0.1], [0.6, 0.5, 0.0], [0.1, 0.0, 0.3]]
    mix = diffedu.GaussianMixture([1.0], [mu], [cov])
    x = 2 * torch.randn(50, 3, generator=g, dtype=torch.float64)
    mean_t, cov_t = _ou_params(mu, cov, t)
    expected = scipy.stats.multivariate_normal(mean_t, cov_t).logpdf(x.numpy())
    np.testing.assert_allclose(mix.log_prob(x, t).numpy(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("t", [0.0, 0.05, 1.0])
def test_sample_single_gaussian_moments(t):
    """sample(n, t) of one Gaussian has the OU mean and covariance within 5 standard errors."""
    g = torch.Generator().manual_seed(2)
    n = 100_000
    mu = [1.5, -0.5]
    cov = [[2.0, 0.6], [0.6, 0.5]]
    x = diffedu.GaussianMixture([1.0], [mu], [cov]).sample(n, t, generator=g).numpy()
    mean_t, cov_t = _ou_params(mu, cov, t)
    # Sample mean: standard error sqrt(Sigma_ii / n).
    se_mean = np.sqrt(np.diag(cov_t) / n)
    assert np.all(np.abs(x.mean(0) - mean_t) < 5 * se_mean)
    # Sample covariance of a Gaussian: Var(S_ij) = (Sigma_ii Sigma_jj + Sigma_ij^2) / n.
    se_cov = np.sqrt((np.outer(np.diag(cov_t), np.diag(cov_t)) + cov_t**2) / n)
    assert np.all(np.abs(np.cov(x.T) - cov_t) < 5 * se_cov)


# ----- mixtures: independent implementation and structure ----------------------------------


@pytest.mark.parametrize("t", [0.0, 1e-3, 0.5])
def test_mixture_log_prob_and_score_match_scipy(t):
    """A full-covariance 2-D mixture: log_prob and score equal a numpy/scipy implementation."""
    g = torch.Generator().manual_seed(3)
    mix = _random_mixture(2, K=4, isotropic=False, g=g)
    x = mix.sample(40, t, generator=g).numpy()
    log_comp, comp_scores = [], []
    for w, mu, cov in zip(mix.weights.numpy(), mix.means.numpy(), mix.covs.numpy(), strict=True):
        mean_t, cov_t = _ou_params(mu, cov, t)
        log_comp.append(np.log(w) + scipy.stats.multivariate_normal(mean_t, cov_t).logpdf(x))
        comp_scores.append(np.linalg.solve(cov_t, (mean_t - x).T).T)
    log_comp = np.stack(log_comp, 1)  # (n, K)
    log_q = logsumexp(log_comp, axis=1)
    resp = np.exp(log_comp - log_q[:, None])
    score = (resp[..., None] * np.stack(comp_scores, 1)).sum(1)
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(mix.log_prob(xt, t).numpy(), log_q, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(mix.score(xt, t).numpy(), score, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(mix.responsibilities(xt, t).numpy(), resp, rtol=1e-9, atol=1e-12)


def test_noised_is_a_semigroup():
    """noised(s).noised(t) equals noised(s + t): the OU process is Markov with these marginals."""
    g = torch.Generator().manual_seed(4)
    mix = _random_mixture(3, K=2, isotropic=False, g=g)
    a, b = mix.noised(0.3).noised(0.45), mix.noised(0.75)
    torch.testing.assert_close(a.means, b.means, rtol=1e-13, atol=1e-15)
    torch.testing.assert_close(a.covs, b.covs, rtol=1e-13, atol=1e-15)
    # And the noised mixture at time 0 is the original mixture at time t.
    x = mix.sample(20, 0.75, generator=g)
    torch.testing.assert_close(b.log_prob(x), mix.log_prob(x, 0.75), rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(b.score(x), mix.score(x, 0.75), rtol=1e-12, atol=1e-12)


def test_q_t_tends_to_standard_normal():
    """For large t, q_t approaches N(0, I): log_prob and score tend to those of N(0, I)."""
    g = torch.Generator().manual_seed(5)
    mix = _random_mixture(2, K=3, isotropic=False, g=g)
    x = torch.randn(30, 2, generator=g, dtype=torch.float64)
    # At t = 30 the parameters differ from N(0, I) by O(e^{-30}) ~ 1e-13.
    torch.testing.assert_close(mix.score(x, 30.0), -x, rtol=0, atol=1e-11)
    log_n01 = -0.5 * (x**2).sum(1) - math.log(2 * math.pi)
    torch.testing.assert_close(mix.log_prob(x, 30.0), log_n01, rtol=0, atol=1e-11)


def test_sample_mixture_mean_and_second_moment():
    """sample() has mean sum_k w_k mu_k and second moment sum_k w_k(|mu_k|^2 + tr Sigma_k)."""
    g = torch.Generator().manual_seed(6)
    mix = _random_mixture(2, K=3, isotropic=False, g=g)
    w, mu, cov = mix.weights.numpy(), mix.means.numpy(), mix.covs.numpy()
    m2 = float((w * ((mu**2).sum(1) + np.trace(cov, axis1=1, axis2=2))).sum())
    assert mix.second_moment() == pytest.approx(m2, rel=1e-14)
    n = 200_000
    x = mix.sample(n, generator=g).numpy()
    sq = (x**2).sum(1)
    # 5 standard errors of the sample means, the standard deviation estimated from the sample.
    assert abs(sq.mean() - m2) < 5 * sq.std() / math.sqrt(n)
    mean = (w[:, None] * mu).sum(0)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * x.std(0) / math.sqrt(n))


# ----- far-apart modes: log-space stability --------------------------------------------------


def _mp_reference(x: float, t: float, weights, means, variances):
    """log q_t(x) and s_t(x) of a 1-D mixture in 50-digit arithmetic (mpmath)."""
    with mpmath.workdps(50):
        x, t = mpmath.mpf(x), mpmath.mpf(t)
        alpha = mpmath.exp(-t)
        sigma2 = -mpmath.expm1(-2 * t)
        dens, grad = [], []
        for w, m, v in zip(weights, means, variances, strict=True):
            m_t, v_t = alpha * mpmath.mpf(m), alpha**2 * mpmath.mpf(v) + sigma2
            p = (
                mpmath.mpf(w)
                * mpmath.exp(-((x - m_t) ** 2) / (2 * v_t))
                / mpmath.sqrt(2 * mpmath.pi * v_t)
            )
            dens.append(p)
            grad.append(p * (m_t - x) / v_t)
        q = mpmath.fsum(dens)
        return float(mpmath.log(q)), float(mpmath.fsum(grad) / q)


@pytest.mark.parametrize("t", [0.0, 1e-4, 1e-3, 0.1])
def test_far_modes_finite_and_match_log_space_reference(t):
    """Weights [1-1e-3, 1e-3], means 0 and 1e4: log_prob and score are finite and exact."""
    weights, means, variances = [1 - 1e-3, 1e-3], [0.0, 1e4], [1.0, 1.0]
    mix = diffedu.GaussianMixture(weights, means, variances)
    far = 1e4 * math.exp(-t)
    points = [-0.7, 0.5, 2.0, 5000.0, 4999.0, far - 1.3, far + 0.3, far + 2.5]
    x = torch.tensor(points, dtype=torch.float64)[:, None]
    log_q, score = mix.log_prob(x, t), mix.score(x, t)[:, 0]
    assert bool(torch.isfinite(log_q).all()) and bool(torch.isfinite(score).all())
    for i, xi in enumerate(points):
        ref_log_q, ref_score = _mp_reference(xi, t, weights, means, variances)
        assert float(log_q[i]) == pytest.approx(ref_log_q, rel=1e-10), xi
        assert float(score[i]) == pytest.approx(ref_score, rel=1e-10), xi
    resp = mix.responsibilities(x, t)
    assert bool(torch.isfinite(resp).all())
    torch.testing.assert_close(resp.sum(1), torch.ones(len(points), dtype=torch.float64))


# ----- 1-D helpers: cdf and icdf -------------------------------------------------------------


@pytest.mark.parametrize("t", [0.0, 0.2])
def test_cdf_matches_scipy_and_icdf_inverts_it(t):
    """cdf of a 1-D mixture equals the weighted scipy normal cdfs, and icdf(cdf(x)) = x."""
    g = torch.Generator().manual_seed(7)
    weights, means, variances = [0.3, 0.7], [-2.0, 1.5], [0.25, 0.5]
    mix = diffedu.GaussianMixture(weights, means, variances)
    x = 3 * torch.randn(200, generator=g, dtype=torch.float64)
    expected = 0.0
    for w, m, v in zip(weights, means, variances, strict=True):
        mean_t, var_t = _ou_params([m], [[v]], t)
        expected += w * scipy.stats.norm.cdf(x.numpy(), mean_t[0], math.sqrt(var_t[0, 0]))
    np.testing.assert_allclose(mix.cdf(x, t).numpy(), expected, rtol=1e-12, atol=1e-15)
    u = mix.cdf(x, t)
    # Away from the tails, where x = F^{-1}(u) is well conditioned (dx = du / q_t(x)).
    inside = (u > 1e-6) & (u < 1 - 1e-6)
    torch.testing.assert_close(mix.icdf(u[inside], t), x[inside], rtol=0, atol=1e-9)


# ----- bad input -----------------------------------------------------------------------------


def test_constructor_rejects_bad_parameters():
    """The constructor rejects bad weights, means and covariances, naming the argument."""
    with pytest.raises(ValueError, match="weights"):
        diffedu.GaussianMixture([1.2, -0.2], [0.0, 1.0], [1.0, 1.0])  # negative weight
    with pytest.raises(ValueError, match="weights"):
        diffedu.GaussianMixture([0.5, 0.6], [0.0, 1.0], [1.0, 1.0])  # sum 1.1
    with pytest.raises(ValueError, match="weights"):
        diffedu.GaussianMixture([float("nan"), 1.0], [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="weights"):
        diffedu.GaussianMixture([[1.0]], [0.0], [1.0])  # weights not of shape (K,)
    with pytest.raises(ValueError, match="means"):
        diffedu.GaussianMixture([0.5, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0])  # 3 means, 2 weights
    with pytest.raises(ValueError, match="means"):
        diffedu.GaussianMixture([0.5, 0.5], [0.0, float("inf")], [1.0, 1.0])
    with pytest.raises(ValueError, match="covs"):
        diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 2.0], [2.0, 1.0]]])  # not PD
    with pytest.raises(ValueError, match="covs"):
        diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 0.5], [0.0, 1.0]]])  # not symmetric
    with pytest.raises(ValueError, match="covs"):
        diffedu.GaussianMixture([0.5, 0.5], [0.0, 1.0], [1.0, 0.0])  # zero variance
    with pytest.raises(ValueError, match="covs"):
        diffedu.GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], torch.ones(2, 3, 3))
    with pytest.raises(TypeError, match="weights"):
        diffedu.GaussianMixture("0.5, 0.5", [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="means"):
        diffedu.GaussianMixture([1.0], None, [1.0])


@pytest.mark.parametrize("method", ["log_prob", "score", "responsibilities"])
def test_methods_reject_bad_points_and_times(method):
    """log_prob, score and responsibilities reject a wrong x shape, NaN x and bad t."""
    mix = diffedu.GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [1.0, 2.0])
    fn = getattr(mix, method)
    with pytest.raises(ValueError, match="x must"):
        fn(torch.zeros(5, 3))  # d = 3 for a 2-D mixture
    with pytest.raises(ValueError, match="x must"):
        fn(torch.zeros(5))
    with pytest.raises(ValueError, match="x must"):
        fn(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="x must"):
        fn(torch.tensor([[0.0, float("inf")]]))
    with pytest.raises(TypeError, match="x must"):
        fn("x")
    x = torch.zeros(5, 2)
    with pytest.raises(ValueError, match="t must"):
        fn(x, -0.1)
    with pytest.raises(ValueError, match="t must"):
        fn(x, float("nan"))
    with pytest.raises(TypeError, match="t must"):
        fn(x, "0.1")


def test_sample_noised_and_1d_helpers_reject_bad_input():
    """sample, noised, cdf and icdf reject bad n, t, u and dimension, naming the argument."""
    mix = diffedu.GaussianMixture([0.5, 0.5], [0.0, 1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="n must"):
        mix.sample(0)
    with pytest.raises(TypeError, match="n must"):
        mix.sample(10.5)
    with pytest.raises(ValueError, match="t must"):
        mix.sample(10, -1.0)
    with pytest.raises(ValueError, match="t must"):
        mix.noised(-1e-3)
    with pytest.raises(ValueError, match="t must"):
        mix.noised(float("nan"))
    with pytest.raises(ValueError, match="u must"):
        mix.icdf(torch.tensor([0.0, 0.5]))
    with pytest.raises(ValueError, match="u must"):
        mix.icdf(torch.tensor([0.5, 1.0]))
    with pytest.raises(ValueError, match="x must"):
        mix.cdf(torch.tensor([0.0, float("nan")]))
    mix_2d = diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [1.0])
    with pytest.raises(ValueError, match="cdf"):
        mix_2d.cdf(torch.zeros(3))
    with pytest.raises(ValueError, match="components_1d"):
        mix_2d.components_1d()


def test_parameters_are_read_only_and_the_cache_cannot_go_stale():
    """Assigning a parameter raises; editing a returned copy changes neither q_t nor the score."""
    mix = diffedu.GaussianMixture([0.5, 0.5], [[-1.0], [2.0]], [0.5, 1.0])
    x = torch.linspace(-3.0, 3.0, 7, dtype=torch.float64)[:, None]
    before = mix.score(x, 0.3)  # fills the cache of q_0.3
    for name in ("weights", "means", "covs", "dim", "n_components"):
        with pytest.raises(AttributeError):
            setattr(mix, name, getattr(mix, name))
    mix.means.mul_(10.0)  # a copy: the mixture keeps its means
    mix.covs.add_(5.0)
    mix.weights.zero_()
    assert mix.means[:, 0].tolist() == [-1.0, 2.0]
    torch.testing.assert_close(mix.score(x, 0.3), before, rtol=0, atol=0)
    fresh = diffedu.GaussianMixture([0.5, 0.5], [[-1.0], [2.0]], [0.5, 1.0])
    torch.testing.assert_close(fresh.score(x, 0.3), before, rtol=0, atol=0)


@pytest.mark.parametrize("t", TIMES)
def test_components_1d_are_the_noised_parameters(t):
    """components_1d(t) is (w_k, e^{-t} mu_k, sqrt(e^{-2t} v_k + sigma_t^2)) for each k."""
    mix = diffedu.GaussianMixture([0.2, 0.8], [-1.5, 2.0], [0.25, 4.0])
    w, mu, s = mix.components_1d(t)
    for k, (w_k, mu_k, v_k) in enumerate([(0.2, -1.5, 0.25), (0.8, 2.0, 4.0)]):
        assert float(w[k]) == pytest.approx(w_k, rel=1e-14)
        assert float(mu[k]) == pytest.approx(math.exp(-t) * mu_k, rel=1e-14)
        variance = math.exp(-2 * t) * v_k - math.expm1(-2 * t)
        assert float(s[k]) == pytest.approx(math.sqrt(variance), rel=1e-14)
