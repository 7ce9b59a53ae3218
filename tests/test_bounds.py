"""Tests for diffedu.bounds: hand-computed values, monotonicity, log variants, bad input."""

import math

import pytest

from diffedu import bounds

BASE = {"d": 4, "P": 100, "D": 3, "Theta": 10.0, "eps": 0.1, "gamma": 0.01}


def test_steps_needed_hand_value():
    """d=4, eps=delta=0.5, gamma=e^-2, m_2=1: T=log(3/1)=log 3, N = 4 (log3 + 2)^2 / 0.5."""
    T = max(1.0, math.log((2 + 1) / (0.5 + 0.5)))
    expected = 4 * (T + 2) ** 2 / (0.25 + 0.25)
    assert bounds.steps_needed(4, 0.5, 0.5, math.exp(-2)) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(8 * (math.log(3) + 2) ** 2)


def test_steps_needed_uses_t_at_least_one():
    """d=1, m_2=0.1, eps+delta=1.8: log(1.1/1.8) < 0, so T = 1 and N = (1 + 1)^2 / 1.62."""
    got = bounds.steps_needed(1, 0.9, 0.9, math.exp(-1), m_2=0.1)
    assert got == pytest.approx(4 / 1.62, rel=1e-12)


def test_per_time_hand_value():
    """d=2, P=10, D=2, Theta=e, eps=0.5, delta_score=0.5, delta_train=1/e, m_2=1:
    (2 + 1) * 20 / (0.25 * 0.5) * log(e * e) = 60 * 8 * 2 = 960."""
    got = bounds.samples_needed_per_time(2, 10, 2, math.e, 0.5, 0.5, math.exp(-1))
    assert got == pytest.approx(960.0, rel=1e-12)


def test_gppx_hand_value():
    """d=2, P=10, D=3, Theta=e, eps=0.5, gamma=e^-2: 4 * 30 * 1 * 2^3 / 0.5^3 = 7680."""
    got = bounds.samples_needed_gppx(2, 10, 3, math.e, 0.5, math.exp(-2))
    assert got == pytest.approx(4 * 30 * 8 * 8, rel=1e-12)
    got5 = bounds.samples_needed_gppx(2, 10, 3, math.e, 0.5, math.exp(-2), eps_exponent=5)
    assert got5 == pytest.approx(4 * 30 * 8 * 32, rel=1e-12)


def test_bmr_hand_value():
    """d=4, P=2, D=2, Theta=2, eps=0.5, gamma=0.5: 32 * (8)^2 * sqrt 2 / (0.125 * 0.25)."""
    got = bounds.samples_needed_bmr(4, 2, 2, 2.0, 0.5, 0.5)
    assert got == pytest.approx(32 * 64 * math.sqrt(2) / (0.125 * 0.25), rel=1e-12)


def test_constants_scale_linearly():
    """The constant c multiplies every bound."""
    for fn, args in [
        (bounds.samples_needed_gppx, BASE),
        (bounds.samples_needed_bmr, BASE),
    ]:
        assert fn(**args, c=7.0) == pytest.approx(7 * fn(**args), rel=1e-12)
    assert bounds.steps_needed(4, 0.1, 0.1, 0.01, c=3.0) == pytest.approx(
        3 * bounds.steps_needed(4, 0.1, 0.1, 0.01), rel=1e-12
    )


@pytest.mark.parametrize("fn", [bounds.samples_needed_gppx, bounds.samples_needed_bmr])
@pytest.mark.parametrize(
    ("name", "small", "large"),
    [("d", 2, 8), ("P", 50, 500), ("D", 2, 6), ("Theta", 2.0, 50.0)],
)
def test_bounds_increase_in_sizes(fn, name, small, large):
    """Both bounds increase in d, P, D and Theta."""
    assert fn(**{**BASE, name: small}) < fn(**{**BASE, name: large})


@pytest.mark.parametrize("fn", [bounds.samples_needed_gppx, bounds.samples_needed_bmr])
@pytest.mark.parametrize("name", ["eps", "gamma"])
def test_bounds_increase_as_accuracy_tightens(fn, name):
    """Both bounds increase in 1/eps and 1/gamma."""
    assert fn(**{**BASE, name: 0.2}) < fn(**{**BASE, name: 0.02}) < fn(**{**BASE, name: 0.002})


def test_gppx_increases_in_exponent():
    """With eps < 1, a larger eps exponent means more samples."""
    assert bounds.samples_needed_gppx(**BASE, eps_exponent=3) < bounds.samples_needed_gppx(
        **BASE, eps_exponent=5
    )


