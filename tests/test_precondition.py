"""Tests for diffedu.precondition: the noise parametrisation and its preconditioning."""

from __future__ import annotations

import math

import pytest
import torch

import diffedu

TIMES = [1e-4, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0]  # forward times t > 0
V = 2.5  # per-coordinate second moment of the data


def test_eps_score_round_trip():
    """eps_to_score inverts score_to_eps and back, for one sigma_t and for one per row."""
    g = torch.Generator().manual_seed(0)
    s = torch.randn(5, 3, generator=g, dtype=torch.float64)
    for sigma_t in (0.3, torch.linspace(0.1, 0.9, 5, dtype=torch.float64)):
        back = diffedu.eps_to_score(diffedu.score_to_eps(s, sigma_t), sigma_t)
        torch.testing.assert_close(back, s, rtol=1e-15, atol=0)
        again = diffedu.score_to_eps(diffedu.eps_to_score(s, sigma_t), sigma_t)
        torch.testing.assert_close(again, s, rtol=1e-15, atol=0)


def test_eps_to_score_is_minus_eps_over_sigma():
    """s = -eps / sigma_t (Tweedie), row by row, keeping eps's dtype."""
    eps = torch.tensor([[1.0, -2.0], [0.5, 4.0]], dtype=torch.float32)
    sigma = torch.tensor([0.5, 2.0], dtype=torch.float64)
    expected = torch.tensor([[-2.0, 4.0], [-0.25, -2.0]], dtype=torch.float32)
    out = diffedu.eps_to_score(eps, sigma)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_coefficients_match_their_closed_forms():
    """Each column of preconditioning(t, v) equals its formula, computed here with math."""
    coef = diffedu.preconditioning(torch.tensor(TIMES, dtype=torch.float64), V)
    assert coef.shape == (len(TIMES), 7) and coef.dtype == torch.float64
    for row, t in zip(coef.tolist(), TIMES, strict=True):
        alpha = math.exp(-t)
        sigma = math.sqrt(1.0 - math.exp(-2.0 * t))
        c_in = 1.0 / math.sqrt(alpha**2 * V + sigma**2)
        expected = [
            alpha,
            sigma,
            c_in,
            sigma * c_in**2,  # c_skip
            alpha * math.sqrt(V) * c_in,  # c_out
            sigma * c_in / math.sqrt(V),  # target_x0
            math.log(t),
        ]
        # sigma by 1 - exp(-2t) loses ~1e-12 relative at t = 1e-4; the package uses expm1.
        assert row == pytest.approx(expected, rel=1e-10, abs=0)


def test_raw_target_reproduces_the_noise_with_unit_variance():
    """c_skip x_t + c_out F* = eps exactly, and F* has unit variance when E x_0^2 = v."""
    t = torch.logspace(-4, 1, 50, dtype=torch.float64)
    alpha, sigma, c_in, c_skip, c_out, target_x0, _ = diffedu.preconditioning(t, V).unbind(1)
    # x_t = alpha x_0 + sigma eps and F* = c_out eps - target_x0 x_0: coefficients of eps and x_0.
    torch.testing.assert_close(c_skip * sigma + c_out * c_out, torch.ones_like(t))
    torch.testing.assert_close(c_skip * alpha - c_out * target_x0, torch.zeros_like(t))
    # Var F* = c_out^2 + target_x0^2 v for independent eps (variance 1) and x_0 (variance v).
    torch.testing.assert_close(c_out**2 + target_x0**2 * V, torch.ones_like(t))


def test_zero_network_is_the_gaussian_posterior_mean():
    """With F = 0, c_skip x = E[eps | x_t = x] for x_0 ~ N(0, v I): the Gaussian's exact score."""
    x = torch.linspace(-4.0, 4.0, 17, dtype=torch.float64)[:, None]
    gauss = diffedu.GaussianMixture([1.0], [[0.0]], [V])
    for t in TIMES:
        _, sigma, _, c_skip, *_ = diffedu.preconditioning(t, V)[0].tolist()
        score = diffedu.eps_to_score(c_skip * x, sigma)
        torch.testing.assert_close(score, gauss.score(x, t), rtol=1e-12, atol=1e-12)


def test_preconditioning_at_is_one_row_as_floats():
    """preconditioning_at(t, v) equals the row of preconditioning, as Python floats."""
    for t in TIMES:
        row = diffedu.preconditioning_at(t, V)
        assert isinstance(row, tuple) and all(isinstance(c, float) for c in row)
        assert list(row) == diffedu.preconditioning(t, V)[0].tolist()


def test_bad_input():
    """Non-positive times, second moments and noise levels, and bad shapes, name the argument."""
    with pytest.raises(ValueError, match="t must be > 0"):
        diffedu.preconditioning([1.0, 0.0], V)
    with pytest.raises(ValueError, match="t must be finite"):
        diffedu.preconditioning(float("nan"), V)
    with pytest.raises(TypeError, match="t must be"):
        diffedu.preconditioning("1.0", V)
    with pytest.raises(ValueError, match="m2_per_dim must be > 0"):
        diffedu.preconditioning(1.0, 0.0)
    with pytest.raises(TypeError, match="m2_per_dim"):
        diffedu.preconditioning(1.0, None)
    with pytest.raises(ValueError, match="sigma_t must be > 0"):
        diffedu.eps_to_score(torch.ones(3, 2), 0.0)
    with pytest.raises(ValueError, match="sigma_t must be a scalar"):
        diffedu.score_to_eps(torch.ones(3, 2), torch.ones(4))
    with pytest.raises(ValueError, match="shape"):
        diffedu.eps_to_score(torch.ones(3), 0.5)
