"""Tests for diffedu._fastmlp: the one MLP, its buffered paths, and their public-API fallback.

Every test runs twice: with torch's internal overloads ``silu.out`` and
``silu_backward.grad_input`` (the fast path), and with them switched off, which is what a torch
build without them gets (the fallback through public operations).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import diffedu
from diffedu import EnsembleMLP, TimeMLP, _fastmlp

CPU = torch.device("cpu")
TS = torch.tensor([2.0, 0.5, 0.1, 0.02], dtype=torch.float64)  # ts[0] = T, ..., ts[3] = gamma

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(params=["internal", "fallback"])
def overloads(request, monkeypatch):
    """Run the test with torch's internal overloads, then with the public fallback forced."""
    if request.param == "fallback":
        monkeypatch.setattr(_fastmlp, "SILU_OUT", None)
        monkeypatch.setattr(_fastmlp, "SILU_BACKWARD_INTO", None)
    return request.param


def randomize(model: nn.Module, seed: int) -> None:
    """Overwrite every weight (including the zero-initialised output layer) with N(0, 0.3^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def make(kind: str) -> nn.Module:
    if kind == "time":
        return TimeMLP(1, hidden=8, depth=3, generator=0, device=CPU, dtype=torch.float64)
    return EnsembleMLP(1, TS, hidden=8, depth=3, generator=0, device=CPU, dtype=torch.float64)


def test_overload_lookup_returns_none_when_missing():
    """The import-time lookup gives None for an overload this torch lacks, not an error."""
    assert _fastmlp._aten_overload("silu", "no_such_overload") is None
    assert _fastmlp._aten_overload("no_such_op", "out") is None


def test_silu_and_its_derivative_into_buffers(overloads):
    """silu_into is F.silu; silu_backward_into is grad * silu'(a) from autograd, in place."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(50, 7, generator=g, dtype=torch.float64) * 4
    grad = torch.randn(50, 7, generator=g, dtype=torch.float64)
    out = torch.empty_like(a)
    assert _fastmlp.silu_into(a, out) is out
    torch.testing.assert_close(out, F.silu(a))
    leaf = a.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(F.silu(leaf), leaf, grad)
    buffer = a.clone()
    assert _fastmlp.silu_backward_into(grad, buffer) is buffer
    torch.testing.assert_close(buffer, expected)


@pytest.mark.parametrize("kind", ["ensemble", "time"])
def test_hand_written_backward_equals_autograd(kind, overloads):
    """Backprop's gradients and per-row residuals equal autograd's on the raw network."""
    net = make(kind)
    randomize(net, 1)
    lead = (16,) if kind == "time" else (len(TS), 16)
    width = net.weights[0].shape[-2]  # dim + emb_dim for the time network, dim for the ensemble
    g = torch.Generator().manual_seed(2)
    inputs = torch.randn(*lead, width, generator=g, dtype=torch.float64)
    target = torch.randn(*lead, 1, generator=g, dtype=torch.float64)
    per_row = _fastmlp.Backprop(net, lead)(inputs, target)
    manual = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    residual = net.raw(inputs) - target
    torch.testing.assert_close(per_row, residual.pow(2).sum(-1).detach())
    residual.pow(2).sum(-1).mean(-1).sum().backward()
    for p, grad in zip(net.parameters(), manual, strict=True):
        torch.testing.assert_close(grad, p.grad)


def test_scratch_equals_the_plain_mlp(overloads):
    """Chunked inference through two reused buffers equals mlp, on more rows than one chunk."""
    g = torch.Generator().manual_seed(3)
    sizes = [2, 8, 8, 8, 2]  # three hidden layers, as the networks have

    def draw(*shape):
        return 0.3 * torch.randn(*shape, generator=g, dtype=torch.float64)

    weights = [draw(i, o) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [draw(o) for o in sizes[1:]]
    x = draw(5000, 2)
    expected = _fastmlp.mlp(weights, biases, 0.7 * x)
    with torch.no_grad():
        got = _fastmlp.Scratch().apply(weights, biases, x, scale=0.7)
    torch.testing.assert_close(got, expected)


def test_mlp_batched_equals_one_network_at_a_time():
    """The stacked (baddbmm) pass equals member k's own 2-D pass, for every k."""
    net = make("ensemble")
    randomize(net, 5)
    u = torch.randn(len(TS), 9, 1, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    batched = _fastmlp.mlp(list(net.weights), list(net.biases), u)
    for k in range(len(TS)):
        member = _fastmlp.mlp([w[k] for w in net.weights], [b[k, 0] for b in net.biases], u[k])
        torch.testing.assert_close(batched[k], member)


@pytest.mark.parametrize("kind", ["ensemble", "time"])
def test_training_with_the_fallback_matches_the_fast_path(kind, monkeypatch):
    """train_score gives the same losses through the public fallback as through the overloads."""
    mix = diffedu.GaussianMixture([0.3, 0.7], [[-2.0], [1.0]], [0.25, 0.5])
    x_0 = mix.sample(200, generator=torch.Generator().manual_seed(0))

    def run():
        result = diffedu.train_score(
            x_0,
            TS,
            kind,
            hidden=8,
            n_iters=20,
            batch_size=32,
            generator=3,
            device=CPU,
            progress=False,
        )
        return result.losses

    fast = run()
    monkeypatch.setattr(_fastmlp, "SILU_OUT", None)
    monkeypatch.setattr(_fastmlp, "SILU_BACKWARD_INTO", None)
    slow = run()
    # float32 weights: the two SiLU formulas differ by rounding only (~1e-7 relative per step).
    torch.testing.assert_close(slow, fast, rtol=1e-4, atol=1e-5)
    assert not torch.equal(fast[0], fast[-1])  # the run did train