def test_steps_needed_monotone():
    """N increases in d, 1/eps, 1/delta, 1/gamma and m_2."""
    f = bounds.steps_needed
    assert f(2, 0.1, 0.1, 0.01) < f(8, 0.1, 0.1, 0.01)
    assert f(4, 0.2, 0.1, 0.01) < f(4, 0.05, 0.1, 0.01)
    assert f(4, 0.1, 0.2, 0.01) < f(4, 0.1, 0.05, 0.01)
    assert f(4, 0.1, 0.1, 0.1) < f(4, 0.1, 0.1, 0.001)
    assert f(4, 0.1, 0.1, 0.01, m_2=1.0) < f(4, 0.1, 0.1, 0.01, m_2=10.0)


def test_per_time_monotone_and_free_of_sigma():
    """The per-time count increases in every size and accuracy, and takes no time argument."""
    f = bounds.samples_needed_per_time
    args = {"d": 4, "P": 100, "D": 3, "Theta": 10.0, "eps": 0.1}
    args |= {"delta_score": 0.1, "delta_train": 0.1}
    for name, small, large in [
        ("d", 2, 8),
        ("P", 10, 100),
        ("D", 2, 5),
        ("Theta", 2.0, 20.0),
        ("eps", 0.2, 0.05),
        ("delta_score", 0.2, 0.05),
        ("delta_train", 0.2, 0.05),
        ("m_2", 2.0, 20.0),
    ]:
        assert f(**{**args, name: small}) < f(**{**args, name: large}), name


@pytest.mark.parametrize(
    "fn", [bounds.samples_needed_gppx, bounds.samples_needed_bmr, bounds.samples_needed_composed]
)
def test_log_variant_matches(fn):
    """log=True returns the natural log of the plain value."""
    assert fn(**BASE, log=True) == pytest.approx(math.log(fn(**BASE)), rel=1e-12)


def test_bmr_overflow_is_inf_and_log_is_finite():
    """For a deep network BMR's value overflows to inf while its log stays finite."""
    args = {**BASE, "D": 200, "P": 10**6}
    assert bounds.samples_needed_bmr(**args) == math.inf
    log_m = bounds.samples_needed_bmr(**args, log=True)
    assert math.isfinite(log_m) and log_m > 709


def test_composed_has_eps_exponent_five():
    """Composing Theorem B.7 with Lemma C.1 (delta_score = eps) gives a slope near 5 in 1/eps.

    The slope of log m against log(1/eps) is 2 (N) + 3 (per time) plus log-factor terms that
    shrink as eps -> 0; between eps = 1e-6 and 1e-8 they add less than 0.3.
    """
    args = {k: v for k, v in BASE.items() if k != "eps"}
    lo = bounds.samples_needed_composed(**args, eps=1e-6, log=True)
    hi = bounds.samples_needed_composed(**args, eps=1e-8, log=True)
    slope = (hi - lo) / math.log(100)
    assert 5.0 < slope < 5.3
    gppx3 = [bounds.samples_needed_gppx(**args, eps=e, log=True) for e in (1e-6, 1e-8)]
    assert (gppx3[1] - gppx3[0]) / math.log(100) == pytest.approx(3.0)


def test_composed_is_product_of_steps_and_per_time():
    """The composed count is exactly N(eps/sqrt L, eps) times the per-time count."""
    eps, gamma = 0.1, 0.01
    eps_step = eps / math.sqrt(math.log(1 / gamma))
    n = bounds.steps_needed(4, eps_step, eps, gamma)
    per = bounds.samples_needed_per_time(4, 100, 3, 10.0, eps_step, eps, 0.01)
    assert bounds.samples_needed_composed(**BASE) == pytest.approx(n * per, rel=1e-12)


def test_crossover_solves_equality():
    """At the returned 1/gamma the two bounds agree; beyond it GPPX is smaller."""
    args = {"d": 2, "P": 2, "D": 1, "Theta": 1.5, "eps": 0.01}
    inv_gamma = bounds.crossover_inverse_gamma(**args, eps_exponent=5)
    assert inv_gamma > math.e
    g = 1 / inv_gamma
    gppx = bounds.samples_needed_gppx(**args, gamma=g, eps_exponent=5, log=True)
    bmr = bounds.samples_needed_bmr(**args, gamma=g, log=True)
    assert gppx == pytest.approx(bmr, abs=1e-8)
    for gamma in (g * 2, g / 10):
        gap = bounds.samples_needed_gppx(**args, gamma=gamma, eps_exponent=5) - (
            bounds.samples_needed_bmr(**args, gamma=gamma)
        )
        assert (gap < 0) == (gamma < g)


