r"""The finite-class ERM of the paper's Algorithm 1, vectorised over independent trials.

Given candidate scores :math:`\tilde s \in \mathcal H`, training pairs :math:`(x_i, z_i)` and the
noise level :math:`\sigma_t`, Algorithm 1 returns the candidate with the smallest empirical
eq. (4) loss :math:`\frac1m\sum_i \|\tilde s(x_i) + z_i/\sigma_t^2\|^2`. Ties (exactly equal
losses in float64, which happen when candidates agree on every sample) are broken at random
and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from ._validation import as_tensor, check_finite, check_nonnegative, check_positive
from .loss import dsm_loss

# ----- Algorithm 1 for a finite class -------------------------------------------------------


class ERMResult(NamedTuple):
    r"""What :func:`erm_select` returns; unpacks as ``index, tied, losses``.

    Used in: chapter 3, "Algorithm 1 and two ways to measure a score".
    """

    #: The selected candidate per trial, shape ``(trials,)``, ``torch.long``.
    index: torch.Tensor
    #: Whether two or more candidates shared the smallest loss (the choice was then made at
    #: random), shape ``(trials,)``, ``torch.bool``.
    tied: torch.Tensor
    #: The empirical eq. (4) losses, shape ``(n_candidates, trials)``, float64.
    losses: torch.Tensor


def _evaluate_candidates(candidates, x_t: torch.Tensor) -> torch.Tensor:
    """Candidate scores at ``x_t``, as one float64 tensor ``(n_candidates, trials, m, d)``."""
    if isinstance(candidates, torch.Tensor):
        values = candidates
    elif isinstance(candidates, Sequence) and all(callable(c) for c in candidates):
        flat = x_t.reshape(-1, x_t.shape[-1])
        values = [as_tensor(c(flat), "candidates(x)").reshape(x_t.shape) for c in candidates]
        values = torch.stack(values) if values else x_t.new_zeros((0, *x_t.shape))
    else:
        raise TypeError(
            "candidates must be a tensor of shape (n_candidates, trials, m, d) or a sequence "
            f"of callables; got {type(candidates).__name__}"
        )
    return check_finite(values.to(torch.float64), "candidates")


def erm_select(
    candidates: torch.Tensor | Sequence[Callable],
    x_t,
    z,
    sigma_t,
    *,
    generator: torch.Generator | None = None,
    rtol=0.0,
) -> ERMResult:
    r"""Algorithm 1 on a finite class: the candidate with the smallest empirical eq. (4) loss.

    For each trial, with training pairs :math:`(x_i, z_i)`, :math:`i = 1, \dots, m`,

    .. math::
        \widehat s = \arg\min_{\tilde s\in\mathcal H} \frac1m\sum_{i=1}^m
        \Big\|\tilde s(x_i) + \frac{z_i}{\sigma_t^2}\Big\|_2^2 .

    Candidates whose loss is within ``rtol`` (relative) of the smallest are tied; with the
    default ``rtol=0`` only exactly equal float64 losses tie. A tie is broken uniformly at
    random with ``generator`` and reported in ``tied``. All trials are processed at once.

    Args:
        candidates: the candidate scores **evaluated** at ``x_t``, shape
            ``(n_candidates, trials, m, d)``; or a sequence of callables
            ``score(x) -> (n, d)`` on points of shape ``(n, d)``, such as
            :meth:`.GaussianMixture.score`, called on ``x_t`` flattened to ``(trials * m, d)``.
        x_t: noised points :math:`e^{-t}x_0 + z`, shape ``(trials, m, d)``.
        z: the added noise, variance :math:`\sigma_t^2`, shape ``(trials, m, d)``.
        sigma_t: the noise level :math:`\sigma_t > 0`, a number.
        generator: optional ``torch.Generator`` for the tie-breaks, on the device of ``x_t``.
        rtol: relative tolerance for a tie, :math:`\ge 0`.

    Returns:
        An :class:`ERMResult` ``(index, tied, losses)``.

    Used in: chapter 3, "Algorithm 1 and two ways to measure a score" and "Figure 1 of the
    paper".
    """
    x_t = check_finite(as_tensor(x_t, "x_t", dtype=torch.float64), "x_t")
    if x_t.ndim != 3 or min(x_t.shape) == 0:
        raise ValueError(f"x_t must have shape (trials, m, d), none empty; got {tuple(x_t.shape)}")
    z = check_finite(as_tensor(z, "z", dtype=torch.float64), "z").to(x_t.device)
    if z.shape != x_t.shape:
        raise ValueError(f"z must have the shape of x_t {tuple(x_t.shape)}; got {tuple(z.shape)}")
    sigma_t = check_positive(sigma_t, "sigma_t")
    rtol = check_nonnegative(rtol, "rtol")
    values = _evaluate_candidates(candidates, x_t).to(x_t.device)
    if values.ndim != 4 or values.shape[1:] != x_t.shape:
        raise ValueError(
            "candidates must have shape (n_candidates, *x_t.shape) = "
            f"(n_candidates, {', '.join(map(str, x_t.shape))}); got {tuple(values.shape)}"
        )
    n_candidates = values.shape[0]
    if n_candidates < 1:
        raise ValueError("candidates must hold at least one candidate; got n_candidates=0")
    # Step 2: the empirical loss of eq. (4) of every candidate in every trial.
    d = x_t.shape[-1]
    per_point = dsm_loss(
        values.reshape(-1, d),
        x_t.expand_as(values).reshape(-1, d),
        z.expand_as(values).reshape(-1, d),
        sigma_t,
    )
    losses = per_point.reshape(values.shape[:3]).mean(-1)  # (n_candidates, trials)
    # Step 3: the minimiser, ties broken uniformly by the largest of i.i.d. uniform keys.
    best = losses.min(0).values
    is_min = losses <= best + rtol * best.abs()
    keys = torch.rand(losses.shape, generator=generator, device=losses.device, dtype=torch.float64)
    index = torch.where(is_min, keys, -1.0).argmax(0)
    return ERMResult(index=index, tied=is_min.sum(0) > 1, losses=losses)
