"""Tests for diffedu.checks: the exercise self-checks report pass or a hint and never raise."""

import math

import pytest
import torch

import diffedu
from diffedu import checks


def _exact_step(y, score, h, xi):
    """The exponential-integrator step e^h y + 2(e^h - 1) score + sqrt(e^{2h} - 1) xi."""
    return math.exp(h) * y + 2 * math.expm1(h) * score + math.sqrt(math.expm1(2 * h)) * xi


def _euler_step(y, score, h, xi):
    """The Euler-Maruyama step y + h (y + 2 score) + sqrt(2h) xi of the same reverse SDE."""
    return y + h * (y + 2 * score) + math.sqrt(2 * h) * xi


def _gaussian_score(x, t, mean, var):
    """Score of q_t for q_0 = N(mean, var): (e^{-t} mean - x) / (e^{-2t} var + 1 - e^{-2t})."""
    return (math.exp(-t) * mean - x) / (math.exp(-2 * t) * var - math.expm1(-2 * t))


def test_check_ddpm_step_accepts_exact_step(capsys):
    """A correct exponential-integrator step passes and prints a pass line."""
    assert checks.check_ddpm_step(_exact_step) is True
    assert "[pass]" in capsys.readouterr().out


def test_check_ddpm_step_flags_euler_maruyama(capsys):
    """The Euler-Maruyama step fails with a hint that names it and the exact factors."""
    assert checks.check_ddpm_step(_euler_step) is False
    out = capsys.readouterr().out
    assert "[not yet]" in out and "Euler" in out and "e^h" in out


def test_check_ddpm_step_flags_wrong_noise_and_shapes(capsys):
    """A wrong noise scale, a wrong shape or a non-tensor fails with a hint, not an exception."""

    def wrong_noise(y, score, h, xi):
        return math.exp(h) * y + 2 * math.expm1(h) * score + math.sqrt(2 * h) * xi

    assert checks.check_ddpm_step(wrong_noise) is False
    assert "differ" in capsys.readouterr().out
    assert checks.check_ddpm_step(lambda y, s, h, xi: _exact_step(y, s, h, xi)[:, :1]) is False
    assert "shape" in capsys.readouterr().out
    assert checks.check_ddpm_step(lambda y, s, h, xi: _exact_step(y, s, h, xi).tolist()) is False
    assert "torch.Tensor" in capsys.readouterr().out


def test_check_ddpm_step_reports_raising_function(capsys):
    """A function that raises is reported as False with the exception, not raised."""

    def broken(y, score, h, xi):
        raise RuntimeError("boom")

    assert checks.check_ddpm_step(broken) is False
    out = capsys.readouterr().out
    assert "RuntimeError" in out and "boom" in out


def test_check_gaussian_score_accepts_correct_and_rejects_wrong(capsys):
    """The exact noised-Gaussian score passes; forgetting the added noise variance fails."""
    assert checks.check_gaussian_score(_gaussian_score) is True
    assert "[pass]" in capsys.readouterr().out

    def no_noise(x, t, mean, var):
        return (math.exp(-t) * mean - x) / (math.exp(-2 * t) * var)

    assert checks.check_gaussian_score(no_noise) is False
    assert "[not yet]" in capsys.readouterr().out


def test_check_gaussian_score_reports_raising_function(capsys):
    """A score function that raises is reported as False with the exception, not raised."""

    def broken(x, t, mean, var):
        return 1 / 0

    assert checks.check_gaussian_score(broken) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


CHECKS = sorted(name for name in dir(checks) if name.startswith("check_"))


@pytest.mark.parametrize("name", CHECKS)
def test_every_check_rejects_non_callables(name, capsys):
    """Every public check, found by name, raises TypeError for a non-function (a usage error,
    not a hint), before printing anything."""
    with pytest.raises(TypeError, match="must be a function"):
        getattr(checks, name)(torch.zeros(3))
    assert capsys.readouterr().out == ""


