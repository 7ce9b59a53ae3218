"""Tests for diffedu.utils: the default device, seeded generators and where draws happen."""

import pytest
import torch

import diffedu


def test_default_device_is_cpu_without_cuda(monkeypatch):
    """default_device() is the CPU when CUDA is not available."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert diffedu.default_device() == torch.device("cpu")


def test_default_device_is_cuda_when_available(monkeypatch):
    """default_device() is CUDA when CUDA is available (checked by monkeypatching)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert diffedu.default_device() == torch.device("cuda")


def test_default_device_matches_this_machine():
    """Without patching, default_device() follows torch.cuda.is_available()."""
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert diffedu.default_device().type == expected


def test_make_generator_is_reproducible():
    """Equal seeds give equal draws; different seeds give different draws."""
    a = torch.randn(100, generator=diffedu.make_generator(7, device="cpu"))
    b = torch.randn(100, generator=diffedu.make_generator(7, device="cpu"))
    c = torch.randn(100, generator=diffedu.make_generator(8, device="cpu"))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert diffedu.make_generator(0, device="cpu").initial_seed() == 0


def test_make_generator_default_device(monkeypatch):
    """make_generator(seed) without a device puts the generator on default_device()."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    g = diffedu.make_generator(3)
    assert g.device == torch.device("cpu")
    assert torch.equal(
        torch.rand(5, generator=g), torch.rand(5, generator=torch.Generator().manual_seed(3))
    )


def test_make_generator_accepts_integer_tensor_seed():
    """A 0-d integer tensor is an integer seed."""
    assert diffedu.make_generator(torch.tensor(5), device="cpu").initial_seed() == 5


@pytest.mark.parametrize(
    "seed, error",
    [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (None, TypeError), (True, TypeError)],
)
def test_make_generator_rejects_bad_seeds(seed, error):
    """Negative, non-integer, string, None and boolean seeds are rejected naming seed."""
    with pytest.raises(error, match="seed"):
        diffedu.make_generator(seed, device="cpu")


def test_draw_device_is_the_generators_or_the_cpu(monkeypatch):
    """Draws happen on the generator's device, and on the CPU without one, even with CUDA."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert diffedu.draw_device(None) == torch.device("cpu")
    assert diffedu.draw_device(torch.Generator()) == torch.device("cpu")
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        diffedu.draw_device(0)


def test_every_sampler_follows_the_draw_device_rule(monkeypatch):
    """standard_normal, GaussianMixture.sample and the hardness samplers draw on the CPU
    without a generator, even when CUDA is present (the rule of draw_device)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    mix = diffedu.GaussianMixture([0.5, 0.5], [[-1.0], [1.0]], [0.5, 0.5])
    draws = [
        diffedu.standard_normal(3, 2),
        mix.sample(3),
        diffedu.Lemma41Pair(5.0, eta=0.1).training_pairs(2, 3)[0],
        diffedu.Lemma42Mixture(5.0, 1.0).sample_true(2, 3),
    ]
    assert all(x.device == torch.device("cpu") for x in draws)