def test_crossover_when_gppx_always_smaller():
    """With a deep, wide network GPPX is smaller already at gamma = 1/e: the answer is e."""
    args = {k: v for k, v in BASE.items() if k != "gamma"}
    assert bounds.crossover_inverse_gamma(**{**args, "D": 5}) == pytest.approx(math.e)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d": 0}, "d"),
        ({"P": 0.5}, "P"),
        ({"D": -1}, "D"),
        ({"Theta": 1.0}, "Theta"),
        ({"eps": 1.0}, "eps"),
        ({"eps": 0.0}, "eps"),
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": 0.0}, "gamma"),
        ({"c": 0.0}, "c"),
    ],
)
@pytest.mark.parametrize("fn", [bounds.samples_needed_gppx, bounds.samples_needed_bmr])
def test_bad_input_raises(fn, kwargs, match):
    """Each bad argument raises a ValueError naming it."""
    with pytest.raises(ValueError, match=match):
        fn(**{**BASE, **kwargs})


def test_bad_input_other_functions():
    """steps_needed, the per-time count and the exponent reject bad arguments by name."""
    with pytest.raises(ValueError, match="delta"):
        bounds.steps_needed(4, 0.1, 1.0, 0.01)
    with pytest.raises(ValueError, match="m_2"):
        bounds.steps_needed(4, 0.1, 0.1, 0.01, m_2=0.0)
    with pytest.raises(ValueError, match="delta_train"):
        bounds.samples_needed_per_time(4, 10, 2, 2.0, 0.1, 0.1, 0.0)
    with pytest.raises(ValueError, match="eps_exponent"):
        bounds.samples_needed_gppx(**BASE, eps_exponent=0)
    with pytest.raises(TypeError, match="d"):
        bounds.samples_needed_gppx(**{**BASE, "d": "4"})
    with pytest.raises(ValueError, match="eps"):
        bounds.samples_needed_gppx(**{**BASE, "eps": math.nan})


def test_w2_coupling_bound_matches_monte_carlo():
    """E||x_0 - x_gamma||^2 under x_gamma = e^-gamma x_0 + z, by Monte Carlo on a 2-D mixture,
    equals the squared bound within 5 standard errors (so a sign error in either term fails)."""
    import torch

    import diffedu

    g = torch.Generator().manual_seed(0)
    q_0 = diffedu.GaussianMixture(
        weights=[0.3, 0.7], means=[[-2.0, 1.0], [3.0, 0.5]], covs=[0.2, 0.5]
    )
    m_2 = math.sqrt(q_0.second_moment())
    n = 400_000
    for gamma in (0.05, 0.5, 2.0):
        x_0 = q_0.sample(n, generator=g)
        x_gamma = diffedu.add_noise(x_0, gamma, generator=g)[0]
        sq = (x_0 - x_gamma).pow(2).sum(dim=1)
        mean, se = float(sq.mean()), float(sq.std() / math.sqrt(n))
        bound = bounds.w2_coupling_bound(gamma, m_2, d=2)
        assert abs(bound**2 - mean) < 5 * se, (gamma, bound**2, mean, se)


def test_w2_coupling_bound_closed_form_and_loose_bound():
    """At gamma = 0.5, m_2 = 2, d = 3: (1 - e^-0.5)^2 4 + 3 (1 - e^-1), which lies below the
    loose bound gamma^2 m_2^2 + 2 gamma d."""
    got = bounds.w2_coupling_bound(0.5, 2.0, d=3)
    expected = math.sqrt((1 - math.exp(-0.5)) ** 2 * 4 + 3 * (1 - math.exp(-1)))
    assert got == pytest.approx(expected, rel=1e-12)
    assert got**2 < 0.5**2 * 4 + 2 * 0.5 * 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gamma": 0.0, "m_2": 1.0}, "gamma"),
        ({"gamma": 0.1, "m_2": -1.0}, "m_2"),
        ({"gamma": 0.1, "m_2": 1.0, "d": 0}, "d"),
        ({"gamma": "0.1", "m_2": 1.0}, "gamma"),
    ],
)
def test_w2_coupling_bound_bad_input(kwargs, match):
    """Bad gamma, m_2 or d raise an error naming the argument."""
    with pytest.raises((ValueError, TypeError), match=match):
        bounds.w2_coupling_bound(**kwargs)


