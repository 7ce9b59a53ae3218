"""Tests for diffedu.centred: the noise of the centred loss and the ERM's error in closed form."""

import math

import pytest
import torch
from scipy import integrate
from scipy.stats import norm

import diffedu
from diffedu.centred import (
    centred_noise,
    conditional_noise_covariance,
    conditional_scale_bound,
    erm_failure_probability,
    erm_samples_needed,
)

VALLEY = diffedu.GaussianMixture([0.5, 0.5], [-1.0, 1.0], [0.02**2, 0.02**2])
MIX_2D = diffedu.GaussianMixture(
    [0.3, 0.7], [[-1.0, 0.5], [1.0, 0.0]], [[[0.3, 0.1], [0.1, 0.2]], [[0.5, -0.2], [-0.2, 0.4]]]
)


def _pairs(target, t, n, g):
    """n training pairs (x_t, z) of Algorithm 1's step 1."""
    sigma_t = float(diffedu.ou_sigma(t))
    z = sigma_t * torch.randn(n, target.dim, generator=g, dtype=torch.float64)
    return math.exp(-t) * target.sample(n, generator=g) + z, z


def test_covariance_is_identity_plus_sigma_squared_hessian():
    """Second-order Tweedie: the covariance equals I + sigma_t^2 times the autograd Hessian."""
    t = 0.2
    x = torch.tensor([[-1.0, 0.3], [0.0, 0.0], [0.7, -0.4]], dtype=torch.float64)
    hessian = torch.stack(
        [torch.autograd.functional.hessian(lambda p: MIX_2D.log_prob(p[None], t)[0], p) for p in x]
    )
    expected = torch.eye(2, dtype=torch.float64) + float(diffedu.ou_sigma(t)) ** 2 * hessian
    assert torch.allclose(conditional_noise_covariance(MIX_2D, x, t), expected, atol=1e-10)


def test_covariance_of_a_gaussian_is_the_shrinkage_factor():
    """For q_0 = N(mu, v I) the covariance is e^{-2t} v / (e^{-2t} v + sigma_t^2) I everywhere."""
    t, v = 0.3, 2.0
    target = diffedu.GaussianMixture([1.0], [[1.0, -2.0, 0.5]], [v])
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a2v = math.exp(-2 * t) * v
    rho2 = a2v / (a2v + float(diffedu.ou_sigma(t)) ** 2)
    expected = rho2 * torch.eye(3, dtype=torch.float64).expand(5, 3, 3)
    assert torch.allclose(conditional_noise_covariance(target, x, t), expected, atol=1e-12)


def test_noise_has_conditional_mean_zero_and_the_tweedie_variance():
    """E[xi f(x)] = 0 and E[xi^2 1_A(x)] = E[Var(xi | x) 1_A(x)], by Monte Carlo on valley data."""
    g = torch.Generator().manual_seed(1)
    t, n = 0.1, 400_000
    x_t, z = _pairs(VALLEY, t, n, g)
    xi = centred_noise(VALLEY, t, x_t, z)
    var = conditional_noise_covariance(VALLEY, x_t, t)[:, 0, 0]
    for f in (torch.tanh(x_t[:, 0]), (x_t[:, 0].abs() < 0.3).double()):
        mean = (xi * f).mean()
        # 5 standard errors of a mean over n points.
        assert abs(float(mean)) < 5 * float((xi * f).std()) / math.sqrt(n)
    in_a = (x_t[:, 0].abs() < 0.3).double()
    gap = xi**2 * in_a - var * in_a
    assert abs(float(gap.mean())) < 5 * float(gap.std()) / math.sqrt(n)


def test_scale_bound_is_the_gaussian_tail_second_moment():
    """h(p) = E[g^2 | |g| > z_p] with z_p = Phi^{-1}(1 - p/2), by quadrature."""
    for p in (0.5, 0.05, 1e-3):
        z = norm.isf(p / 2)
        tail = 2 * integrate.quad(lambda u: u * u * norm.pdf(u), z, math.inf)[0]
        assert conditional_scale_bound(p) == pytest.approx(tail / p, rel=1e-8)


def test_scale_bound_holds_on_valley_sets_at_every_time():
    """E[xi^2 | x in A] <= h(q_t(A)) for centred and off-centre sets of several masses and times."""
    for t in (1.0, 0.1, 0.01, 0.001):
        for mass, start in ((0.05, 0.475), (0.01, 0.495), (0.2, 0.1), (0.05, 0.0)):
            cell = diffedu.cells_with_mass(VALLEY, t, [mass], start=start)[0]
            lo, hi = max(cell.lo, -3.0), min(cell.hi, 3.0)
            x = torch.linspace(lo, hi, 20_001, dtype=torch.float64)[:, None]
            density = VALLEY.log_prob(x, t).exp()
            var = conditional_noise_covariance(VALLEY, x, t)[:, 0, 0]
            second = torch.trapezoid(var * density, x[:, 0]) / torch.trapezoid(density, x[:, 0])
            assert float(second) <= conditional_scale_bound(mass), (t, mass, start)


