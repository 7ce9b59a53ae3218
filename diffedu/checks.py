"""Self-checks for the book's coding exercises.

Each check calls the reader's function on fresh inputs, compares it with an independent
reference, prints a clear pass or a hint, and returns ``True`` or ``False``. Checks never
raise on a wrong answer (so a notebook keeps running), only on a call that is not a function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .loss import dsm_loss
from .targets import GaussianMixture


def _report(name: str, ok: bool, hint: str) -> bool:
    if ok:
        print(f"[pass] {name}: matches the reference.")
    else:
        print(f"[not yet] {name}: {hint}")
    return ok


def _call(name: str, fn: Callable, *args):
    """Call the reader's function; return (value, None) or (None, hint)."""
    try:
        return fn(*args), None
    except Exception as err:  # the reader's code may fail in any way; report it as a hint
        return None, f"calling your function raised {type(err).__name__}: {err}"


def _close(value, reference: torch.Tensor, rtol: float = 1e-6, atol: float = 1e-8):
    if not isinstance(value, torch.Tensor):
        return False, f"expected a torch.Tensor, got {type(value).__name__}"
    if value.shape != reference.shape:
        return False, f"expected shape {tuple(reference.shape)}, got {tuple(value.shape)}"
    if not torch.allclose(value.to(reference.dtype), reference, rtol=rtol, atol=atol):
        gap = float((value.to(reference.dtype) - reference).abs().max())
        return False, f"values differ from the reference by up to {gap:.3g}"
    return True, ""


def _require_callable(fn, name: str) -> None:
    if not callable(fn):
        raise TypeError(f"{name} must be a function; got {type(fn).__name__}")


def check_ddpm_step(step_fn: Callable) -> bool:
    r"""Check ``step_fn(y, score, h, xi)``: one exponential-integrator step of the reverse SDE.

    The reference is :math:`e^{h} y + 2(e^{h}-1)\,\text{score} + \sqrt{e^{2h}-1}\,\xi`.

    Used in: chapter 1, exercise "One sampler step".
    """
    _require_callable(step_fn, "step_fn")
    g = torch.Generator().manual_seed(1)
    for h in (0.3, 0.01):
        y, score, xi = (torch.randn(7, 2, generator=g, dtype=torch.float64) for _ in range(3))
        reference = math.exp(h) * y + 2 * math.expm1(h) * score + math.sqrt(math.expm1(2 * h)) * xi
        value, hint = _call("check_ddpm_step", step_fn, y, score, h, xi)
        if hint is None:
            ok, hint = _close(value, reference)
            if ok:
                continue
            euler = y + h * (y + 2 * score) + math.sqrt(2 * h) * xi
            if isinstance(value, torch.Tensor) and value.shape == euler.shape:
                if torch.allclose(value.to(torch.float64), euler, rtol=1e-6, atol=1e-8):
                    hint = (
                        "this is the Euler-Maruyama step; integrate the linear drift exactly "
                        "(factor e^h) and use the exact noise variance e^{2h} - 1"
                    )
            hint = f"{hint} (at h = {h})"
        return _report("check_ddpm_step", False, hint)
    return _report("check_ddpm_step", True, "")


def check_gaussian_score(score_fn: Callable) -> bool:
    r"""Check ``score_fn(x, t, mean, var)``: the score of the OU-noised 1-D Gaussian.

    For :math:`q_0 = \mathcal N(\mu, v)`, :math:`q_t = \mathcal N(e^{-t}\mu, e^{-2t}v + \sigma_t^2)`
    and :math:`s_t(x) = (e^{-t}\mu - x)/(e^{-2t}v + \sigma_t^2)`.

    Used in: chapter 1, exercise "The score of a noised Gaussian".
    """
    _require_callable(score_fn, "score_fn")
    x = torch.linspace(-3.0, 3.0, 13, dtype=torch.float64)[:, None]
    for mean, var, t in ((1.5, 0.25, 0.1), (-2.0, 4.0, 1.3)):
        reference = GaussianMixture([1.0], [[mean]], [var]).score(x, t)
        value, hint = _call("check_gaussian_score", score_fn, x, t, mean, var)
        if hint is None:
            ok, hint = _close(value, reference)
            if ok:
                continue
        return _report("check_gaussian_score", False, f"{hint} (at mean={mean}, var={var}, t={t})")
    return _report("check_gaussian_score", True, "")


