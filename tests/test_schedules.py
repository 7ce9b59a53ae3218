"""Tests for diffedu.schedules: uniform and early-stopped (uniform-then-geometric) time grids."""

import math

import pytest
import torch

import diffedu

SCHEDULES = [diffedu.uniform_schedule, diffedu.early_stopped_schedule]
CASES = [  # (T, gamma, n_steps), all inside the documented domain T > gamma > 0, n_steps >= 1
    (8.0, 1e-3, 200),
    (8.0, 1e-3, 20),
    (3.0, 1e-5, 57),
    (12.0, 0.5, 9),
    (1.0, 1e-3, 30),  # T <= 1: all geometric
    (0.5, 0.01, 7),
    (5.0, 1.0, 10),  # gamma >= 1: all uniform
    (8.0, 2.0, 13),
    (8.0, 1e-3, 1),
    (8.0, 1e-3, 2),
    (1.0 + 1e-9, 1e-12, 40),
]


def _split(ts: torch.Tensor):
    """The part of the grid at t >= 1 and the part at t <= 1 (both contain 1 when it is a node)."""
    return ts[ts >= 1.0], ts[ts <= 1.0]


@pytest.mark.parametrize("schedule", SCHEDULES)
@pytest.mark.parametrize("T, gamma, n_steps", CASES)
def test_schedule_endpoints_shape_dtype_decreasing(schedule, T, gamma, n_steps):
    """ts is float64 of shape (n_steps + 1,), strictly decreasing, ts[0] = T and ts[-1] = gamma."""
    ts = schedule(T, gamma, n_steps)
    assert ts.dtype == torch.float64
    assert ts.shape == (n_steps + 1,)
    assert float(ts[0]) == T and float(ts[-1]) == gamma
    assert bool((ts[1:] < ts[:-1]).all())


@pytest.mark.parametrize("T, gamma, n_steps", CASES)
def test_uniform_schedule_constant_steps(T, gamma, n_steps):
    """uniform_schedule has equal steps (T - gamma) / n_steps."""
    h = -torch.diff(diffedu.uniform_schedule(T, gamma, n_steps))
    torch.testing.assert_close(h, torch.full_like(h, (T - gamma) / n_steps), rtol=1e-12, atol=0)


@pytest.mark.parametrize("T, gamma, n_steps", [c for c in CASES if c[0] > 1 > c[1] and c[2] > 1])
def test_early_stopped_uniform_above_one_geometric_below(T, gamma, n_steps):
    """early_stopped_schedule has constant differences on t >= 1 and constant ratios on t <= 1."""
    ts = diffedu.early_stopped_schedule(T, gamma, n_steps)
    upper, lower = _split(ts)
    assert 1.0 in ts.tolist()  # the grid switches exactly at t = 1
    assert upper.numel() >= 2 and lower.numel() >= 2  # at least one step in each part
    h = -torch.diff(upper)
    torch.testing.assert_close(h, torch.full_like(h, h.mean()), rtol=1e-10, atol=0)
    ratios = lower[1:] / lower[:-1]
    torch.testing.assert_close(ratios, torch.full_like(ratios, ratios.mean()), rtol=1e-10, atol=0)


@pytest.mark.parametrize("T", [3.0, 8.0, 12.0])
@pytest.mark.parametrize("gamma", [1e-2, 1e-3, 1e-5])
@pytest.mark.parametrize("n_steps", [20, 50, 200, 1000])
def test_early_stopped_parts_have_same_kappa(T, gamma, n_steps):
    """The uniform step and the geometric relative step 1 - ratio agree within a factor 2."""
    ts = diffedu.early_stopped_schedule(T, gamma, n_steps)
    upper, lower = _split(ts)
    kappa_uniform = float((-torch.diff(upper)).max())
    kappa_geometric = 1.0 - float((lower[1:] / lower[:-1]).mean())
    assert 0.5 <= kappa_uniform / kappa_geometric <= 2.0
    # Both are of the order of kappa = (T - 1 + log(1/gamma)) / n_steps (Benton et al.).
    kappa = (T - 1 + math.log(1 / gamma)) / n_steps
    assert 0.5 * kappa <= kappa_uniform <= 2.0 * kappa


