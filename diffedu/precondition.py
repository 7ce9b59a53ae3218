r"""The noise parametrisation of the score networks, and its preconditioning.

The networks of :mod:`diffedu.nets` predict the unit-variance noise
:math:`\varepsilon = z / \sigma_t` and report the score through one conversion,
:func:`eps_to_score`:

.. math:: \widehat s_t(x) = -\widehat\varepsilon_t(x) / \sigma_t .

The noise prediction is preconditioned (Karras et al., 2022) so that the raw network
:math:`F` sees inputs and regresses targets of unit scale at every time:

.. math::
    \widehat\varepsilon_t(x) &= c_\text{skip}\,x + c_\text{out}\,F(c_\text{in}\,x, t),

    c_\text{in} &= \frac{1}{\sqrt{\alpha_t^2 v + \sigma_t^2}},\quad
    c_\text{skip} = \sigma_t c_\text{in}^2,\quad
    c_\text{out} = \alpha_t \sqrt{v}\, c_\text{in},

with :math:`v = m_2^2 / d` the per-coordinate second moment of the data. With :math:`F = 0`
this is the exact score of :math:`\mathcal N(0, v I_d)`, so training starts from the best
Gaussian fit, and the score's :math:`1/\sigma_t` growth at small times never reaches the
weights.
"""

from __future__ import annotations

import functools
import math

import torch

from ._validation import append_dims, as_float64, check_positive, check_positive_entries
from .forward import ou_alpha, ou_sigma


def eps_to_score(eps_hat: torch.Tensor, sigma_t) -> torch.Tensor:
    r"""Convert a noise prediction to a score: :math:`\widehat s = -\widehat\varepsilon/\sigma_t`.

    Here :math:`\widehat\varepsilon` predicts the unit-variance noise :math:`z/\sigma_t`
    (Tweedie: :math:`s_t(x) = -\mathbb E[z \mid x_t = x] / \sigma_t^2`).

    Args:
        eps_hat: noise predictions, shape ``(n, d)``.
        sigma_t: noise level(s) :math:`\sigma_t > 0`, a number or a tensor of shape ``(n,)``.

    Returns:
        Scores of shape ``(n, d)`` with ``eps_hat``'s dtype and device.

    Used in: chapter 2, "Training score networks" (through :func:`.train_score`).
    """
    sigma_t = _noise_levels(sigma_t, eps_hat)
    return -eps_hat / sigma_t


def score_to_eps(score: torch.Tensor, sigma_t) -> torch.Tensor:
    r"""Convert a score to a noise prediction: :math:`\varepsilon = -\sigma_t\, s`.

    The inverse of :func:`eps_to_score`.

    Args:
        score: scores, shape ``(n, d)``.
        sigma_t: noise level(s) :math:`\sigma_t > 0`, a number or a tensor of shape ``(n,)``.

    Returns:
        Noise predictions of shape ``(n, d)`` with ``score``'s dtype and device.

    Used in: chapter 2, "Training score networks" (through :func:`.train_score`).
    """
    sigma_t = _noise_levels(sigma_t, score)
    return -sigma_t * score


def _noise_levels(sigma_t, like: torch.Tensor, name: str = "sigma_t") -> torch.Tensor:
    """``sigma_t`` as a positive tensor on ``like``'s device, broadcastable against ``like``."""
    if not isinstance(like, torch.Tensor) or like.ndim != 2:
        shape = tuple(like.shape) if isinstance(like, torch.Tensor) else type(like).__name__
        raise ValueError(f"expected a tensor of shape (n, d); got {shape}")
    sigma_t = as_float64(sigma_t, name)
    if sigma_t.ndim > 1 or (sigma_t.ndim == 1 and sigma_t.shape[0] not in (1, like.shape[0])):
        raise ValueError(
            f"{name} must be a scalar or have shape ({like.shape[0]},); got {tuple(sigma_t.shape)}"
        )
    check_positive_entries(sigma_t, name)
    sigma_t = sigma_t.to(device=like.device, dtype=like.dtype)
    return append_dims(sigma_t, 2)


def preconditioning(t, m2_per_dim: float) -> torch.Tensor:
    r"""Coefficients of the preconditioned noise prediction, stacked in one tensor.

    .. math::
        \widehat\varepsilon_t(x) = c_\text{skip}\,x + c_\text{out}\,F(c_\text{in}\,x, t),
        \qquad F^\star = c_\text{out}\,\varepsilon - \sigma_t c_\text{in} v^{-1/2}\, x_0

    where :math:`F^\star` is the regression target of the raw network :math:`F` for
    :math:`x_t = \alpha_t x_0 + \sigma_t \varepsilon` (it has unit variance when the data
    have second moment :math:`v` per coordinate).

    Args:
        t: forward times :math:`t > 0`, shape ``(N,)`` (or a number).
        m2_per_dim: :math:`v = \mathbb E\|x_0\|^2 / d > 0`.

    Returns:
        float64 tensor of shape ``(N, 7)``, columns
        ``alpha_t, sigma_t, c_in, c_skip, c_out, target_x0 = sigma_t c_in / sqrt(v), log t``.

    Used in: chapter 2, "Training score networks" (through :func:`.train_score`).
    """
    t = check_positive_entries(as_float64(t, "t").reshape(-1), "t")
    v = check_positive(m2_per_dim, "m2_per_dim")
    alpha, sigma = ou_alpha(t), ou_sigma(t)
    c_in = torch.rsqrt(alpha**2 * v + sigma**2)
    c_skip = sigma * c_in**2
    c_out = alpha * math.sqrt(v) * c_in
    target_x0 = sigma * c_in / math.sqrt(v)
    return torch.stack([alpha, sigma, c_in, c_skip, c_out, target_x0, torch.log(t)], dim=1)


@functools.lru_cache(maxsize=4096)
def preconditioning_at(t: float, m2_per_dim: float) -> tuple[float, ...]:
    r"""One row of :func:`preconditioning` as Python floats, cached per time.

    A sampler evaluates a network at the same few hundred times again and again; this returns
    the seven coefficients at one time without building a tensor after the first call.

    Args:
        t: a forward time :math:`t > 0`, a Python float.
        m2_per_dim: :math:`v = \mathbb E\|x_0\|^2 / d > 0`, a Python float.

    Returns:
        The tuple ``(alpha_t, sigma_t, c_in, c_skip, c_out, target_x0, log t)``.

    Used in: chapter 2, "Sampling with the learned score" (through :class:`.LearnedScore`).
    """
    return tuple(preconditioning(torch.tensor([t], dtype=torch.float64), m2_per_dim)[0].tolist())