def test_steps_for_discretisation_hand_value():
    """d = 2, eps = 0.1, gamma = 0.01, m_2 = 1: T = log((sqrt 2 + 1)/0.1), N = 2 (T + log 100)^2
    / 0.01, computed by hand."""
    T = math.log((math.sqrt(2) + 1) / 0.1)
    expected = 2 * (T + math.log(100)) ** 2 / 0.01
    assert bounds.steps_for_discretisation(2, 0.1, 0.01) == pytest.approx(expected, rel=1e-12)
    assert 12_000 < expected < 12_300  # the hand value: 2 * 7.789^2 / 0.01 = 12134


def test_steps_for_discretisation_makes_the_discretisation_term_eps():
    """At the returned N, sqrt(d/N) (T + log 1/gamma) equals eps and (sqrt d + m_2) e^-T <= eps,
    Corollary B.6's two terms, for several d, eps, gamma, m_2."""
    for d, eps, gamma, m_2 in [(1, 0.5, 0.1, 1.0), (3, 0.01, 1e-4, 2.0), (10, 0.2, 0.5, 0.3)]:
        n = bounds.steps_for_discretisation(d, eps, gamma, m_2)
        T = max(1.0, math.log((math.sqrt(d) + m_2) / eps))
        assert math.sqrt(d / n) * (T + math.log(1 / gamma)) == pytest.approx(eps, rel=1e-12)
        assert (math.sqrt(d) + m_2) * math.exp(-T) <= eps * (1 + 1e-12)


def test_steps_for_discretisation_floor_and_log():
    """T is floored at 1 (d = 1, m_2 = 1, eps = 0.9 would give log(2/0.9) < 1); log=True is the
    log of the count; c multiplies it."""
    got = bounds.steps_for_discretisation(1, 0.9, 0.5)
    assert got == pytest.approx((1 + math.log(2)) ** 2 / 0.81, rel=1e-12)
    assert bounds.steps_for_discretisation(1, 0.9, 0.5, log=True) == pytest.approx(math.log(got))
    assert bounds.steps_for_discretisation(1, 0.9, 0.5, c=3.0) == pytest.approx(3 * got)


def test_a2_level_hand_value_with_given_steps():
    """With N given: delta eps^3 / (c N^2 sigma^2 log((d + m_2 + 1/m_2)/gamma)), by hand at
    d = 2, eps = 0.1, delta = 0.01, gamma = 0.01, sigma = 0.5, m_2 = 2, N = 40, c = 3."""
    expected = 0.01 * 0.1**3 / (3 * 40**2 * 0.25 * math.log((2 + 2 + 0.5) / 0.01))
    got = bounds.a2_approximation_level(2, 0.1, 0.01, 0.01, 0.5, 2.0, n_steps=40, c=3.0)
    assert got == pytest.approx(expected, rel=1e-12)


def test_a2_level_default_steps_come_from_corollary_b6():
    """Without n_steps the level uses N = steps_for_discretisation(d, eps, gamma, m_2)."""
    n = bounds.steps_for_discretisation(3, 0.05, 1e-3, 1.5)
    assert bounds.a2_approximation_level(3, 0.05, 0.01, 1e-3, 0.2, 1.5) == pytest.approx(
        bounds.a2_approximation_level(3, 0.05, 0.01, 1e-3, 0.2, 1.5, n_steps=n), rel=1e-12
    )


def test_a2_level_eps_exponents_seven_and_three():
    """d log(level) / d log(eps) is 7 + 4 / (T + log 1/gamma) with the Corollary B.6 count
    (differentiate log N = log d + 2 log(T + L) - 2 log eps, T = log((sqrt d + m_2)/eps)), and
    exactly 3 with a fixed N."""
    d, gamma, eps, h = 2, 0.01, 1e-4, 1e-4
    T = math.log((math.sqrt(d) + 1) / eps)

    def slope(**kw):
        lo = bounds.a2_approximation_level(d, eps * math.exp(-h), 0.01, gamma, log=True, **kw)
        hi = bounds.a2_approximation_level(d, eps * math.exp(h), 0.01, gamma, log=True, **kw)
        return (hi - lo) / (2 * h)

    assert slope() == pytest.approx(7 + 4 / (T + math.log(1 / gamma)), rel=1e-6)
    assert slope(n_steps=d * math.log(1 / gamma) ** 2) == pytest.approx(3, rel=1e-9)


