"""Tests for diffedu.sample: the exponential-integrator DDPM sampler and its starting law."""

import math

import numpy as np
import pytest
import torch

import diffedu

# The 1-D target of the sampler tests, and the run it is checked on.
MIX = diffedu.GaussianMixture([0.3, 0.7], [-2.0, 1.5], [0.25, 0.5])
T, GAMMA, N_SAMPLES = 8.0, 1e-3, 20_000
STEP_COUNTS = (5, 20, 200)
N_REFERENCE = 4  # independent exact-sample sets for the W2 noise level


def _variance_tolerance(var: float, n: int) -> float:
    """Five standard errors of the sample variance of n Gaussian draws: 5 var sqrt(2/(n-1))."""
    return 5 * var * math.sqrt(2 / (n - 1))


@pytest.fixture(scope="module")
def sampler_runs():
    """W2 and TV to q_gamma of sampler outputs (common seed per step count) and of exact samples."""
    q_gamma = MIX.noised(GAMMA)
    runs = {"w2": {}, "tv": {}}
    # One intra-op thread: 1-D work of this size gains nothing from more, and on a shared
    # 2-core machine thread contention slows these 225 small steps by 10x or more.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for n_steps in STEP_COUNTS:
            g = torch.Generator().manual_seed(20)
            x_T = diffedu.standard_normal(N_SAMPLES, 1, generator=g)
            ts = diffedu.early_stopped_schedule(T, GAMMA, n_steps)
            samples = diffedu.ddpm_sample(MIX.score, x_T, ts, generator=g)
            assert samples.shape == (N_SAMPLES, 1)
            runs["w2"][n_steps] = diffedu.wasserstein2_1d(samples, q_gamma)
            runs["tv"][n_steps] = diffedu.tv_distance_1d(samples, q_gamma)
        # W2 noise level: the empirical W2 of N_SAMPLES exact draws of q_gamma, root mean
        # square over N_REFERENCE independent sets (about 0.02-0.05 at n = 2e4, heavy-tailed).
        g = torch.Generator().manual_seed(21)
        exact = [
            diffedu.wasserstein2_1d(q_gamma.sample(N_SAMPLES, generator=g), q_gamma)
            for _ in range(N_REFERENCE)
        ]
        runs["noise"] = math.sqrt(np.mean(np.square(exact)))
    finally:
        torch.set_num_threads(n_threads)
    return runs


def test_sampler_with_exact_score_reaches_q_gamma(sampler_runs):
    """With the exact score and 200 early-stopped steps the output is near q_gamma in W2 and TV."""
    n_steps = STEP_COUNTS[-1]
    kappa = (T - 1 + math.log(1 / GAMMA)) / n_steps  # the schedule's step parameter, ~0.07
    # The scheme is first order, so its own W2 error is O(kappa) (about kappa/2 measured with
    # n = 1e6); allow 2 x the sampling noise + kappa.
    assert sampler_runs["w2"][n_steps] < 2 * sampler_runs["noise"] + kappa
    # TV: exact samples give about tv_noise_floor_1d (0.021 with the default 55 bins; one
    # estimate has relative sd ~0.1, so 1.3 x floor is 3 sd) plus a discretisation
    # allowance of kappa/4 (about kappa/8 measured with n = 1e6).
    n_bins = max(10, math.ceil(2 * N_SAMPLES ** (1 / 3)))
    floor = diffedu.tv_noise_floor_1d(N_SAMPLES, n_bins)
    assert sampler_runs["tv"][n_steps] < 1.3 * floor + kappa / 4


def test_sampler_error_decreases_with_more_steps(sampler_runs):
    """W2 to q_gamma decreases from 5 to 20 to 200 steps, by more than twice the noise level."""
    errors = [sampler_runs["w2"][n] for n in STEP_COUNTS]
    # Each W2 is off by about `noise` from the W2 of the sampler's law, so a gap larger than
    # 2 x noise is not sampling noise.
    for coarse, fine in zip(errors[:-1], errors[1:], strict=False):
        assert coarse - fine > 2 * sampler_runs["noise"], errors