def _lemma42_score(x, S, log_eta, sigma):
    """Score of eta N(0, sigma^2) + (1 - eta) N(S, sigma^2) through the log-odds of the S part."""
    log_odds = math.log(-math.expm1(log_eta)) - log_eta + (S * x - 0.5 * S**2) / sigma**2
    return (-x + S * torch.sigmoid(log_odds)) / sigma**2


def test_check_lemma42_score_accepts_log_space_answer(capsys):
    """A score written with the log-odds passes, even where eta underflows."""
    assert checks.check_lemma42_score(_lemma42_score) is True
    assert "[pass]" in capsys.readouterr().out


def test_check_lemma42_score_flags_underflow_and_wrong_answers(capsys):
    """A naive exp(log_eta) gets the underflow hint; a wrong formula gets a 'differ' hint."""

    def naive(x, S, log_eta, sigma):
        eta = math.exp(log_eta)
        r = (1 - eta) / eta * torch.exp((S * x - 0.5 * S**2) / sigma**2)
        return (-x + S * r / (1 + r)) / sigma**2

    assert checks.check_lemma42_score(naive) is False
    assert "underflows" in capsys.readouterr().out
    assert checks.check_lemma42_score(lambda x, S, log_eta, sigma: -x / sigma**2) is False
    assert "differ" in capsys.readouterr().out
    assert checks.check_lemma42_score(lambda x, S, log_eta, sigma: 1 / 0) is False
    assert "ZeroDivisionError" in capsys.readouterr().out
    with pytest.raises(TypeError, match="must be a function"):
        checks.check_lemma42_score(None)


def _dsm_loss(score_hat, z, sigma_t):
    """The per-sample loss ||score_hat + z / sigma_t^2||^2 of eq. (4)."""
    return (score_hat + z / sigma_t**2).pow(2).sum(-1)


def test_check_dsm_loss_accepts_correct_loss(capsys):
    """The per-sample squared residual ||s + z/sigma_t^2||^2 passes and prints a pass line."""
    assert checks.check_dsm_loss(_dsm_loss) is True
    assert "[pass]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (lambda s, z, sigma_t: (s + z / sigma_t**2).norm(dim=-1), "square the norm"),
        (lambda s, z, sigma_t: (s + z / sigma_t).pow(2).sum(-1), "sigma_t**2, not sigma_t"),
        (lambda s, z, sigma_t: (s - z / sigma_t**2).pow(2).sum(-1), "sign"),
        (lambda s, z, sigma_t: _dsm_loss(s, z, sigma_t).mean(), "do not average"),
        (lambda s, z, sigma_t: (s + z / sigma_t**2).pow(2), "shape"),
    ],
    ids=["not-squared", "z-over-sigma", "sign", "averaged", "not-summed"],
)
def test_check_dsm_loss_names_the_slip(capsys, wrong, words):
    """Each usual slip fails with a hint that names it, and nothing is raised."""
    assert checks.check_dsm_loss(wrong) is False
    out = capsys.readouterr().out
    assert "[not yet]" in out and words in out


def test_check_dsm_loss_flags_missing_coordinate_sum(capsys):
    """Returning the squared residual per coordinate (n, d) says to sum over the coordinates."""
    calls = []

    def per_coordinate(s, z, sigma_t):
        calls.append(s.shape[1])
        # Right in d = 1 (the first trial), per coordinate in d = 2.
        return (
            (s + z / sigma_t**2).pow(2).squeeze(-1)
            if s.shape[1] == 1
            else (s + z / sigma_t**2).pow(2)
        )

    assert checks.check_dsm_loss(per_coordinate) is False
    assert calls == [1, 2]
    assert "sum the squares over the d coordinates" in capsys.readouterr().out


def test_check_dsm_loss_reports_raising_function_and_rejects_non_callable(capsys):
    """A loss that raises is reported as False with the exception; a non-function is a TypeError."""

    def broken(score_hat, z, sigma_t):
        raise ValueError("no loss yet")

    assert checks.check_dsm_loss(broken) is False
    out = capsys.readouterr().out
    assert "ValueError" in out and "no loss yet" in out
    with pytest.raises(TypeError, match="must be a function"):
        checks.check_dsm_loss(torch.zeros(3))