@pytest.mark.parametrize(
    ("fn", "kwargs", "match"),
    [
        ("steps_for_discretisation", {"d": 0, "eps": 0.1, "gamma": 0.1}, "d"),
        ("steps_for_discretisation", {"d": 2, "eps": 1.0, "gamma": 0.1}, "eps"),
        ("steps_for_discretisation", {"d": 2, "eps": 0.1, "gamma": 0.0}, "gamma"),
        ("steps_for_discretisation", {"d": 2, "eps": 0.1, "gamma": 0.1, "m_2": 0}, "m_2"),
        ("steps_for_discretisation", {"d": 2, "eps": 0.1, "gamma": 0.1, "c": -1}, "c"),
        ("a2_approximation_level", {"d": 2, "eps": 0.0, "delta_train": 0.1, "gamma": 0.1}, "eps"),
        ("a2_approximation_level", {"d": 2, "eps": 0.1, "delta_train": 1, "gamma": 0.1}, "delta"),
        ("a2_approximation_level", {"d": 2, "eps": 0.1, "delta_train": 0.1, "gamma": 2}, "gamma"),
        (
            "a2_approximation_level",
            {"d": 2, "eps": 0.1, "delta_train": 0.1, "gamma": 0.1, "sigma_t": 0.0},
            "sigma_t",
        ),
        (
            "a2_approximation_level",
            {"d": 2, "eps": 0.1, "delta_train": 0.1, "gamma": 0.1, "n_steps": 0.5},
            "n_steps",
        ),
        ("a2_approximation_level", {"d": "2", "eps": 0.1, "delta_train": 0.1, "gamma": 0.1}, "d"),
    ],
)
def test_new_bounds_bad_input(fn, kwargs, match):
    """Bad arguments of the step count and the A2 level raise an error naming the argument."""
    with pytest.raises((ValueError, TypeError), match=match):
        getattr(bounds, fn)(**kwargs)


# ----- Corollary B.6: the sampler's TV budget ------------------------------------------------


def test_budget_equals_hand_computation_and_is_monotone():
    """The budget is the sum of the four terms of Corollary B.6 and moves the right way."""
    args = dict(delta=0.01, eps=0.1, d=4, N=100, T=5.0, gamma=1e-3, m_2=2.0)
    length = 5.0 + math.log(1e3)
    hand = 0.01 + 0.1 * math.sqrt(length) + math.sqrt(4 / 100) * length + (2.0 + 2.0) * math.exp(-5)
    total, parts = bounds.sampling_error_budget(**args, terms=True)
    assert total == pytest.approx(hand, rel=1e-14)
    assert sum(parts.values()) == pytest.approx(total, rel=1e-14)
    base = bounds.sampling_error_budget(**args)
    for name, larger in (("delta", 0.1), ("eps", 0.2), ("d", 9), ("m_2", 3.0), ("gamma", 1e-4)):
        assert bounds.sampling_error_budget(**{**args, name: larger}) > base, name
    assert bounds.sampling_error_budget(**{**args, "N": 400}) < base
    assert bounds.sampling_error_budget(**{**args, "c_disc": 2.0}) > base


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"delta": 0.0}, "delta"),
        ({"gamma": 1.5}, "gamma"),
        ({"T": 0.0}, "T must"),
        ({"N": 0}, "N must"),
        ({"d": 0}, "d must"),
        ({"eps": -1.0}, "eps"),
    ],
)
def test_budget_bad_input(kwargs, match):
    """Each bad argument of sampling_error_budget raises a ValueError naming it."""
    args = dict(delta=0.01, eps=0.1, d=4, N=100, T=5.0, gamma=1e-3, m_2=2.0)
    with pytest.raises(ValueError, match=match):
        bounds.sampling_error_budget(**{**args, **kwargs})


def test_bounds_imports_no_torch():
    """bounds.py and its validators load and run in a process where torch cannot be imported."""
    import pathlib
    import subprocess
    import sys

    package = pathlib.Path(bounds.__file__).parent
    script = f"""
import importlib, sys, types
sys.modules["torch"] = None  # any `import torch` now raises ImportError
pkg = types.ModuleType("diffedu")
pkg.__path__ = [{str(package)!r}]  # the package's folder, without running its __init__
sys.modules["diffedu"] = pkg
bounds = importlib.import_module("diffedu.bounds")
budget = bounds.sampling_error_budget(0.1, 0.1, 2, 10, 3.0, 0.01, 1.0)
print(bounds.steps_needed(4, 0.5, 0.5, 0.1) > 0, budget > 0)
try:
    bounds.steps_needed(0, 0.5, 0.5, 0.1)
except ValueError as err:
    print(err)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True True", "d must be >= 1; got 0.0"]