def check_lemma42_score(score_fn: Callable) -> bool:
    r"""Check ``score_fn(x, S, log_eta, sigma)``: the score of Lemma 4.2's mixture, from log eta.

    The mixture is :math:`\eta\,\mathcal N(0, \sigma^2) + (1-\eta)\,\mathcal N(S, \sigma^2)`; the
    reference is :meth:`.Lemma42Mixture.score_hat`. One case has :math:`\log\eta \approx -4700`,
    so :math:`\eta` itself underflows: the answer must work with :math:`\log\eta` only.

    Used in: chapter 3, exercise "A score from a weight that underflows".
    """
    from .hardness import Lemma42Mixture  # imported on use: checks stays free of the training stack

    _require_callable(score_fn, "score_fn")
    for S, switch_point, sigma in ((5.0, 1.0, 1.0), (20.0, 3.0, 0.5), (100.0, 3.0, 1.0)):
        mix = Lemma42Mixture(S, switch_point, sigma)
        x = torch.linspace(-3.0 * sigma, S + 3.0 * sigma, 41, dtype=torch.float64)
        reference = mix.score_hat(x)
        value, hint = _call("check_lemma42_score", score_fn, x, S, mix.log_eta, sigma)
        if hint is None:
            if isinstance(value, torch.Tensor) and not bool(torch.isfinite(value).all()):
                hint = (
                    "your function returns NaN or infinity: exp(log_eta) underflows to 0 here; "
                    "write the heavy component's weight as a sigmoid of the log-odds"
                )
            else:
                ok, hint = _close(value, reference, rtol=1e-8, atol=1e-8)
                if ok:
                    continue
        where = f"S={S}, log_eta={mix.log_eta:.6g}, sigma={sigma}"
        return _report("check_lemma42_score", False, f"{hint} (at {where})")
    return _report("check_lemma42_score", True, "")


def check_dsm_loss(loss_fn: Callable) -> bool:
    r"""Check ``loss_fn(score_hat, z, sigma_t)``: the per-sample denoising loss of eq. (4).

    The reference is :func:`.dsm_loss`, one squared norm per sample,

    .. math:: \ell_i = \big\|\widehat s(x_i) + z_i/\sigma_t^2\big\|^2 ,

    where ``score_hat`` holds :math:`\widehat s(x_i)`, shape ``(n, d)``, and ``z`` the added
    noise, shape ``(n, d)``, of variance :math:`\sigma_t^2`. The check tries two noise levels
    and two dimensions, and names the usual slips: a norm that is not squared, ``z/sigma_t``
    in place of ``z/sigma_t**2``, a sign error, and a mean over the samples.

    Used in: chapter 2, exercise "The denoising loss in code".
    """
    _require_callable(loss_fn, "loss_fn")
    g = torch.Generator().manual_seed(2)
    for sigma_t, d in ((0.05, 1), (0.6, 2)):
        score_hat = torch.randn(9, d, generator=g, dtype=torch.float64) / sigma_t
        z = sigma_t * torch.randn(9, d, generator=g, dtype=torch.float64)
        reference = dsm_loss(score_hat, score_hat, z, sigma_t)
        value, hint = _call("check_dsm_loss", loss_fn, score_hat, z, sigma_t)
        if hint is None:
            ok, hint = _close(value, reference)
            if ok:
                continue
            slips = (
                (reference.sqrt(), "square the norm: the loss is ||s + z/sigma_t^2||^2"),
                (
                    (score_hat + z / sigma_t).pow(2).sum(-1),
                    "divide z by sigma_t**2, not sigma_t: z has variance sigma_t^2 and the "
                    "target is -z/sigma_t^2",
                ),
                (
                    (score_hat - z / sigma_t**2).pow(2).sum(-1),
                    "check the sign: the target is -z/sigma_t^2, so the residual is "
                    "score_hat + z/sigma_t^2",
                ),
                (
                    reference.mean(),
                    "return one value per sample, shape (n,); do not average over the samples",
                ),
            )
            if isinstance(value, torch.Tensor) and value.shape == score_hat.shape and d > 1:
                hint = "sum the squares over the d coordinates: one value per sample, shape (n,)"
            for wrong, slip in slips:
                if isinstance(value, torch.Tensor) and value.shape == wrong.shape:
                    if torch.allclose(value.to(torch.float64), wrong, rtol=1e-6, atol=1e-8):
                        hint = slip
                        break
            hint = f"{hint} (at sigma_t = {sigma_t}, d = {d})"
        return _report("check_dsm_loss", False, hint)
    return _report("check_dsm_loss", True, "")


