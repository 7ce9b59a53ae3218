r"""The forward (noising) process: the unit-rate Ornstein-Uhlenbeck SDE.

The paper's forward process is :math:`\mathrm dx_t = -x_t\,\mathrm dt + \sqrt 2\,\mathrm dB_t`,
whose marginal given :math:`x_0` is

.. math::
    x_t = e^{-t} x_0 + \sigma_t z,\qquad z\sim\mathcal N(0, I_d),\qquad
    \sigma_t^2 = 1 - e^{-2t}.

So :math:`\alpha_t = e^{-t}` scales the data and :math:`\sigma_t` is the noise level, with
:math:`\alpha_t^2 + \sigma_t^2 = 1` (a variance-preserving process).
"""

from __future__ import annotations

import torch

from ._validation import (
    append_dims,
    as_tensor,
    check_finite,
    check_nonnegative_entries,
    check_points,
)


def _times(t, name: str = "t") -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        t = as_tensor(t, name, dtype=torch.float64)
    elif not t.is_floating_point():
        t = as_tensor(t, name).to(torch.float64)
    check_finite(t, name)
    return check_nonnegative_entries(t, name)


def ou_alpha(t) -> torch.Tensor:
    r"""Signal scale :math:`\alpha_t = e^{-t}` of the OU forward process.

    Args:
        t: forward time(s) :math:`t \ge 0`, a number or a tensor of any shape.

    Returns:
        Tensor of the same shape as ``t`` (float64 for Python numbers).

    Used in: chapter 1, "The forward process".
    """
    t = _times(t)
    return torch.exp(-t)


def ou_sigma(t) -> torch.Tensor:
    r"""Noise level :math:`\sigma_t = \sqrt{1 - e^{-2t}}` (not squared).

    Computed as ``sqrt(-expm1(-2t))`` so that small times keep full relative accuracy
    (:math:`\sigma_t \approx \sqrt{2t}` as :math:`t\to 0`).

    Args:
        t: forward time(s) :math:`t \ge 0`, a number or a tensor of any shape.

    Returns:
        Tensor of the same shape as ``t`` (float64 for Python numbers).

    Used in: chapter 1, "The forward process".
    """
    t = _times(t)
    return torch.sqrt(-torch.expm1(-2.0 * t))


def add_noise(x_0: torch.Tensor, t, *, generator: torch.Generator | None = None):
    r"""Draw :math:`x_t = e^{-t} x_0 + z` with :math:`z \sim \mathcal N(0, \sigma_t^2 I_d)`.

    This is the paper's convention: ``z`` is the added noise itself, with variance
    :math:`\sigma_t^2`, so the denoising target of eq. (4) is :math:`-z/\sigma_t^2`.

    Args:
        x_0: clean samples, shape ``(n, d)``.
        t: forward time, a number or a tensor of shape ``(n,)`` (one time per row).
        generator: optional ``torch.Generator`` on ``x_0``'s device.

    Returns:
        ``(x_t, z)``, both of shape ``(n, d)`` with ``x_0``'s dtype and device.

    Used in: chapter 1, "Sampling with the exact score"; chapter 2, "The loss, term by term" and
    "Tweedie's formula"; chapter 6, "Close in TV to something close in :math:`W_2`".
    """
    x_0 = check_points(x_0, "x_0")
    t = _times(t)
    if t.ndim not in (0, 1) or (t.ndim == 1 and t.shape[0] != x_0.shape[0]):
        raise ValueError(
            f"t must be a scalar or have shape ({x_0.shape[0]},); got {tuple(t.shape)}"
        )
    t = t.to(device=x_0.device, dtype=torch.float64)
    alpha_t = append_dims(ou_alpha(t), 2).to(x_0.dtype)
    sigma_t = append_dims(ou_sigma(t), 2).to(x_0.dtype)
    z = sigma_t * torch.randn(x_0.shape, generator=generator, device=x_0.device, dtype=x_0.dtype)
    return alpha_t * x_0 + z, z
