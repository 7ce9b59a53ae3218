"""Tests for diffedu.erm: Algorithm 1's ERM over a finite class, vectorised over trials."""

import math

import pytest
import torch

import diffedu
from diffedu import ERMResult, erm_select


def _pairs(g, trials=50, m=30, d=2, sigma_t=0.7):
    """Random training pairs x_t = x_0 + z with z ~ N(0, sigma_t^2)."""
    x_0 = torch.randn(trials, m, d, generator=g, dtype=torch.float64)
    z = sigma_t * torch.randn(trials, m, d, generator=g, dtype=torch.float64)
    return x_0 + z, z


def test_erm_select_returns_argmin_without_ties():
    """With distinct losses the ERM is the argmin of the eq. (4) loss computed independently."""
    g = torch.Generator().manual_seed(6)
    x_t, z = _pairs(g)
    cands = torch.randn(4, *x_t.shape, generator=g, dtype=torch.float64)
    index, tied, losses = erm_select(cands, x_t, z, 0.7, generator=g)
    direct = ((cands + z / 0.7**2) ** 2).sum(-1).mean(-1)
    assert torch.allclose(losses, direct, rtol=1e-12)
    assert torch.equal(index, direct.argmin(0)) and not bool(tied.any())


def test_erm_select_callables_match_tensor():
    """Callable candidates give the same losses and choice as their evaluations."""
    g = torch.Generator().manual_seed(7)
    x_t, z = _pairs(g, d=1)
    q = diffedu.GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [0.5, 0.5])
    fns = [q.score, lambda x: -x, lambda x: torch.zeros_like(x)]
    evaluated = torch.stack([f(x_t.reshape(-1, 1)).reshape(x_t.shape) for f in fns])
    a = erm_select(fns, x_t, z, 0.7, generator=torch.Generator().manual_seed(1))
    b = erm_select(evaluated, x_t, z, 0.7, generator=torch.Generator().manual_seed(1))
    assert isinstance(a, ERMResult)
    assert torch.equal(a.index, b.index) and torch.allclose(a.losses, b.losses)


def test_erm_select_breaks_ties_uniformly():
    """Three identical candidates: each is chosen about 1/3 of the time, and every trial is tied."""
    g = torch.Generator().manual_seed(8)
    trials = 30_000
    x_t, z = _pairs(g, trials=trials, m=2, d=1)
    same = torch.zeros(3, *x_t.shape, dtype=torch.float64)
    index, tied, _ = erm_select(same, x_t, z, 0.7, generator=g)
    assert bool(tied.all())
    freq = torch.bincount(index, minlength=3).double() / trials
    # 5 standard errors of a proportion 1/3 over 30 000 trials: 5 * sqrt(2/9 / 30000) = 0.0136.
    assert float((freq - 1 / 3).abs().max()) < 5 * math.sqrt(2 / 9 / trials)


def test_erm_select_partial_ties_and_rtol():
    """Only the tied minimisers are eligible; rtol widens what counts as a tie."""
    g = torch.Generator().manual_seed(9)
    x_t, z = _pairs(g, trials=2000, m=5, d=1)
    base = -z / 0.7**2  # the loss-zero candidate
    cands = torch.stack([base + 1.0, base, base, base + 1e-9])
    index, tied, _ = erm_select(cands, x_t, z, 0.7, generator=g)
    assert bool(tied.all()) and set(index.tolist()) == {1, 2}
    index, tied, _ = erm_select(cands + 0.5, x_t, z, 0.7, generator=g, rtol=1e-6)
    assert set(index.tolist()) == {1, 2, 3}
    _, tied, _ = erm_select(cands[:2], x_t, z, 0.7, generator=g)
    assert not bool(tied.any())


def test_erm_select_reproducible_with_generator():
    """The same generator seed gives the same tie-breaks."""
    x_t, z = _pairs(torch.Generator().manual_seed(10))
    same = torch.zeros(2, *x_t.shape, dtype=torch.float64)
    a = erm_select(same, x_t, z, 0.7, generator=torch.Generator().manual_seed(1)).index
    b = erm_select(same, x_t, z, 0.7, generator=torch.Generator().manual_seed(1)).index
    assert torch.equal(a, b)


def test_erm_select_bad_input():
    """Bad shapes, noise levels, tolerances and candidate types are rejected by name."""
    g = torch.Generator().manual_seed(11)
    x_t, z = _pairs(g, trials=3, m=4, d=1)
    cands = torch.zeros(2, 3, 4, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigma_t must be > 0"):
        erm_select(cands, x_t, z, 0.0)
    with pytest.raises(ValueError, match="x_t must have shape"):
        erm_select(cands, x_t[0], z[0], 0.7)
    with pytest.raises(ValueError, match="z must have the shape"):
        erm_select(cands, x_t, z[:, :2], 0.7)
    with pytest.raises(ValueError, match="candidates must have shape"):
        erm_select(cands[:, :2], x_t, z, 0.7)
    with pytest.raises(ValueError, match="at least one candidate"):
        erm_select(cands[:0], x_t, z, 0.7)
    with pytest.raises(ValueError, match="at least one candidate"):
        erm_select([], x_t, z, 0.7)
    with pytest.raises(ValueError, match="rtol must be >= 0"):
        erm_select(cands, x_t, z, 0.7, rtol=-1.0)
    with pytest.raises(TypeError, match="candidates must be"):
        erm_select("s1", x_t, z, 0.7)