def check_quantile_error(quantile_fn: Callable) -> bool:
    r"""Check ``quantile_fn(errors, delta)``: the empirical :math:`D^\delta` from error norms.

    ``errors`` holds :math:`e_i = \|\widehat s(x_i) - s(x_i)\|`, shape ``(n,)``; the answer is the
    smallest :math:`\varepsilon` with :math:`\#\{i : e_i \ge \varepsilon\} \le \delta n`, the
    order statistic :math:`e_{(n - \lfloor \delta n\rfloor)}`. The reference is
    :func:`.quantile_score_error`. The cases include an exact :math:`\delta n`, where an
    interpolating quantile (``torch.quantile``) differs, and ties.

    Used in: chapter 4, exercise "The estimator by hand".
    """
    from .metrics import quantile_score_error

    _require_callable(quantile_fn, "quantile_fn")
    g = torch.Generator().manual_seed(4)
    cases = (
        (torch.rand(1000, generator=g, dtype=torch.float64), 0.01),
        (torch.rand(1001, generator=g, dtype=torch.float64) * 5.0, 0.05),
        (torch.tensor([0.0] * 95 + [3.0] * 5, dtype=torch.float64), 0.05),
        (torch.tensor([0.0] * 94 + [3.0] * 6, dtype=torch.float64), 0.05),
    )
    for errors, delta in cases:
        reference = quantile_score_error(errors[:, None], torch.zeros_like(errors)[:, None], delta)
        value, hint = _call("check_quantile_error", quantile_fn, errors.clone(), delta)
        if hint is None:
            try:
                ok = math.isclose(float(value), reference, rel_tol=1e-12, abs_tol=1e-12)
            except (TypeError, ValueError):
                ok = False
            if ok:
                continue
            hint = f"expected {reference:.6g}, got {value!r}"
            if errors.numel() == 1000 and delta == 0.01:
                hint += "; use an order statistic, not an interpolated quantile"
        where = f"n = {errors.numel()}, delta = {delta}"
        return _report("check_quantile_error", False, f"{hint} (at {where})")
    return _report("check_quantile_error", True, "")


def check_log_bmr(log_bmr_fn: Callable) -> bool:
    r"""Check ``log_bmr_fn(d, P, D, Theta, eps, gamma)``: the natural log of BMR's sample count.

    The reference is :func:`.samples_needed_bmr` with ``log=True``,
    :math:`\tfrac52\log d + D\log(\Theta^2 P) + \tfrac12\log D + 3\log\tfrac1\gamma +
    2\log\tfrac1\varepsilon`, on arguments that include a deep network whose count
    overflows a float.

    Used in: chapter 6, exercise "BMR in log space".
    """
    from .bounds import samples_needed_bmr

    _require_callable(log_bmr_fn, "log_bmr_fn")
    # The last case overflows a float: (Theta^2 P)^D = (9e6)^80.
    cases = (
        (2, 100, 3, 2.0, 0.1, 0.01),
        (8, 10**4, 6, 5.0, 0.05, 1e-3),
        (4, 10**6, 80, 3.0, 0.1, 0.1),
    )
    for args in cases:
        reference = samples_needed_bmr(*args, log=True)
        value, hint = _call("check_log_bmr", log_bmr_fn, *args)
        if hint is None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                return _report("check_log_bmr", False, f"expected a number, got {value!r}")
            if math.isfinite(value) and abs(value - reference) <= 1e-9 * max(1.0, abs(reference)):
                continue
            if not math.isfinite(value):
                hint = (
                    f"at D = {args[2]} your value is {value}: compute the log term by term "
                    "(D * log(Theta**2 * P), not log((Theta**2 * P)**D))"
                )
            else:
                hint = (
                    f"at (d, P, D, Theta, eps, gamma) = {args} you return {value:.6g}, "
                    f"the log of the count is {reference:.6g}; check each power"
                )
        return _report("check_log_bmr", False, hint)
    return _report("check_log_bmr", True, "")


