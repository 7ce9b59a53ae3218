"""Tests for diffedu.nets: the preconditioned score networks."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import diffedu
from diffedu import EnsembleMLP, LearnedScore, TimeMLP

CPU = torch.device("cpu")
TS = torch.tensor([2.0, 0.5, 0.1, 0.02], dtype=torch.float64)  # ts[0] = T, ..., ts[3] = gamma


pytestmark = pytest.mark.usefixtures("one_thread")


def randomize(model: nn.Module, seed: int) -> None:
    """Overwrite every weight (including the zero-initialised output layer) with N(0, 0.3^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("kind", ["time", "ensemble"])
def test_untrained_network_is_the_gaussian_score(kind):
    """With its zero output layer, a fresh network is the exact score of N(0, v I)."""
    v, d = 1.7, 2
    gauss = diffedu.GaussianMixture([1.0], [[0.0, 0.0]], [v])
    if kind == "time":
        model = TimeMLP(d, hidden=16, m2_per_dim=v, generator=0, device=CPU, dtype=torch.float64)
    else:
        model = EnsembleMLP(
            d, TS, hidden=16, m2_per_dim=v, generator=0, device=CPU, dtype=torch.float64
        )
    score_fn = LearnedScore(model)
    x = torch.randn(100, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for t in TS.tolist():
        torch.testing.assert_close(score_fn(x, t), gauss.score(x, t))


def test_ensemble_batched_forward_equals_loop_over_members():
    """The batched (baddbmm) forward equals N separate nn.Linear/SiLU networks."""
    d, hidden, depth = 3, 8, 3
    model = EnsembleMLP(
        d, TS, hidden=hidden, depth=depth, generator=0, device=CPU, dtype=torch.float64
    )
    randomize(model, 1)
    x = torch.randn(len(TS), 7, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    eps_hat = model(x)
    coef = diffedu.preconditioning(TS, model.m2_per_dim)
    for k in range(len(TS)):
        layers = []
        for w, b in zip(model.weights, model.biases, strict=True):
            lin = nn.Linear(w.shape[1], w.shape[2], dtype=torch.float64)
            lin.weight.data.copy_(w[k].T)
            lin.bias.data.copy_(b[k, 0])
            layers += [lin, nn.SiLU()]
        member = nn.Sequential(*layers[:-1])
        c_in, c_skip, c_out = coef[k, 2], coef[k, 3], coef[k, 4]
        expected = c_skip * x[k] + c_out * member(c_in * x[k])
        torch.testing.assert_close(eps_hat[k], expected)
        # The single-member path used by score() agrees with the batched one.
        sigma = coef[k, 1]
        torch.testing.assert_close(model.score(x[k], TS[k]), -expected / sigma)


def test_ensemble_member_gradients_are_independent():
    """Member k's gradient depends only on member k's data: changing the others' leaves it fixed."""
    model = EnsembleMLP(2, TS, hidden=8, generator=0, device=CPU, dtype=torch.float64)
    randomize(model, 3)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(len(TS), 5, 2, generator=g, dtype=torch.float64)

    def grads(inputs):
        model.zero_grad()
        model(inputs).pow(2).sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    before = grads(x)
    x_other = x.clone()
    x_other[1:] = torch.randn(x_other[1:].shape, generator=g, dtype=torch.float64)
    after = grads(x_other)
    for g0, g1 in zip(before, after, strict=True):
        torch.testing.assert_close(g0[0], g1[0])  # member 0 unchanged
        assert not torch.allclose(g0[1:], g1[1:])  # the others did change


def test_time_mlp_scalar_time_equals_per_row_times():
    """One time for all rows (first-layer bias path) equals the same time given per row (concat)."""
    model = TimeMLP(2, hidden=16, generator=0, device=CPU, dtype=torch.float64)
    randomize(model, 5)
    x = torch.randn(6, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    for t in (0.01, 0.7, 3.0):
        per_row = torch.full((6,), t, dtype=torch.float64)
        torch.testing.assert_close(model(x, t), model(x, per_row))
        torch.testing.assert_close(model.score(x, t), model.score(x, per_row))


@pytest.mark.parametrize("cls", [TimeMLP, EnsembleMLP])
def test_initialisation_is_seeded(cls):
    """The same seed gives the same weights; another seed gives other weights."""
    args = (2,) if cls is TimeMLP else (2, TS)

    def weights(seed):
        model = cls(*args, hidden=8, generator=seed, device=CPU)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    torch.testing.assert_close(weights(7), weights(7))
    assert not torch.equal(weights(7), weights(8))
    gen = torch.Generator().manual_seed(7)
    from_generator = cls(*args, hidden=8, generator=gen, device=CPU).weights[0]
    torch.testing.assert_close(
        from_generator, cls(*args, hidden=8, generator=7, device=CPU).weights[0]
    )


@pytest.mark.parametrize("kind", ["time", "ensemble"])
def test_learned_score_equals_model_score(kind):
    """LearnedScore's chunked inference path equals model.score on more rows than one chunk."""
    if kind == "time":
        model = TimeMLP(2, hidden=16, generator=0, device=CPU, dtype=torch.float64)
    else:
        model = EnsembleMLP(2, TS, hidden=16, generator=0, device=CPU, dtype=torch.float64)
    randomize(model, 9)
    x = torch.randn(5000, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    score_fn = LearnedScore(model)
    for t in TS.tolist():
        with torch.no_grad():
            expected = model.score(x, t)
        torch.testing.assert_close(score_fn(x, t), expected)
        torch.testing.assert_close(score_fn(x[:7], t), expected[:7])


def test_learned_score_follows_input_dtype_and_matches_grid_times():
    """LearnedScore returns x's dtype; an ensemble accepts ts[k] up to rounding and nothing else."""
    model = EnsembleMLP(1, TS, hidden=8, generator=0, device=CPU)
    score_fn = LearnedScore(model)
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)[:, None]
    out = score_fn(x, 0.1)
    assert out.dtype == torch.float64 and out.shape == (9, 1)
    torch.testing.assert_close(score_fn(x, float(torch.tensor(0.1, dtype=torch.float32))), out)
    with pytest.raises(ValueError, match=r"t=0\.3 is not one of"):
        score_fn(x, 0.3)
    with pytest.raises(ValueError, match="x must have shape"):
        score_fn(x[:, 0], 0.1)
    assert model.member(TS[2]) == 2


def test_bad_input():
    """Constructors and conversions name the offending argument."""
    with pytest.raises(ValueError, match="dim"):
        TimeMLP(0, device=CPU)
    with pytest.raises(ValueError, match="hidden"):
        EnsembleMLP(2, TS, hidden=0, device=CPU)
    with pytest.raises(ValueError, match="m2_per_dim"):
        TimeMLP(2, m2_per_dim=0.0, device=CPU)
    with pytest.raises(ValueError, match="emb_dim"):
        TimeMLP(2, emb_dim=7, device=CPU)
    with pytest.raises(ValueError, match="ts must be strictly decreasing"):
        EnsembleMLP(2, TS.flip(0), device=CPU)
    with pytest.raises(ValueError, match="ts must be > 0"):
        EnsembleMLP(2, [1.0, 0.0], device=CPU)
    with pytest.raises(ValueError, match="ts must be a 1-D tensor of at least 1 time"):
        EnsembleMLP(2, torch.tensor([]), device=CPU)
    with pytest.raises(TypeError, match="generator"):
        TimeMLP(2, generator="seed", device=CPU)
    with pytest.raises(TypeError, match="model"):
        LearnedScore(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="x_t must have shape"):
        EnsembleMLP(2, TS, device=CPU)(torch.ones(3, 2))
    with pytest.raises(ValueError, match="t must be > 0"):
        TimeMLP(2, device=CPU)(torch.ones(3, 2), 0.0)
    with pytest.raises(ValueError, match="t must be > 0"):
        LearnedScore(TimeMLP(2, device=CPU))(torch.ones(3, 2), -1.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_networks_on_cuda_match_cpu():
    """Seeded initialisation does not depend on the device, and forward passes agree."""
    cuda = torch.device("cuda")
    for make in (
        lambda dev: TimeMLP(2, hidden=16, generator=0, device=dev),
        lambda dev: EnsembleMLP(2, TS, hidden=16, generator=0, device=dev),
    ):
        cpu_model, gpu_model = make(CPU), make(cuda)
        for p_cpu, p_gpu in zip(cpu_model.parameters(), gpu_model.parameters(), strict=True):
            assert torch.equal(p_cpu, p_gpu.cpu())
        randomize(cpu_model, 1)
        randomize(gpu_model, 1)
        x = torch.randn(32, 2, generator=torch.Generator().manual_seed(0))
        for t in TS.tolist():
            expected = LearnedScore(cpu_model)(x, t)
            got = LearnedScore(gpu_model)(x.to(cuda), t)
            assert got.device.type == "cuda"
            torch.testing.assert_close(got.cpu(), expected, rtol=1e-4, atol=1e-4 / math.sqrt(t))
