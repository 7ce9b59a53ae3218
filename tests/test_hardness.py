"""Tests for diffedu.hardness: the Lemma 4.1 pair and the Lemma 4.2 mixture."""

import math

import pytest
import scipy.special
import torch

from diffedu import Lemma41Pair, Lemma42Mixture

# ----- Lemma 4.1 ----------------------------------------------------------------------------


def test_lemma41_eps_sets_eta():
    """eps gives eta = eps^2 sigma^2 / R^2, and the mixtures are mirror images."""
    pair = Lemma41Pair(R=20.0, sigma=0.5, eps=2.0)
    assert pair.eta == pytest.approx(2.0**2 * 0.5**2 / 20.0**2, rel=1e-14)
    assert pair.eps == 2.0
    x = torch.linspace(-30, 30, 61, dtype=torch.float64)[:, None]
    assert torch.allclose(pair.p1.log_prob(x), pair.p2.log_prob(-x), rtol=1e-12, atol=1e-12)


def test_lemma41_l2_gap_asymptotic():
    """For R >> sigma the squared L2 gap is eta R^2 / sigma^4 (= eps^2 / sigma^2)."""
    for sigma, eps in ((1.0, 1.0), (0.05, 0.3)):
        pair = Lemma41Pair(R=20.0 * sigma, sigma=sigma, eps=eps)
        assert pair.l2_gap() == pytest.approx(pair.eta * pair.R**2 / sigma**4, rel=1e-6)
        assert pair.l2_gap() == pytest.approx(eps**2 / sigma**2, rel=1e-6)


def test_lemma41_l2_gap_quadrature_matches_monte_carlo():
    """At R = 3 sigma (far from the asymptote) quadrature agrees with Monte Carlo of the scores."""
    g = torch.Generator().manual_seed(1)
    pair = Lemma41Pair(R=3.0, eta=0.05)
    x = pair.p1.sample(400_000, generator=g)
    sq = ((pair.p1.score(x) - pair.p2.score(x)) ** 2)[:, 0]
    # 5 standard errors of the Monte Carlo mean.
    tol = 5 * float(sq.std()) / math.sqrt(sq.numel())
    assert abs(pair.l2_gap() - float(sq.mean())) < tol
    assert abs(pair.l2_gap() - pair.eta * pair.R**2) > 5 * tol  # the asymptote is off here


def test_lemma41_log_score_gap_matches_mixture_scores():
    """exp(log_score_gap) equals |s1 - s2| computed from the two GaussianMixture scores."""
    pair = Lemma41Pair(R=4.0, eta=0.1)
    x = torch.linspace(-8, 8, 161, dtype=torch.float64)[:, None]
    gap = (pair.p1.score(x) - pair.p2.score(x)).abs()[:, 0]
    assert torch.allclose(pair.log_score_gap(x[:, 0]).exp(), gap, rtol=1e-10, atol=1e-12)


def test_lemma41_tv_closed_form_and_asymptote():
    """TV = eta erf(R / (sigma sqrt 2)) matches quadrature of |p1 - p2| / 2; it is eta if R >> 1."""
    pair = Lemma41Pair(R=2.0, eta=0.2)
    x = torch.linspace(-14, 14, 56_001, dtype=torch.float64)[:, None]
    diff = (pair.p1.log_prob(x).exp() - pair.p2.log_prob(x).exp()).abs()
    assert pair.tv_distance() == pytest.approx(0.5 * float(torch.trapezoid(diff, x[:, 0])), 1e-8)
    assert Lemma41Pair(R=50.0, eta=1e-3).tv_distance() == pytest.approx(1e-3, rel=1e-12)


def test_lemma41_hellinger_matches_bhattacharyya_quadrature():
    """hellinger_squared equals 1 - integral sqrt(p1 p2) by an independent trapezoid rule."""
    pair = Lemma41Pair(R=2.0, eta=0.2)
    x = torch.linspace(-16, 16, 64_001, dtype=torch.float64)[:, None]
    root = (0.5 * (pair.p1.log_prob(x) + pair.p2.log_prob(x))).exp()
    assert pair.hellinger_squared() == pytest.approx(
        1 - float(torch.trapezoid(root, x[:, 0])), 1e-7
    )


def test_lemma41_sample_bounds_bracket_one_over_eta():
    """The bounds on the samples needed bracket each other and equal log 2 / eta for R >> sigma."""
    for R in (3.0, 30.0):
        pair = Lemma41Pair(R=R, eta=1e-3)
        lower, upper = pair.samples_to_distinguish(0.5)
        # H^2 <= TV and lower <= upper, up to rounding: they coincide when R >> sigma.
        assert 0.0 < pair.hellinger_squared() <= pair.tv_distance() * (1 + 1e-12)
        assert lower <= upper * (1 + 1e-12)
    assert lower == pytest.approx(math.log(2) / 1e-3, rel=1e-3)
    assert upper == pytest.approx(math.log(2) / 1e-3, rel=1e-3)