def _failure_by_simulation(m, mass, size, rho, reps, g):
    """P[ERM wrong] for one candidate: K ~ Bin(m, p), sum of K N(0, rho^2) draws, ties at K=0."""
    k = torch.distributions.Binomial(m, torch.tensor(mass)).sample((reps,))
    sums = rho * k.sqrt() * torch.randn(reps, generator=g, dtype=torch.float64)
    gap = k * size**2 + 2 * size * sums
    coin = torch.rand(reps, generator=g, dtype=torch.float64) < 0.5
    return float(torch.where(k == 0, coin, gap < 0).double().mean())


def test_failure_probability_of_one_candidate_matches_simulation():
    """The binomial sum equals a direct simulation of the loss gap (4 binomial standard errors)."""
    g = torch.Generator().manual_seed(2)
    torch.manual_seed(2)  # torch.distributions.Binomial draws from the global generator
    reps = 200_000
    for m, mass, size, rho in ((30, 0.05, 1.0, 1.0), (200, 0.05, 0.5, 1.3), (80, 0.2, 2.0, 0.4)):
        exact = erm_failure_probability(m, mass, size, rho=rho)
        simulated = _failure_by_simulation(m, mass, size, rho, reps, g)
        assert abs(simulated - exact) < 4 * math.sqrt(exact * (1 - exact) / reps), (m, mass)


def test_failure_probability_limits():
    """m = 0: every candidate ties (J/(J+1) wrong); huge errors: only empty cells fail."""
    for n_bad in (1, 3, 10):
        assert erm_failure_probability(0, 0.1, 1.0, n_bad) == pytest.approx(n_bad / (n_bad + 1))
    m, p = 50, 0.05
    assert erm_failure_probability(m, p, 1e3) == pytest.approx(0.5 * (1 - p) ** m, rel=1e-12)
    a = (1 - p) ** m  # J = 2, huge errors: wrong unless the true score wins the tie
    right = (1 - a) ** 2 + 2 * a * (1 - a) / 2 + a**2 / 3
    assert erm_failure_probability(m, p, 1e3, n_bad=2) == pytest.approx(1 - right, rel=1e-12)


def test_failure_probability_of_many_candidates_matches_the_erm():
    """For J disjoint cells the closed form (independent counts) matches Algorithm 1's ERM."""
    g = torch.Generator().manual_seed(3)
    target, t, trials = diffedu.GaussianMixture([1.0], [[0.0]], [400.0]), 0.01, 20_000
    mass, n_bad, m = 0.02, 4, 400
    cells = diffedu.cells_with_mass(target, t, [mass] * n_bad, start=0.3)
    stats = diffedu.cell_statistics(target, t, cells, [m], trials, generator=g)
    offsets = torch.cat([torch.zeros(1, n_bad), torch.eye(n_bad)]).double()
    rate = float((diffedu.finite_class_erm(offsets, stats, generator=g) > 0).double().mean())
    a2 = math.exp(-2 * t) * 400.0
    rho = math.sqrt(a2 / (a2 + float(diffedu.ou_sigma(t)) ** 2))
    exact = erm_failure_probability(m, mass, 1.0, n_bad=n_bad, rho=rho)
    # 4 binomial standard errors, plus 0.005 for the neglected multinomial dependence (J p = 0.08).
    assert abs(rate - exact) < 4 * math.sqrt(exact * (1 - exact) / trials) + 0.005


def test_samples_needed_is_the_first_sufficient_m():
    """The returned m reaches delta_train and m - 1 does not."""
    for mass, size, delta, n_bad in (
        (0.05, 1.0, 0.05, 1),
        (0.02, 0.7, 0.01, 3),
        (0.1, 5.0, 0.1, 1),
    ):
        m = erm_samples_needed(mass, size, delta, n_bad=n_bad)
        assert erm_failure_probability(m, mass, size, n_bad) <= delta
        assert erm_failure_probability(m - 1, mass, size, n_bad) > delta


def test_bad_input():
    x = torch.zeros(3, 1, dtype=torch.float64)
    with pytest.raises(TypeError, match="target"):
        centred_noise("q", 0.1, x, x)
    with pytest.raises(ValueError, match="x_t and z"):
        centred_noise(VALLEY, 0.1, x, torch.zeros(2, 1))
    with pytest.raises(ValueError, match="t must be > 0"):
        conditional_noise_covariance(VALLEY, x, 0.0)
    with pytest.raises(ValueError, match="direction"):
        centred_noise(VALLEY, 0.1, x, x, direction=[0.0])
    with pytest.raises(ValueError, match="mass"):
        conditional_scale_bound(1.5)
    with pytest.raises(ValueError, match="size and rho"):
        erm_failure_probability(10, 0.1, -1.0)
    with pytest.raises(ValueError, match="delta_train"):
        erm_samples_needed(0.1, 1.0, 0.6)
