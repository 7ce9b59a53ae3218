"""Tests for diffedu.quantile: D^delta's confidence interval, exact 1-D value, perturbations."""

import math

import pytest
import torch

import diffedu

MIX = diffedu.GaussianMixture([0.3, 0.7], [-2.0, 1.0], [0.25, 0.5])


def test_ci_covers_the_true_quantile_at_the_nominal_rate():
    """The order-statistic interval covers the (1 - delta)-quantile of |N(0,1)| in ~95% of runs."""
    g = torch.Generator().manual_seed(0)
    delta, n, reps = 0.1, 400, 400
    truth = math.sqrt(2.0) * torch.special.erfinv(torch.tensor(1.0 - delta, dtype=torch.float64))
    covered = 0
    for _ in range(reps):
        err = torch.randn(n, 1, generator=g, dtype=torch.float64)
        estimate, lower, upper = diffedu.quantile_score_error_ci(err, torch.zeros_like(err), delta)
        assert lower <= estimate <= upper
        covered += lower <= float(truth) <= upper
    # Coverage is at least 0.95 by construction; 4 binomial standard errors of 0.95 at 400 reps.
    assert covered / reps >= 0.95 - 4 * math.sqrt(0.95 * 0.05 / reps)


def test_ci_upper_end_is_infinite_when_n_is_too_small():
    """With n * delta far below 1 the data cannot bound the quantile from above."""
    err = torch.linspace(0.0, 1.0, 20, dtype=torch.float64)[:, None]
    _, _, upper = diffedu.quantile_score_error_ci(err, torch.zeros_like(err), 0.001)
    assert upper == math.inf


def test_exact_matches_analytic_constant_error_on_an_interval():
    """Error c on a set of mass p has D^delta = c if p > delta and 0 if p < delta."""
    t, c = 0.3, 5.0
    for mass, delta, expected in ((0.05, 0.01, c), (0.005, 0.01, 0.0), (0.2, 0.1, c)):
        region = diffedu.interval_with_mass(MIX, t, mass, start=0.4)
        score_hat = diffedu.perturb_score(MIX.score, region, c)
        value = diffedu.quantile_score_error_1d_exact(score_hat, MIX.score, delta, MIX, t)
        assert value == pytest.approx(expected, abs=1e-12)


def test_exact_matches_monte_carlo():
    """Quadrature D^delta of a smooth error equals the Monte Carlo value within its CI."""
    g = torch.Generator().manual_seed(1)
    t, delta = 0.1, 0.05

    def score_hat(x, t):
        return MIX.score(x, t) + torch.sin(3.0 * x)

    exact = diffedu.quantile_score_error_1d_exact(score_hat, MIX.score, delta, MIX, t)
    x = MIX.sample(200_000, t, generator=g)
    estimate, lower, upper = diffedu.quantile_score_error_ci(
        score_hat(x, t), MIX.score(x, t), delta, level=0.999
    )
    assert lower <= exact <= upper, (exact, estimate, lower, upper)


def test_perturbation_mass_and_l2_error_by_quadrature():
    """The region has q_t-mass `mass`, and the L2 error is size^2 * mass by quadrature."""
    t, mass, size = 0.05, 0.02, 7.0
    region = diffedu.interval_with_mass(MIX, t, mass, start=0.5)
    measured = MIX.cdf(torch.tensor([region.hi], dtype=torch.float64), t) - MIX.cdf(
        torch.tensor([region.lo], dtype=torch.float64), t
    )
    assert float(measured[0]) == pytest.approx(mass, abs=1e-10)
    score_hat = diffedu.perturb_score(MIX.score, region, size)
    x = torch.linspace(region.lo - 1.0, region.hi + 1.0, 400_001, dtype=torch.float64)[:, None]
    sq = (score_hat(x, t) - MIX.score(x, t))[:, 0] ** 2
    density = MIX.log_prob(x, t).exp()
    l2 = float(torch.trapezoid(sq * density, x[:, 0]))
    # The indicator's jumps cost one grid step h times the density at each end.
    assert l2 == pytest.approx(size**2 * mass, rel=1e-3)


def test_upper_tail_interval_and_ball_region():
    """The default interval is the upper tail; a Ball perturbs exactly the points inside it."""
    region = diffedu.interval_with_mass(MIX, 0.2, 0.01)
    assert region.hi == math.inf
    assert float(MIX.cdf(torch.tensor([region.lo], dtype=torch.float64), 0.2)[0]) == pytest.approx(
        0.99, abs=1e-10
    )
    ball = diffedu.Ball(torch.zeros(2), 1.0)
    score_hat = diffedu.perturb_score(lambda x, t: -x, lambda t: ball, lambda t: 2.0 / t)
    x = torch.tensor([[0.5, 0.0], [2.0, 0.0]], dtype=torch.float64)
    err = torch.linalg.vector_norm(score_hat(x, 0.5) + x, dim=-1)
    assert torch.allclose(err, torch.tensor([4.0, 0.0], dtype=torch.float64))


def test_bad_input_of_the_other_functions():
    """Bad delta, level, mass, start, size and region raise errors that name them."""
    s = torch.zeros(5, 1)
    with pytest.raises(ValueError, match="level"):
        diffedu.quantile_score_error_ci(s, s, 0.1, level=1.0)
    with pytest.raises(ValueError, match="delta"):
        diffedu.quantile_score_error_1d_exact(MIX.score, MIX.score, 1.0, MIX, 0.1)
    with pytest.raises(ValueError, match="mass"):
        diffedu.interval_with_mass(MIX, 0.1, 0.0)
    with pytest.raises(ValueError, match="start"):
        diffedu.interval_with_mass(MIX, 0.1, 0.5, start=0.9)
    with pytest.raises(ValueError, match="size"):
        diffedu.perturb_score(MIX.score, diffedu.Interval(0.0, 1.0), -1.0)
    with pytest.raises(TypeError, match="region"):
        diffedu.perturb_score(MIX.score, (0.0, 1.0), 1.0)
