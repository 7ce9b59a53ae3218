"""Tests for diffedu.loss: the denoising score-matching loss of eq. (4)."""

from __future__ import annotations

import math

import pytest
import torch

import diffedu
from diffedu import dsm_loss

MIX = diffedu.GaussianMixture([0.3, 0.7], [[-2.0], [1.0]], [0.25, 0.5])  # 1-D, two components


def test_dsm_loss_is_the_formula():
    """dsm_loss is ||score_hat + z/sigma_t^2||^2 per row: tensors, callables, per-row sigma_t."""
    g = torch.Generator().manual_seed(0)
    x_t, z, s = (torch.randn(6, 3, generator=g, dtype=torch.float64) for _ in range(3))
    sigma = torch.linspace(0.2, 0.9, 6, dtype=torch.float64)
    expected = ((s + z / sigma[:, None] ** 2) ** 2).sum(1)
    torch.testing.assert_close(dsm_loss(s, x_t, z, sigma), expected)
    torch.testing.assert_close(dsm_loss(lambda x: s + 0 * x, x_t, z, sigma), expected)
    torch.testing.assert_close(dsm_loss(s, x_t, z, 0.5), ((s + z / 0.25) ** 2).sum(1))


def test_dsm_loss_at_the_true_score_of_a_gaussian():
    """For q_0 = N(0, I_d): s_t(x) = -x and E dsm = d/sigma^2 - E||s_t||^2 = d alpha^2/sigma^2."""
    d, n, t = 3, 200_000, 0.3
    g = torch.Generator().manual_seed(1)
    x_0 = torch.randn(n, d, generator=g, dtype=torch.float64)
    x_t, z = diffedu.add_noise(x_0, t, generator=g)
    alpha, sigma = float(diffedu.ou_alpha(t)), float(diffedu.ou_sigma(t))
    loss = dsm_loss(-x_t, x_t, z, sigma)
    # d/sigma^2 - E||x_t||^2 = d/sigma^2 - d = d alpha^2/sigma^2; 5 standard errors of the mean.
    assert abs(float(loss.mean()) - d * alpha**2 / sigma**2) < 5 * float(loss.std()) / math.sqrt(n)


def test_dsm_excess_loss_is_the_l2_error():
    """Tweedie: E[dsm(s + c)] - E[dsm(s)] = ||c||^2, since E[s_t(x_t) + z/sigma^2 | x_t] = 0."""
    n, t = 200_000, 0.1
    g = torch.Generator().manual_seed(2)
    x_0 = MIX.sample(n, generator=g)
    x_t, z = diffedu.add_noise(x_0, t, generator=g)
    sigma = float(diffedu.ou_sigma(t))
    s = MIX.score(x_t, t)
    diff = dsm_loss(s + 0.7, x_t, z, sigma) - dsm_loss(s, x_t, z, sigma)  # = c^2 + 2c(s + z/s^2)
    assert abs(float(diff.mean()) - 0.49) < 5 * float(diff.std()) / math.sqrt(n)


def test_bad_input():
    """The loss names the argument that is wrong."""
    with pytest.raises(ValueError, match="z must have the shape of x_t"):
        dsm_loss(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 1), 0.5)
    with pytest.raises(ValueError, match="sigma_t must be > 0"):
        dsm_loss(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2), 0.0)
    with pytest.raises(ValueError, match="sigma_t must be a scalar or have shape"):
        dsm_loss(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(2))