@pytest.mark.parametrize("h", [0.05, 0.5, 1.0])
def test_one_step_on_standard_gaussian_has_exact_moments(h):
    """q_0 = N(0,1), score -x, one step of length h from x: mean (2 - e^h) x, var e^{2h} - 1."""
    g = torch.Generator().manual_seed(22)
    n = 200_000
    ts = torch.tensor([3.0, 3.0 - h], dtype=torch.float64)
    # From N(0, 1): y = (2 - e^h) x + sqrt(e^{2h} - 1) xi, variance (2 - e^h)^2 + e^{2h} - 1.
    x_T = diffedu.standard_normal(n, 1, generator=g)
    y = diffedu.ddpm_sample(lambda x, t: -x, x_T, ts, generator=g)
    var = (2 - math.exp(h)) ** 2 + math.expm1(2 * h)
    assert abs(float(y.var()) - var) < _variance_tolerance(var, n)
    assert abs(float(y.mean())) < 5 * math.sqrt(var / n)
    # From a point mass at c: mean (2 - e^h) c exactly in law, variance e^{2h} - 1.
    c = 1.7
    y = diffedu.ddpm_sample(
        lambda x, t: -x, torch.full((n, 1), c, dtype=torch.float64), ts, generator=g
    )
    var_c = math.expm1(2 * h)
    assert abs(float(y.mean()) - (2 - math.exp(h)) * c) < 5 * math.sqrt(var_c / n)
    assert abs(float(y.var()) - var_c) < _variance_tolerance(var_c, n)


def test_many_steps_on_standard_gaussian_follow_variance_recursion():
    """Score -x on any grid: the variance follows v <- (2 - e^h)^2 v + e^{2h} - 1 step by step."""
    g = torch.Generator().manual_seed(23)
    n = 200_000
    ts = diffedu.early_stopped_schedule(4.0, 0.01, 9)
    x_T = diffedu.standard_normal(n, 1, generator=g)
    _, trajectory = diffedu.ddpm_sample(
        lambda x, t: -x, x_T, ts, generator=g, return_trajectory=True
    )
    v = 1.0
    for k, h in enumerate((ts[:-1] - ts[1:]).tolist(), start=1):
        v = (2 - math.exp(h)) ** 2 * v + math.expm1(2 * h)
        assert abs(float(trajectory[k].var()) - v) < _variance_tolerance(v, n), k


def test_zero_score_integrates_linear_drift_exactly():
    """With score 0 the output is e^S x + N(0, e^{2S} - 1), S = T - gamma, on any grid."""
    g = torch.Generator().manual_seed(24)
    n = 200_000
    ts = torch.tensor([1.2, 1.1, 0.7, 0.65, 0.3, 0.05], dtype=torch.float64)  # uneven steps
    S = float(ts[0] - ts[-1])
    c = -0.4
    x_T = torch.full((n, 2), c, dtype=torch.float64)
    y = diffedu.ddpm_sample(lambda x, t: torch.zeros_like(x), x_T, ts, generator=g)
    var = math.expm1(2 * S)
    # Both coordinates pooled: 2n draws.
    assert abs(float(y.var()) - var) < _variance_tolerance(var, 2 * n)
    assert bool((y.mean(0) - math.exp(S) * c).abs().max() < 5 * math.sqrt(var / n))


def test_score_is_frozen_at_step_start_and_trajectory_is_returned():
    """score_fn is called once per step at t = ts[k] (a float); the trajectory starts at x_T."""
    g = torch.Generator().manual_seed(25)
    calls = []

    def score_fn(x, t):
        calls.append(t)
        return -x

    ts = diffedu.uniform_schedule(2.0, 0.1, 6)
    x_T = diffedu.standard_normal(30, 3, generator=g)
    x, trajectory = diffedu.ddpm_sample(score_fn, x_T, ts, generator=g, return_trajectory=True)
    assert calls == ts[:-1].tolist() and all(isinstance(t, float) for t in calls)
    assert trajectory.shape == (7, 30, 3)
    assert torch.equal(trajectory[0], x_T) and torch.equal(trajectory[-1], x)


