"""Tests for diffedu.utils: the default device, seeded generators and the run-time note."""

import pytest
import torch

import diffedu


def test_default_device_is_cpu_without_cuda(monkeypatch):
    """default_device() is the CPU when CUDA is not available."""
    torch.manual_seed(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert diffedu.default_device() == torch.device("cpu")


def test_default_device_is_cuda_when_available(monkeypatch):
    """default_device() is CUDA when CUDA is available (checked by monkeypatching)."""
    torch.manual_seed(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert diffedu.default_device() == torch.device("cuda")


def test_default_device_matches_this_machine():
    """Without patching, default_device() follows torch.cuda.is_available()."""
    torch.manual_seed(0)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert diffedu.default_device().type == expected


def test_make_generator_is_reproducible():
    """Equal seeds give equal draws; different seeds give different draws."""
    torch.manual_seed(0)
    a = torch.randn(100, generator=diffedu.make_generator(7, device="cpu"))
    b = torch.randn(100, generator=diffedu.make_generator(7, device="cpu"))
    c = torch.randn(100, generator=diffedu.make_generator(8, device="cpu"))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert diffedu.make_generator(0, device="cpu").initial_seed() == 0


def test_make_generator_default_device(monkeypatch):
    """make_generator(seed) without a device puts the generator on default_device()."""
    torch.manual_seed(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    g = diffedu.make_generator(3)
    assert g.device == torch.device("cpu")
    assert torch.equal(
        torch.rand(5, generator=g), torch.rand(5, generator=torch.Generator().manual_seed(3))
    )


def test_make_generator_accepts_integer_tensor_seed():
    """A 0-d integer tensor is an integer seed."""
    torch.manual_seed(0)
    assert diffedu.make_generator(torch.tensor(5), device="cpu").initial_seed() == 5


@pytest.mark.parametrize(
    "seed, error",
    [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (None, TypeError), (True, TypeError)],
)
def test_make_generator_rejects_bad_seeds(seed, error):
    """Negative, non-integer, string, None and boolean seeds are rejected naming seed."""
    torch.manual_seed(0)
    with pytest.raises(error, match="seed"):
        diffedu.make_generator(seed, device="cpu")


def test_run_time_note_on_cpu(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    note = diffedu.run_time_note(30.6, "cpu")
    assert note == (
        "When this page was built, the chapter ran in 31 s from its imports to its last cell, "
        "on a CPU with 2 cores, using 1 torch thread."
    )


def test_run_time_note_names_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100")
    note = diffedu.run_time_note(torch.tensor(4.2), torch.device("cuda"))
    assert note.endswith("ran in 4 s from its imports to its last cell, on a NVIDIA H100 GPU.")


@pytest.mark.parametrize(
    ("seconds", "device", "error", "match"),
    [
        (-1.0, "cpu", ValueError, "seconds must be >= 0"),
        (float("nan"), "cpu", ValueError, "seconds must be finite"),
        ("10", "cpu", TypeError, "seconds must be a real number"),
        (10.0, 0, TypeError, "device must be a torch.device or a string; got int"),
    ],
)
def test_run_time_note_rejects_bad_input(seconds, device, error, match):
    with pytest.raises(error, match=match):
        diffedu.run_time_note(seconds, device)
