r"""The denoising score-matching loss, the paper's eq. (4).

For a time :math:`t` with :math:`x_t = e^{-t}x_0 + z`, :math:`z\sim\mathcal N(0,\sigma_t^2 I_d)`,
the paper's empirical loss (eq. (4), Setting 1.1) is

.. math:: \frac1m\sum_{i=1}^m \big\|\widehat s_t(x_{t,i}) + z_i/\sigma_t^2\big\|_2^2 .

Its population minimiser is the true score :math:`s_t` (Tweedie). The trainer
(:func:`.train_score`) minimises it, and Algorithm 1 (:func:`.erm_select`) minimises it over a
finite class.
"""

from __future__ import annotations

import torch

from ._validation import as_float64, as_tensor, check_positive_entries


def dsm_loss(score_hat, x_t: torch.Tensor, z: torch.Tensor, sigma_t) -> torch.Tensor:
    r"""Per-sample denoising score-matching loss, eq. (4): :math:`\|\widehat s + z/\sigma_t^2\|^2`.

    Squared, not averaged: the mean over samples is the paper's empirical loss. At the true
    score its expectation is :math:`d/\sigma_t^2 - \mathbb E_{q_t}\|s_t\|^2`, and the excess
    over that constant is the squared L2 error :math:`\mathbb E_{q_t}\|\widehat s - s_t\|^2`.

    Args:
        score_hat: the estimate **evaluated** at ``x_t``, shape ``(n, d)``; or a callable
            ``score_hat(x_t) -> (n, d)`` (one fixed time), which is then called on ``x_t``.
        x_t: noised points :math:`e^{-t}x_0 + z`, shape ``(n, d)`` (only its shape is used
            when ``score_hat`` is a tensor).
        z: the added noise itself, variance :math:`\sigma_t^2` (as returned by
            :func:`.add_noise`), shape ``(n, d)``.
        sigma_t: noise level(s) :math:`\sigma_t > 0`, a number or shape ``(n,)``.

    Returns:
        Tensor of shape ``(n,)``: the squared norm for each sample.

    Used in: chapter 2, "The loss, term by term".
    """
    x_t = as_tensor(x_t, "x_t")
    if x_t.ndim != 2:
        raise ValueError(f"x_t must have shape (n, d); got {tuple(x_t.shape)}")
    if callable(score_hat) and not isinstance(score_hat, torch.Tensor):
        score_hat = score_hat(x_t)
    score_hat = as_tensor(score_hat, "score_hat")
    z = as_tensor(z, "z")
    for name, value in (("score_hat", score_hat), ("z", z)):
        if value.shape != x_t.shape:
            raise ValueError(
                f"{name} must have the shape of x_t {tuple(x_t.shape)}; got {tuple(value.shape)}"
            )
    sigma_t = as_float64(sigma_t, "sigma_t")
    if sigma_t.ndim > 1 or (sigma_t.ndim == 1 and sigma_t.shape[0] != x_t.shape[0]):
        raise ValueError(
            f"sigma_t must be a scalar or have shape ({x_t.shape[0]},); got {tuple(sigma_t.shape)}"
        )
    check_positive_entries(sigma_t, "sigma_t")
    dtype = torch.promote_types(score_hat.dtype, z.dtype)
    sigma2 = sigma_t.to(device=z.device, dtype=dtype).reshape(-1, 1) ** 2
    return (score_hat.to(dtype) + z.to(dtype) / sigma2).pow(2).sum(-1)
