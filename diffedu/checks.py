"""Self-checks for the book's coding exercises.

Each check calls the reader's function on fresh inputs, compares it with an independent
reference, prints a clear pass or a hint, and returns ``True`` or ``False``. Checks never
raise on a wrong answer (so a notebook keeps running), only on a call that is not a function.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .targets import GaussianMixture


def _report(name: str, ok: bool, hint: str) -> bool:
    if ok:
        print(f"[pass] {name}: your function agrees with the reference.")
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