def test_lemma41_quantile_gap():
    """D^delta of the wrong score: R / sigma^2 for delta < eta, about e^{-R^2/2} for delta > eta."""
    pair = Lemma41Pair(R=100.0, eta=1e-3)
    assert math.exp(pair.log_quantile_gap(5e-4)) == pytest.approx(100.0, rel=1e-6)
    # Bulk quantile: |x| = c with 2 (1 - eta) Phibar(c) = delta - eta; there the gap is
    # (R / sigma^2) (eta / (1 - eta)) e^{-R^2/2} e^{R c} to first order.
    c = -float(scipy.special.ndtri((0.01 - 1e-3) / (2 * (1 - 1e-3))))
    expected = math.log(100.0) + math.log(1e-3 / (1 - 1e-3)) - 100.0**2 / 2 + 100.0 * c
    assert pair.log_quantile_gap(0.01) == pytest.approx(expected, abs=0.5)  # grid: R h = 1/8


def test_lemma41_training_pairs():
    """Training pairs satisfy x = y + z with y in {0, -R}, and the far fraction is about eta."""
    g = torch.Generator().manual_seed(2)
    pair = Lemma41Pair(R=50.0, sigma=0.5, eta=0.02)
    x_t, z, far = pair.training_pairs(200, 500, generator=g)
    assert x_t.shape == z.shape == (200, 500, 1) and far.shape == (200, 500)
    y = (x_t - z)[..., 0]
    assert torch.equal(y, torch.where(far, -50.0, 0.0).to(torch.float64))
    n = far.numel()
    assert abs(float(far.double().mean()) - 0.02) < 5 * math.sqrt(0.02 * 0.98 / n)
    assert abs(float(z.std()) - 0.5) < 0.01
    x_2, _, far_2 = pair.training_pairs(3, 4, truth=2, generator=g)
    assert bool((x_2[far_2][..., 0] > 40).all())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"R": 10.0}, "exactly one of eta and eps"),
        ({"R": 10.0, "eta": 0.1, "eps": 1.0}, "exactly one of eta and eps"),
        ({"R": -1.0, "eta": 0.1}, "R must be > 0"),
        ({"R": 10.0, "sigma": 0.0, "eta": 0.1}, "sigma must be > 0"),
        ({"R": 10.0, "eta": 1.5}, "eta must lie in"),
        ({"R": 1.0, "eps": 3.0}, "eps must give eta"),
    ],
)
def test_lemma41_bad_input(kwargs, match):
    """Bad parameters are rejected with a message naming the argument."""
    with pytest.raises(ValueError, match=match):
        Lemma41Pair(**kwargs)


def test_lemma41_bad_method_input():
    """Bad method arguments are rejected with a message naming the argument."""
    pair = Lemma41Pair(R=10.0, eta=0.1)
    with pytest.raises(ValueError, match="delta"):
        pair.log_quantile_gap(1.5)
    with pytest.raises(ValueError, match="tv_level"):
        pair.samples_to_distinguish(0.0)
    with pytest.raises(ValueError, match="truth"):
        pair.training_pairs(2, 3, truth=3)
    with pytest.raises(ValueError, match="m must be >= 1"):
        pair.training_pairs(2, 0)


# ----- Lemma 4.2 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("S", "x0", "sigma"), [(5.0, 1.0, 1.0), (50.0, 21.5, 1.0), (50.0, 3.0, 1.0), (2.0, 0.3, 0.4)]
)
def test_lemma42_score_vanishes_at_switch_point(S, x0, sigma):
    """The root-found eta gives s_hat(x0) = 0 at the valley between the modes (< 0, then > 0)."""
    mix = Lemma42Mixture(S, x0, sigma)
    x = torch.tensor([x0 - 1e-3 * sigma, x0, x0 + 1e-3 * sigma], dtype=torch.float64)
    s = mix.score_hat(x)
    assert abs(float(s[1])) < 1e-9 * S / sigma**2
    assert float(s[0]) < 0 < float(s[2])


def test_lemma42_log_eta_matches_closed_forms():
    """log eta is -softplus(logit(x0/S) + (S^2/2 - S x0)/sigma^2), and its small-eta limit."""
    for S, x0, sigma in ((5.0, 1.0, 1.0), (50.0, 21.5, 1.0), (50.0, 3.0, 1.0), (8.0, 2.0, 2.0)):
        mix = Lemma42Mixture(S, x0, sigma)
        logit = math.log(x0 / (S - x0))
        L = logit + (0.5 * S**2 - S * x0) / sigma**2
        exact = -(max(L, 0.0) + math.log1p(math.exp(-abs(L))))  # -softplus(L), stably
        if exact < -30:  # for tiny eta, log eta = -S^2/2 + S x0 + log(S / x0 - 1), sigma = 1 units
            approx = (S * x0 - 0.5 * S**2) / sigma**2 + math.log(S / x0 - 1.0)
            assert mix.log_eta == pytest.approx(approx, abs=1e-10)
        assert mix.log_eta == pytest.approx(exact, rel=1e-12, abs=1e-12)


