"""Tests for diffedu.forward: the OU forward process alpha_t, sigma_t and add_noise."""

import math

import mpmath
import pytest
import torch

import diffedu

TIMES = [0.0, 1e-300, 1e-12, 1e-8, 1e-4, 0.01, 0.5, 1.0, 3.0, 20.0, 400.0]


def _mp_sigma(t: float) -> float:
    """sigma_t = sqrt(1 - e^{-2t}) in 60-digit arithmetic, rounded to float64."""
    with mpmath.workdps(60):
        return float(mpmath.sqrt(-mpmath.expm1(-2 * mpmath.mpf(t))))


def test_alpha_sigma_variance_preserving():
    """alpha_t^2 + sigma_t^2 = 1 for all t >= 0 (a variance-preserving process)."""
    t = torch.cat(
        [
            torch.tensor(TIMES, dtype=torch.float64),
            5 * torch.rand(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
        ]
    )
    alpha_t, sigma_t = diffedu.ou_alpha(t), diffedu.ou_sigma(t)
    torch.testing.assert_close(alpha_t**2 + sigma_t**2, torch.ones_like(t), rtol=0, atol=1e-15)


def _time_as(kind: str, t: float):
    """The same forward time as a Python float or as a 0-d float64 tensor."""
    return t if kind == "float" else torch.tensor(t, dtype=torch.float64)


@pytest.mark.parametrize("kind", ["float", "tensor"])
def test_alpha_is_exp_minus_t(kind):
    """alpha_t = e^{-t} to full float64 accuracy (mpmath), for Python-number and tensor t."""
    for t in TIMES:
        expected = float(mpmath.exp(-mpmath.mpf(t)))
        got = float(diffedu.ou_alpha(_time_as(kind, t)))
        assert got == pytest.approx(expected, rel=1e-15, abs=0.0), t
    assert float(diffedu.ou_alpha(0.0)) == 1.0


@pytest.mark.parametrize("kind", ["float", "tensor"])
def test_sigma_accurate_for_tiny_t(kind):
    """sigma_t keeps full relative accuracy as t -> 0, where sigma_t ~ sqrt(2t - 2t^2 + ...)."""
    assert float(diffedu.ou_sigma(0.0)) == 0.0
    for t in TIMES[1:]:
        got = float(diffedu.ou_sigma(_time_as(kind, t)))
        assert got == pytest.approx(_mp_sigma(t), rel=1e-14, abs=0.0), t
    # Series check at t = 1e-12: 1 - e^{-2t} = 2t - 2t^2 + (4/3)t^3 - ..., so
    # sigma_t = sqrt(2t) * (1 - t/2 + O(t^2)); the O(t) term is 5e-13 relative.
    t = 1e-12
    series = math.sqrt(2 * t) * (1 - t / 2)
    assert float(diffedu.ou_sigma(_time_as(kind, t))) == pytest.approx(series, rel=1e-15)
    # The naive formula loses ~4 digits here, so the test above has teeth.
    naive = float(torch.sqrt(1 - torch.exp(torch.tensor(-2 * t, dtype=torch.float64))))
    assert abs(naive / series - 1) > 1e-6


def test_alpha_sigma_keep_shape_and_dtype():
    """ou_alpha/ou_sigma map a tensor of any shape elementwise and keep its float dtype."""
    t32 = torch.rand(3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float32)
    assert diffedu.ou_alpha(t32).shape == (3, 4)
    assert diffedu.ou_sigma(t32).dtype == torch.float32
    assert diffedu.ou_alpha(0.3).dtype == torch.float64
    assert diffedu.ou_sigma(torch.tensor([1, 2])).dtype == torch.float64  # integer times


@pytest.mark.parametrize("t", [0.01, 0.7, 4.0])
def test_add_noise_noise_has_variance_sigma_squared(t):
    """add_noise draws z ~ N(0, sigma_t^2 I) and returns x_t = e^{-t} x_0 + z."""
    g = torch.Generator().manual_seed(1)
    n, d = 40_000, 3
    x_0 = 3.0 * torch.randn(n, d, generator=g, dtype=torch.float64) + 1.0
    x_t, z = diffedu.add_noise(x_0, t, generator=g)
    assert x_t.shape == z.shape == (n, d)
    alpha_t, sigma_t = math.exp(-t), float(diffedu.ou_sigma(t))
    # x_t - alpha_t x_0 == z up to the one rounding of the sum x_t = alpha_t x_0 + z.
    resid = (x_t - alpha_t * x_0 - z).abs()
    assert bool((resid <= 4e-16 * (alpha_t * x_0.abs() + z.abs())).all())
    # N = n*d i.i.d. N(0, sigma^2) entries: the sample variance has standard error
    # sigma^2 sqrt(2/(N-1)) and the mean sigma/sqrt(N); allow 5 standard errors.
    N = n * d
    var_hat = float(z.var())
    assert abs(var_hat - sigma_t**2) < 5 * sigma_t**2 * math.sqrt(2 / (N - 1))
    assert abs(float(z.mean())) < 5 * sigma_t / math.sqrt(N)


def test_add_noise_per_row_times():
    """With t of shape (n,), row i gets noise of sd sigma_{t_i}; rows with t_i = 0 get none."""
    g = torch.Generator().manual_seed(2)
    n, d = 30_000, 2
    x_0 = torch.randn(n, d, generator=g, dtype=torch.float64)
    t = torch.rand(n, generator=g, dtype=torch.float64) * 3.0 + 0.05
    t[:100] = 0.0
    x_t, z = diffedu.add_noise(x_0, t, generator=g)
    assert torch.equal(x_t[:100], x_0[:100]) and torch.equal(
        z[:100], torch.zeros(100, d, dtype=torch.float64)
    )
    alpha_t = torch.exp(-t)[:, None]
    torch.testing.assert_close(x_t, alpha_t * x_0 + z, rtol=0, atol=1e-15)
    # z_i / sigma_{t_i} ~ N(0, 1) i.i.d. over the N = (n - 100) d entries: 5 standard errors.
    std = z[100:] / diffedu.ou_sigma(t[100:])[:, None]
    N = std.numel()
    assert abs(float(std.var()) - 1) < 5 * math.sqrt(2 / (N - 1))
    # Rows with t > 1 and rows with t < 1 differ in variance, so one scalar t would fail this.
    big, small = t > 1.5, (t > 0) & (t < 0.3)
    assert float(z[big].var()) > 2 * float(z[small].var())


def test_add_noise_dtype_and_generator():
    """add_noise keeps x_0's dtype and is reproducible for a given generator seed."""
    x_0 = torch.zeros(5, 2, dtype=torch.float32)
    a, za = diffedu.add_noise(x_0, 0.5, generator=torch.Generator().manual_seed(3))
    b, zb = diffedu.add_noise(x_0, 0.5, generator=torch.Generator().manual_seed(3))
    assert a.dtype == za.dtype == torch.float32
    assert torch.equal(a, b) and torch.equal(za, zb)


@pytest.mark.parametrize("fn", [diffedu.ou_alpha, diffedu.ou_sigma])
@pytest.mark.parametrize("t", [-0.1, float("nan"), float("inf"), [0.1, -1e-9]])
def test_alpha_sigma_reject_bad_times(fn, t):
    """Negative, NaN or infinite times are rejected naming t."""
    with pytest.raises(ValueError, match="t must"):
        fn(t)


@pytest.mark.parametrize("fn", [diffedu.ou_alpha, diffedu.ou_sigma])
def test_alpha_sigma_reject_strings(fn):
    """A string time is a TypeError naming t."""
    with pytest.raises(TypeError, match="t must"):
        fn("0.5")


def test_add_noise_rejects_bad_input():
    """add_noise rejects a wrong x_0 shape, non-finite x_0, bad t and mismatched per-row t."""
    x_0 = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="x_0"):
        diffedu.add_noise(torch.zeros(4), 0.1)
    with pytest.raises(ValueError, match="x_0"):
        diffedu.add_noise(torch.tensor([[0.0, float("nan")]]), 0.1)
    with pytest.raises(TypeError, match="x_0"):
        diffedu.add_noise("x", 0.1)
    with pytest.raises(ValueError, match="t must"):
        diffedu.add_noise(x_0, -1.0)
    with pytest.raises(ValueError, match="t must"):
        diffedu.add_noise(x_0, float("nan"))
    with pytest.raises(ValueError, match="t must"):
        diffedu.add_noise(x_0, torch.full((5,), 0.1))
    with pytest.raises(TypeError, match="t must"):
        diffedu.add_noise(x_0, "0.1")