def test_sampler_reproducible_and_keeps_dtype():
    """The same generator seed gives the same output; the output keeps x_T's dtype and shape."""
    ts = diffedu.uniform_schedule(1.0, 0.1, 4)
    x_T = torch.randn(10, 2, generator=torch.Generator().manual_seed(26), dtype=torch.float32)
    a = diffedu.ddpm_sample(lambda x, t: -x, x_T, ts, generator=torch.Generator().manual_seed(1))
    b = diffedu.ddpm_sample(lambda x, t: -x, x_T, ts, generator=torch.Generator().manual_seed(1))
    assert a.dtype == torch.float32 and a.shape == (10, 2)
    assert torch.equal(a, b)


def test_standard_normal_moments_and_shape():
    """standard_normal(n, d) draws N(0, I_d): mean 0 and variance 1 within 5 standard errors."""
    g = torch.Generator().manual_seed(27)
    n, d = 100_000, 3
    z = diffedu.standard_normal(n, d, generator=g)
    assert z.shape == (n, d) and z.dtype == torch.float64 and z.device == g.device
    assert bool((z.mean(0).abs() < 5 / math.sqrt(n)).all())
    assert bool(((z.var(0) - 1).abs() < _variance_tolerance(1.0, n)).all())
    same = diffedu.standard_normal(n, d, generator=torch.Generator().manual_seed(27))
    assert torch.equal(z, same)
    assert diffedu.standard_normal(4, 2, dtype=torch.float32).dtype == torch.float32


# ----- bad input ------------------------------------------------------------------------------


def test_ddpm_sample_rejects_bad_score_fn():
    """A non-callable score_fn is a TypeError; NaN or wrongly shaped scores are ValueErrors."""
    x_T, ts = torch.zeros(4, 1), diffedu.uniform_schedule(1.0, 0.1, 3)
    with pytest.raises(TypeError, match="score_fn"):
        diffedu.ddpm_sample(MIX.score(x_T), x_T, ts)
    with pytest.raises(TypeError, match="score_fn"):
        diffedu.ddpm_sample(None, x_T, ts)
    with pytest.raises(ValueError, match="score_fn"):
        diffedu.ddpm_sample(lambda x, t: torch.full_like(x, float("nan")), x_T, ts)
    with pytest.raises(ValueError, match="score_fn"):
        diffedu.ddpm_sample(lambda x, t: torch.full_like(x, float("inf")), x_T, ts)
    with pytest.raises(ValueError, match="score_fn"):
        diffedu.ddpm_sample(lambda x, t: torch.zeros(4, 2), x_T, ts)


def test_ddpm_sample_rejects_bad_times_and_start():
    """ts must be a finite, strictly decreasing 1-D grid of >= 2 non-negative times; x_T (n, d)."""
    x_T = torch.zeros(4, 1)

    def score(x, t):
        return -x

    with pytest.raises(ValueError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, torch.tensor([0.1, 0.5, 1.0]))  # increasing
    with pytest.raises(ValueError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, [1.0, 0.5, 0.5, 0.1])  # repeated time
    with pytest.raises(ValueError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, [1.0])
    with pytest.raises(ValueError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, [[1.0, 0.5]])
    with pytest.raises(ValueError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, [1.0, 0.5, -0.1])
    with pytest.raises(ValueError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, [1.0, float("nan"), 0.1])
    with pytest.raises(TypeError, match="ts must"):
        diffedu.ddpm_sample(score, x_T, "1.0, 0.1")
    ts = [1.0, 0.1]
    with pytest.raises(ValueError, match="x_T"):
        diffedu.ddpm_sample(score, torch.zeros(4), ts)
    with pytest.raises(ValueError, match="x_T"):
        diffedu.ddpm_sample(score, torch.tensor([[float("nan")]]), ts)
    with pytest.raises(TypeError, match="x_T"):
        diffedu.ddpm_sample(score, "x", ts)