@pytest.mark.parametrize("T, gamma, n_steps", [(1.0, 1e-3, 30), (0.5, 0.01, 7), (0.9, 0.1, 1)])
def test_early_stopped_all_geometric_when_T_at_most_one(T, gamma, n_steps):
    """With T <= 1 the early-stopped grid is geometric: ts[k] = T (gamma/T)^(k/n_steps)."""
    ts = diffedu.early_stopped_schedule(T, gamma, n_steps)
    k = torch.arange(n_steps + 1, dtype=torch.float64)
    torch.testing.assert_close(ts, T * (gamma / T) ** (k / n_steps), rtol=1e-12, atol=0)


@pytest.mark.parametrize("T, gamma, n_steps", [(5.0, 1.0, 10), (8.0, 2.0, 13), (3.0, 1.5, 1)])
def test_early_stopped_all_uniform_when_gamma_at_least_one(T, gamma, n_steps):
    """With gamma >= 1 the early-stopped grid equals the uniform grid."""
    torch.testing.assert_close(
        diffedu.early_stopped_schedule(T, gamma, n_steps),
        diffedu.uniform_schedule(T, gamma, n_steps),
        rtol=1e-14,
        atol=0,
    )


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_single_step_is_endpoints(schedule):
    """n_steps = 1 gives exactly [T, gamma]."""
    ts = schedule(8.0, 1e-3, 1)
    assert ts.tolist() == [8.0, 1e-3]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_reject_bad_input(schedule):
    """Bad T, gamma and n_steps are rejected naming the argument."""
    with pytest.raises(ValueError, match="gamma"):
        schedule(8.0, 0.0, 10)
    with pytest.raises(ValueError, match="gamma"):
        schedule(8.0, -1e-3, 10)
    with pytest.raises(ValueError, match="T must"):
        schedule(1e-3, 1e-3, 10)
    with pytest.raises(ValueError, match="T must"):
        schedule(0.5, 1.0, 10)
    with pytest.raises(ValueError, match="n_steps"):
        schedule(8.0, 1e-3, 0)
    with pytest.raises(ValueError, match="n_steps"):
        schedule(8.0, 1e-3, -3)
    with pytest.raises(TypeError, match="n_steps"):
        schedule(8.0, 1e-3, 2.5)
    with pytest.raises(TypeError, match="n_steps"):
        schedule(8.0, 1e-3, 10.0)
    with pytest.raises(TypeError, match="n_steps"):
        schedule(8.0, 1e-3, "10")
    with pytest.raises(ValueError, match="T must"):
        schedule(float("nan"), 1e-3, 10)
    with pytest.raises(ValueError, match="gamma"):
        schedule(8.0, float("inf"), 10)
    with pytest.raises(TypeError, match="T must"):
        schedule("8", 1e-3, 10)


def test_check_schedule_accepts_every_schedule_and_returns_float64_cpu():
    """The package's grid check passes the schedules unchanged, as float64 CPU tensors."""
    for schedule in SCHEDULES:
        ts = schedule(8.0, 1e-3, 40)
        checked = diffedu.check_schedule(ts)
        assert checked.dtype == torch.float64 and checked.device.type == "cpu"
        assert torch.equal(checked, ts)
    assert diffedu.check_schedule([2.0, 0.5, 0.0]).tolist() == [2.0, 0.5, 0.0]
    assert diffedu.check_schedule(0.3, min_times=1, positive=True).tolist() == [0.3]


@pytest.mark.parametrize(
    ("ts", "kwargs", "match"),
    [
        ([0.1, 0.5, 1.0], {}, "ts must be strictly decreasing"),
        ([1.0, 0.5, 0.5, 0.1], {}, "ts must be strictly decreasing"),
        ([1.0], {}, "ts must be a 1-D tensor of at least 2 times"),
        ([], {"min_times": 1}, "ts must be a 1-D tensor of at least 1 time"),
        ([[1.0, 0.5]], {}, "ts must be a 1-D tensor"),
        ([1.0, 0.5, -0.1], {}, "ts must be >= 0"),
        ([1.0, 0.0], {"positive": True}, "ts must be > 0"),
        ([1.0, float("nan"), 0.1], {}, "ts must be finite"),
    ],
)
def test_check_schedule_rejects_bad_grids(ts, kwargs, match):
    """Increasing, repeated, too short, 2-D, negative, zero (when positive) or NaN times fail."""
    with pytest.raises(ValueError, match=match):
        diffedu.check_schedule(ts, **kwargs)
    with pytest.raises(TypeError, match="grid must"):
        diffedu.check_schedule("1.0, 0.1", "grid")