def check_erm_failure_probability(prob_fn: Callable) -> bool:
    r"""Check ``prob_fn(m, p, c)``: P[the ERM prefers the bad candidate], in closed form.

    The class is :math:`\{s_t, s_t + (c/\sigma_t)\mathbb 1_A\}` with :math:`q_t(A) = p` and
    :math:`\xi_i \sim \mathcal N(0, 1)`; the reference is :func:`.erm_failure_probability`,
    :math:`\tfrac12(1-p)^m + \sum_{k\ge1}\binom mk p^k(1-p)^{m-k}\,\Phi(-\sqrt k\,c/2)`. The hints
    name the two usual slips: the tie at :math:`K = 0`, and the factor 2 in :math:`\sqrt k c/2`.

    Used in: chapter 5, exercise "The error probability in closed form".
    """
    from scipy.stats import binom, norm

    from .centred import erm_failure_probability

    _require_callable(prob_fn, "prob_fn")
    for m, p, c in ((20, 0.05, 1.0), (150, 0.1, 0.4), (60, 0.02, 3.0), (0, 0.3, 1.0)):
        reference = erm_failure_probability(m, p, c)
        value, hint = _call("check_erm_failure_probability", prob_fn, m, p, c)
        if hint is None:
            try:
                value = float(value)
            except (TypeError, ValueError):
                return _report(
                    "check_erm_failure_probability", False, f"expected a number, got {value!r}"
                )
            if math.isclose(value, reference, rel_tol=1e-6, abs_tol=1e-10):
                continue
            tie = 0.5 * (1 - p) ** m
            k = torch.arange(1, m + 1, dtype=torch.float64).numpy()
            no_half = tie + float((binom.pmf(k, m, p) * norm.cdf(-(k**0.5) * c)).sum())
            if math.isclose(value, reference - tie, rel_tol=1e-6) or math.isclose(
                value, reference + tie, rel_tol=1e-6
            ):
                hint = (
                    "with no training point in A the two losses are equal: the tie is broken "
                    "at random, so K = 0 contributes (1 - p)^m / 2"
                )
            elif math.isclose(value, no_half, rel_tol=1e-6):
                hint = (
                    "given K = k the gap is N(k c^2, 4 k c^2): negative with probability "
                    "Phi(-sqrt(k) c / 2)"
                )
            else:
                hint = f"expected {reference:.6g}, got {value:.6g}"
        return _report("check_erm_failure_probability", False, f"{hint} (at m={m}, p={p}, c={c})")
    return _report("check_erm_failure_probability", True, "")


def check_xi_variance(variance_fn: Callable) -> bool:
    r"""Check ``variance_fn(target, x, t)``: :math:`\operatorname{Var}(\xi \mid x_t = x)` in 1-D.

    The reference is :func:`.conditional_noise_covariance`, :math:`1 + \sigma_t^2
    s_t'(x)` for a 1-D mixture, on points ``x`` of shape ``(n, 1)``; the answer has shape
    ``(n,)``. The hints name a forgotten :math:`1/\sigma_t^2` (the variance of :math:`z`, not of
    :math:`z/\sigma_t`) and a sign slip.

    Used in: chapter 5, exercise "Second-order Tweedie".
    """
    from .centred import conditional_noise_covariance
    from .forward import ou_sigma

    _require_callable(variance_fn, "variance_fn")
    x = torch.linspace(-2.0, 2.0, 41, dtype=torch.float64)[:, None]
    cases = (
        (GaussianMixture([0.5, 0.5], [-1.0, 1.0], [0.01, 0.01]), 0.1),
        (GaussianMixture([0.3, 0.7], [-2.0, 1.0], [0.25, 0.5]), 0.5),
    )
    for target, t in cases:
        reference = conditional_noise_covariance(target, x, t)[:, 0, 0]
        value, hint = _call("check_xi_variance", variance_fn, target, x.clone(), t)
        if hint is None:
            ok, hint = _close(value, reference)
            if ok:
                continue
            sigma2 = float(ou_sigma(t)) ** 2
            slips = (
                (sigma2 * reference, "this is Var(z | x); xi is z / sigma_t: divide by sigma_t^2"),
                (2.0 - reference, "check the sign of the derivative term: 1 + sigma_t^2 s_t'(x)"),
            )
            for wrong, slip in slips:
                if isinstance(value, torch.Tensor) and value.shape == wrong.shape:
                    if torch.allclose(value.to(torch.float64), wrong, rtol=1e-6, atol=1e-8):
                        hint = slip
                        break
        return _report("check_xi_variance", False, f"{hint} (at t = {t})")
    return _report("check_xi_variance", True, "")