def test_standard_normal_rejects_bad_sizes():
    """standard_normal rejects n < 1, d < 1 and non-integer sizes, naming the argument."""
    with pytest.raises(ValueError, match="n must"):
        diffedu.standard_normal(0, 2)
    with pytest.raises(ValueError, match="d must"):
        diffedu.standard_normal(5, 0)
    with pytest.raises(TypeError, match="n must"):
        diffedu.standard_normal(2.5, 2)
    with pytest.raises(TypeError, match="d must"):
        diffedu.standard_normal(5, "2")


# ----- the Euler-Maruyama sampler --------------------------------------------------------------


def test_em_one_step_from_a_point_has_mean_y_plus_h_drift_and_variance_2h():
    """One EM step of length h from y: Gaussian, mean y + h (y + 2 s_t(y)), variance 2 h."""
    g = torch.Generator().manual_seed(30)
    n, y0, t_k, h = 200_000, 0.7, 1.0, 0.2
    ts = torch.tensor([t_k, t_k - h], dtype=torch.float64)
    y = torch.full((n, 1), y0, dtype=torch.float64)
    s = float(MIX.score(y[:1], t_k))
    out = diffedu.em_sample(MIX.score, y, ts, generator=g)[:, 0]
    mean, var = y0 + h * (y0 + 2 * s), 2 * h
    # Five standard errors of a sample mean and of a sample variance of n Gaussian draws.
    assert abs(float(out.mean()) - mean) < 5 * math.sqrt(var / n)
    assert abs(float(out.var()) - var) < _variance_tolerance(var, n)
    # Gaussian: the standardised fourth moment is 3 (its standard error is sqrt(96 / n)).
    z = (out - out.mean()) / out.std()
    assert abs(float((z**4).mean()) - 3.0) < 5 * math.sqrt(96 / n)


def test_em_many_steps_on_standard_gaussian_follow_variance_recursion():
    """Score -x: the EM variance follows v <- (1 - h)^2 v + 2 h step by step, not v = 1."""
    g = torch.Generator().manual_seed(31)
    n = 200_000
    ts = diffedu.early_stopped_schedule(4.0, 0.01, 9)
    x_T = diffedu.standard_normal(n, 1, generator=g)
    _, trajectory = diffedu.em_sample(lambda x, t: -x, x_T, ts, generator=g, return_trajectory=True)
    v = 1.0
    for k, h in enumerate((ts[:-1] - ts[1:]).tolist(), start=1):
        v = (1 - h) ** 2 * v + 2 * h
        assert abs(float(trajectory[k].var()) - v) < _variance_tolerance(v, n), k
    # The first step (h = 1 here) is long enough for the recursion to differ from 1 visibly.
    assert v - 1.0 > 10 * _variance_tolerance(1.0, n)


def test_em_and_exponential_integrator_differ_at_order_h_to_the_three_halves():
    """Driven by the same noise, one EM and one exponential step differ by O(h^{3/2}).

    The difference is (e^h - 1 - h)(y + 2 s) + (sqrt(e^{2h} - 1) - sqrt(2h)) xi, whose noise
    part is sqrt(2h) h / 2 + O(h^{5/2}): quartering h divides the mean gap by 4^{3/2} = 8.
    """
    n = 10_000
    y = diffedu.standard_normal(n, 1, generator=torch.Generator().manual_seed(32))
    gaps = []
    for h in (0.01, 0.0025):
        ts = torch.tensor([1.0, 1.0 - h], dtype=torch.float64)
        ei = diffedu.ddpm_sample(MIX.score, y, ts, generator=torch.Generator().manual_seed(33))
        em = diffedu.em_sample(MIX.score, y, ts, generator=torch.Generator().manual_seed(33))
        gaps.append(float((ei - em).abs().mean()))
        # The noise part alone has mean |b| E|xi| = b sqrt(2 / pi), b = sqrt(e^{2h} - 1) - sqrt(2h);
        # the drift part shifts it at second order only. 5% covers 5 standard errors of the
        # mean of |xi| over n draws (relative 0.0075) and that shift.
        b = math.sqrt(math.expm1(2 * h)) - math.sqrt(2 * h)
        assert abs(gaps[-1] / (b * math.sqrt(2 / math.pi)) - 1.0) < 0.05, (h, gaps[-1])
    # The ratio is 8 up to the O(h^2) drift part (measured 8.03).
    assert abs(gaps[0] / gaps[1] / 8.0 - 1.0) < 0.03, gaps