def test_lemma42_closed_form_score_matches_gaussian_mixture():
    """Where eta is a normal float64, the closed-form score equals GaussianMixture.score."""
    mix = Lemma42Mixture(20.0, 3.0)
    assert mix.mixture is not None and mix.eta > 0
    x = torch.linspace(-5, 25, 301, dtype=torch.float64)[:, None]
    assert torch.allclose(mix.score_hat(x), mix.mixture.score(x), rtol=1e-9, atol=1e-9)
    assert torch.allclose(mix.score_true(x), -x)


def test_lemma42_underflowing_eta_stays_finite():
    """When eta underflows float64 the mixture is None but every quantity stays finite."""
    mix = Lemma42Mixture(50.0, 3.0)
    assert mix.log_eta < -1000 and mix.eta == 0.0 and mix.mixture is None
    x = torch.linspace(-5, 60, 131, dtype=torch.float64)
    assert bool(torch.isfinite(mix.score_hat(x)).all())
    assert math.isfinite(mix.log_population_l2_error())


def test_lemma42_population_error_matches_monte_carlo():
    """For a switch in the bulk, the quadrature matches a Monte Carlo mean over N(0, sigma^2)."""
    g = torch.Generator().manual_seed(3)
    mix = Lemma42Mixture(4.0, 1.0, sigma=0.8)
    x = mix.sample_true(1, 1_000_000, generator=g)[0]
    sq = (mix.score_hat(x) - mix.score_true(x)) ** 2
    tol = 5 * float(sq.std()) / math.sqrt(sq.numel())  # 5 standard errors
    assert abs(mix.population_l2_error() - float(sq.mean())) < tol


def test_lemma42_population_error_tail_asymptote():
    """For a switch far in the tail and S >> x0, the error is (S^2 / sigma^4) P[x > x0]."""
    # The sigmoid needs about x0 log(S / x0) / S of the tail's length scale sigma^2 / x0 to
    # reach 1, so the relative gap to S^2 P[x > x0] is about x0 log(S / x0) / S (1e-3 here).
    mix = Lemma42Mixture(1e5, 20.0, sigma=1.0)
    tail = 2 * math.log(1e5) + float(scipy.special.log_ndtr(-20.0))
    assert mix.log_population_l2_error() == pytest.approx(tail, abs=3e-3)


def test_lemma42_empirical_error_in_log_space():
    """log_empirical_l2_error is the log of the mean squared score error over each trial."""
    g = torch.Generator().manual_seed(4)
    mix = Lemma42Mixture(6.0, 1.5)
    x = mix.sample_true(5, 40, generator=g)
    direct = ((mix.score_hat(x) - mix.score_true(x)) ** 2).mean(-1)
    assert torch.allclose(mix.log_empirical_l2_error(x).exp(), direct, rtol=1e-10)
    assert torch.allclose(mix.log_empirical_l2_error(x[..., None]), mix.log_empirical_l2_error(x))


def test_lemma42_prob_beyond_switch():
    """prob_beyond_switch is 1 - (1 - Phibar(x0/sigma))^m, and matches sampling."""
    g = torch.Generator().manual_seed(5)
    mix = Lemma42Mixture(10.0, 2.0, sigma=1.0)
    p = mix.prob_beyond_switch(50)
    assert p == pytest.approx(1 - (1 - 0.5 * math.erfc(2 / math.sqrt(2))) ** 50, rel=1e-12)
    hits = (mix.sample_true(20_000, 50, generator=g).max(1).values > 2.0).double().mean()
    assert abs(float(hits) - p) < 5 * math.sqrt(p * (1 - p) / 20_000)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((10.0, 0.0), "switch_point must lie in"),
        ((10.0, 10.0), "switch_point must lie in"),
        ((-1.0, 0.5), "S must be > 0"),
        ((10.0, 1.0, -1.0), "sigma must be > 0"),
    ],
)
def test_lemma42_bad_input(args, match):
    """Bad parameters are rejected with a message naming the argument."""
    with pytest.raises(ValueError, match=match):
        Lemma42Mixture(*args)


def test_lemma42_bad_method_input():
    """Bad samples for the empirical error are rejected with a message naming x."""
    with pytest.raises(ValueError, match="x must have shape"):
        Lemma42Mixture(10.0, 1.0).log_empirical_l2_error(torch.zeros(3))
    with pytest.raises(ValueError, match="m must be >= 1"):
        Lemma42Mixture(10.0, 1.0).prob_beyond_switch(0)