def test_check_quantile_error_accepts_the_order_statistic_and_rejects_interpolation(capsys):
    """The order statistic e_(n - floor(delta n)) passes; torch.quantile's interpolation fails."""

    def order_statistic(errors, delta):
        k = math.floor(delta * errors.numel() + 1e-9)
        return float(torch.sort(errors).values[errors.numel() - k - 1])

    def interpolated(errors, delta):
        return float(torch.quantile(errors, 1.0 - delta))

    assert checks.check_quantile_error(order_statistic) is True
    assert checks.check_quantile_error(interpolated) is False
    assert "order statistic" in capsys.readouterr().out
    with pytest.raises(TypeError, match="must be a function"):
        checks.check_quantile_error(0.5)


def test_check_log_bmr_accepts_log_space(capsys):
    """A term-by-term log of BMR's count passes, also for deep networks."""

    def log_bmr(d, P, D, Theta, eps, gamma):
        return (
            2.5 * math.log(d)
            + D * math.log(Theta**2 * P)
            + 0.5 * math.log(D)
            - 3 * math.log(gamma)
            - 2 * math.log(eps)
        )

    assert checks.check_log_bmr(log_bmr) is True
    assert "[pass]" in capsys.readouterr().out


def test_check_log_bmr_hints_on_overflow_and_wrong_power(capsys):
    """Taking the log of the overflowing count fails with a hint; so does gamma^2 for gamma^3."""

    def naive(d, P, D, Theta, eps, gamma):
        value = d**2.5 * float(Theta**2 * P) ** D * math.sqrt(D) / (gamma**3 * eps**2)
        return math.log(value)

    def wrong_power(d, P, D, Theta, eps, gamma):
        return (
            2.5 * math.log(d)
            + D * math.log(Theta**2 * P)
            + 0.5 * math.log(D)
            - 2 * (math.log(gamma) + math.log(eps))
        )

    assert checks.check_log_bmr(naive) is False
    assert "[not yet]" in capsys.readouterr().out
    assert checks.check_log_bmr(wrong_power) is False
    assert "[not yet]" in capsys.readouterr().out
    with pytest.raises(TypeError, match="log_bmr_fn"):
        checks.check_log_bmr(3)


def _erm_probability(m, p, c):
    """An independent implementation: the binomial sum, with the tie at K = 0."""
    from scipy.stats import binom, norm

    k = torch.arange(0, m + 1, dtype=torch.float64).numpy()
    wrong = norm.cdf(-(k**0.5) * c / 2)
    wrong[0] = 0.5
    return float((binom.pmf(k, m, p) * wrong).sum())


def test_check_erm_failure_probability_accepts_the_sum_and_names_the_tie(capsys):
    """The binomial sum passes; dropping the tie at K = 0 gets the tie hint."""
    assert checks.check_erm_failure_probability(_erm_probability) is True
    no_tie = lambda m, p, c: _erm_probability(m, p, c) - 0.5 * (1 - p) ** m  # noqa: E731
    assert checks.check_erm_failure_probability(no_tie) is False
    assert "tie" in capsys.readouterr().out
    with pytest.raises(TypeError, match="prob_fn"):
        checks.check_erm_failure_probability(1.0)


def test_check_xi_variance_accepts_autograd_and_names_the_scale(capsys):
    """1 + sigma^2 s' by autograd passes; the variance of z instead of z / sigma gets a hint."""

    def variance(target, x, t):
        x = x.clone().requires_grad_(True)
        slope = torch.autograd.grad(target.score(x, t).sum(), x)[0][:, 0]
        return (1 + float(diffedu.ou_sigma(t)) ** 2 * slope).detach()

    assert checks.check_xi_variance(variance) is True
    unscaled = lambda q, x, t: float(diffedu.ou_sigma(t)) ** 2 * variance(q, x, t)  # noqa: E731
    assert checks.check_xi_variance(unscaled) is False
    assert "divide by sigma_t^2" in capsys.readouterr().out