def test_em_with_exact_score_reaches_q_gamma():
    """With the exact score and 200 early-stopped steps, EM's TV to q_gamma is at the noise."""
    g = torch.Generator().manual_seed(34)
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x_T = diffedu.standard_normal(N_SAMPLES, 1, generator=g)
        ts = diffedu.early_stopped_schedule(T, GAMMA, 200)
        y = diffedu.em_sample(MIX.score, x_T, ts, generator=g)
    finally:
        torch.set_num_threads(n_threads)
    n_bins = 40
    floor = diffedu.tv_noise_floor_1d(N_SAMPLES, n_bins)
    # The TV estimate of exact samples is about the floor, with a relative spread of about
    # 0.1; 1.6 x the floor leaves room for EM's first-order error, and a starting point left
    # at N(0, 1) (no steps) is far above it.
    assert diffedu.tv_distance_1d(y, MIX.noised(GAMMA), n_bins=n_bins) < 1.6 * floor
    assert diffedu.tv_distance_1d(x_T, MIX.noised(GAMMA), n_bins=n_bins) > 10 * floor


def test_em_sample_trajectory_reproducible_and_generator_keyword_only():
    """em_sample calls score_fn at each ts[k]; same seed, same output; generator keyword-only."""
    calls = []

    def score_fn(x, t):
        calls.append(t)
        return -x

    ts = diffedu.uniform_schedule(2.0, 0.1, 6)
    x_T = torch.randn(30, 3, generator=torch.Generator().manual_seed(35), dtype=torch.float32)
    x, trajectory = diffedu.em_sample(
        score_fn, x_T, ts, generator=torch.Generator().manual_seed(1), return_trajectory=True
    )
    assert calls == ts[:-1].tolist()
    assert trajectory.shape == (7, 30, 3) and x.dtype == torch.float32
    assert torch.equal(trajectory[0], x_T) and torch.equal(trajectory[-1], x)
    again = diffedu.em_sample(score_fn, x_T, ts, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, x)
    with pytest.raises(TypeError):
        diffedu.em_sample(score_fn, x_T, ts, torch.Generator())


def test_em_sample_rejects_bad_input():
    """em_sample rejects what ddpm_sample rejects, naming the argument."""
    x_T, ts = torch.zeros(4, 1), diffedu.uniform_schedule(1.0, 0.1, 3)

    def score(x, t):
        return -x

    with pytest.raises(TypeError, match="score_fn"):
        diffedu.em_sample(None, x_T, ts)
    with pytest.raises(ValueError, match="score_fn"):
        diffedu.em_sample(lambda x, t: torch.zeros(4, 2), x_T, ts)
    with pytest.raises(ValueError, match="em_sample produced NaN"):
        diffedu.em_sample(lambda x, t: torch.full_like(x, float("nan")), x_T, ts)
    for bad_ts in ([0.1, 0.5, 1.0], [1.0], [1.0, 0.5, -0.1], [1.0, float("nan"), 0.1]):
        with pytest.raises(ValueError, match="ts must"):
            diffedu.em_sample(score, x_T, bad_ts)
    with pytest.raises(ValueError, match="x_T"):
        diffedu.em_sample(score, torch.zeros(4), ts)
    with pytest.raises(ValueError, match="x_T"):
        diffedu.em_sample(score, torch.tensor([[float("inf")]]), ts)
    with pytest.raises(TypeError, match="x_T"):
        diffedu.em_sample(score, "x", ts)
