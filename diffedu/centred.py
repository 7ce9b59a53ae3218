r"""The noise of the centred loss: its conditional law, and the ERM's error in closed form.

Algorithm 1 compares candidates on the same training pairs, so the part of the eq. (4) loss
that all candidates share, :math:`\|\Delta\|^2` with :math:`\Delta = s_t(x) + z/\sigma_t^2`,
cancels, and a candidate wrong by :math:`(c/\sigma_t)\,v` on a set :math:`A` loses to the
true score by :math:`\frac{1}{m\sigma_t^2}\sum_{x_i\in A}(c^2 + 2c\,\xi_i)` with the
dimensionless noise :math:`\xi_i = \langle v, \sigma_t\Delta_i\rangle`. This module holds
what is known about :math:`\xi`:

- :func:`centred_noise` computes it from training pairs;
- :func:`conditional_noise_covariance` gives its conditional covariance, by second-order
  Tweedie, and :func:`conditional_scale_bound` the largest second moment it can have on a set
  of given mass;
- :func:`erm_failure_probability` and :func:`erm_samples_needed` give the ERM's error
  probability and the samples it needs when :math:`\xi` is Gaussian given the points.
"""

from __future__ import annotations

import torch
from scipy.stats import binom, norm

from ._validation import (
    as_float,
    as_int,
    as_tensor,
    as_unit_vector,
    check_mixture,
    check_open_unit,
    check_points,
    check_time,
)
from .forward import ou_sigma

# ----- the noise and its conditional law -----------------------------------------------------


def centred_noise(target, t, x_t, z, direction=None) -> torch.Tensor:
    r"""The scaled centred noise :math:`\xi = \langle v, \sigma_t s_t(x_t) + z/\sigma_t\rangle`.

    .. math::
        \xi = \langle v, \sigma_t \Delta\rangle, \qquad \Delta = s_t(x_t) + \frac{z}{\sigma_t^2},
        \qquad \mathbb E[\xi \mid x_t] = 0 \ \text{(Tweedie)},

    dimensionless: :math:`z/\sigma_t \sim \mathcal N(0, I_d)`.

    Args:
        target: a :class:`.GaussianMixture`, the law :math:`q_0`.
        t: forward time :math:`t > 0`.
        x_t: noised points, shape ``(..., d)``.
        z: their noise, variance :math:`\sigma_t^2`, same shape.
        direction: :math:`v`, shape ``(d,)``, normalised here; default
            :math:`(1, \dots, 1)/\sqrt d`.

    Returns:
        Tensor of shape ``x_t.shape[:-1]``, float64.

    Used in: chapter 5, "The loss, centred".
    """
    target = check_mixture(target)
    t = check_time(t, positive=True)
    x_t = as_tensor(x_t, "x_t", dtype=torch.float64)
    z = as_tensor(z, "z", dtype=torch.float64, device=x_t.device)
    if x_t.ndim < 1 or x_t.shape[-1] != target.dim or z.shape != x_t.shape:
        raise ValueError(
            f"x_t and z must have one shape (..., {target.dim}); "
            f"got {tuple(x_t.shape)} and {tuple(z.shape)}"
        )
    sigma_t = float(ou_sigma(t))
    v = as_unit_vector(direction, target.dim, x_t.device)
    flat = x_t.reshape(-1, target.dim)
    scaled = sigma_t * target.score(flat, t) + z.reshape(-1, target.dim) / sigma_t
    return (scaled @ v).reshape(x_t.shape[:-1])


def conditional_scale_bound(mass) -> float:
    r"""The largest :math:`\mathbb E[\xi^2 \mid x_t \in A]` over all laws, times and sets of mass p.

    Since :math:`\operatorname{Var}(\xi \mid x) \le \mathbb E[g^2 \mid x]` with
    :math:`g = \langle v, z\rangle/\sigma_t \sim \mathcal N(0, 1)`,
    :math:`\mathbb E[\xi^2 \mathbb 1_A] \le \mathbb E[g^2 \mathbb 1_A]`, and over events of
    probability :math:`p` the right side is largest for :math:`\{|g| > z_p\}`,
    :math:`z_p = \Phi^{-1}(1 - p/2)`:

    .. math::
        \mathbb E[\xi^2 \mid A] \le h(p) = 1 + \frac{2 z_p\,\varphi(z_p)}{p}
        \approx 2\log\frac1p .

    No :math:`\sigma_t`, no :math:`q_0`, no dimension: this is the :math:`\log` part of the
    paper's :math:`B^2`.

    Args:
        mass: :math:`p` in (0, 1).

    Returns:
        :math:`h(p)`, a Python float.

    Used in: chapter 5, "Learning D^delta does not depend on sigma_t".
    """
    mass = check_open_unit(mass, "mass")
    z = float(norm.isf(mass / 2.0))
    return 1.0 + 2.0 * z * float(norm.pdf(z)) / mass


def conditional_noise_covariance(target, x, t) -> torch.Tensor:
    r"""The covariance of :math:`z/\sigma_t` given :math:`x_t = x`, by second-order Tweedie.

    With :math:`x_t = e^{-t}x_0 + z`, :math:`z \sim \mathcal N(0, \sigma_t^2 I)`,

    .. math::
        \operatorname{Cov}(z \mid x_t = x) &= \sigma_t^2 I + \sigma_t^4\,\nabla^2\log q_t(x),
        \qquad\text{so}

        \operatorname{Cov}(\sigma_t\Delta \mid x) &= I + \sigma_t^2\,\nabla^2\log q_t(x),

    and :math:`\operatorname{Var}(\xi \mid x) = v^\top(I + \sigma_t^2\nabla^2\log q_t(x))v`. For a
    mixture, with component precisions :math:`P_k` and scores :math:`g_k = P_k(e^{-t}\mu_k -
    x)` of :math:`q_t`, :math:`\nabla^2\log q_t = \sum_k\pi_k(g_kg_k^\top - P_k) - s_ts_t^\top`.

    Args:
        target: a :class:`.GaussianMixture`, the law :math:`q_0`.
        x: points, shape ``(n, d)``.
        t: forward time :math:`t > 0`.

    Returns:
        Tensor of shape ``(n, d, d)``, float64 (dimensionless).

    Used in: chapter 5, "The loss, centred" and "Learning D^delta does not depend on sigma_t".
    """
    target = check_mixture(target)
    t = check_time(t, positive=True)
    x = check_points(x, "x", target.dim).to(torch.float64)
    q_t = target.noised(t)
    means, precision = q_t.means.to(x.device), torch.linalg.inv(q_t.covs.to(x.device))
    resp = q_t.responsibilities(x)  # (n, K)
    comp = torch.einsum("kde,nke->nkd", precision, means[None] - x[:, None])  # (n, K, d)
    score = (resp[..., None] * comp).sum(1)
    outer = torch.einsum("nk,nkd,nke->nde", resp, comp, comp)
    hessian = (
        outer - torch.einsum("nk,kde->nde", resp, precision) - score[:, :, None] * score[:, None]
    )
    eye = torch.eye(target.dim, dtype=torch.float64, device=x.device)
    return eye + float(ou_sigma(t)) ** 2 * hessian


# ----- the ERM's error probability in closed form ----------------------------------------


def erm_failure_probability(m, mass, size, n_bad=1, rho=1.0) -> float:
    r"""P[the ERM returns a bad candidate] in closed form, for Gaussian centred noise.

    The class is :math:`\{s_t\}` and ``n_bad`` candidates, each wrong by ``size``
    :math:`/\sigma_t` on its own cell of mass :math:`p`; the :math:`\xi_i` are
    :math:`\mathcal N(0, \rho^2)` given the points (exactly so for a Gaussian :math:`q_0`,
    with :math:`\rho^2 = e^{-2t}v/(e^{-2t}v + \sigma_t^2)`). A candidate whose cell holds
    :math:`K \ge 1` points loses to :math:`s_t` unless :math:`\sum_{i\le K} (c^2 + 2c\xi_i) < 0`,
    which has probability :math:`\Phi(-\sqrt K c/(2\rho))`; with :math:`K = 0` it ties. For one
    candidate, exactly,

    .. math::
        \mathbb P[\text{wrong}] = \tfrac12 (1-p)^m + \sum_{k\ge1}\binom mk p^k(1-p)^{m-k}
        \,\Phi\Big(-\frac{\sqrt k\, c}{2\rho}\Big).

    For :math:`J` candidates the cell counts are treated as independent
    :math:`\mathrm{Binomial}(m, p)` (their multinomial dependence is neglected, an
    approximation good for :math:`Jp \ll 1`); with :math:`a = (1-p)^m` and :math:`b` the
    probability that a candidate's cell is non-empty and it loses, a random tie-break among the
    true score and the :math:`n_0` empty candidates gives

    .. math::
        \mathbb P[\text{right}] = \sum_{n_0}\binom{J}{n_0}\frac{a^{n_0}b^{J-n_0}}{n_0+1}
        = \frac{(a+b)^{J+1} - b^{J+1}}{(J+1)\,a}.

    Args:
        m: training-set size, :math:`\ge 0`.
        mass: the cell mass :math:`p` in (0, 1).
        size: the error :math:`c > 0`, in units of :math:`1/\sigma_t`.
        n_bad: the number of bad candidates :math:`J \ge 1`.
        rho: the conditional standard deviation :math:`\rho > 0` of :math:`\xi`.

    Returns:
        The probability, a Python float.

    Used in: chapter 5, "ERM over a finite class, measured" and exercise "The error probability
    in closed form".
    """
    m = as_int(m, "m", minimum=0)
    mass = check_open_unit(mass, "mass")
    size, rho = as_float(size, "size"), as_float(rho, "rho")
    if size <= 0.0 or rho <= 0.0:
        raise ValueError(f"size and rho must be > 0; got size={size!r}, rho={rho!r}")
    n_bad = as_int(n_bad, "n_bad", minimum=1)
    k = torch.arange(0, m + 1, dtype=torch.float64)
    pmf = torch.as_tensor(binom.pmf(k.numpy(), m, mass), dtype=torch.float64)
    wins = torch.as_tensor(norm.cdf(k.sqrt().numpy() * size / (2.0 * rho)), dtype=torch.float64)
    a = float(pmf[0])
    b = float((pmf[1:] * wins[1:]).sum())
    # ((a + b)^(J+1) - b^(J+1)) / ((J+1) a) as a sum of positive terms (no cancellation).
    right = sum((a + b) ** i * b ** (n_bad - i) for i in range(n_bad + 1)) / (n_bad + 1)
    return min(max(1.0 - right, 0.0), 1.0)


def erm_samples_needed(mass, size, delta_train, n_bad=1, rho=1.0) -> int:
    r"""The smallest :math:`m` with :func:`erm_failure_probability` at most :math:`\delta_{train}`.

    The probability falls as :math:`m` grows (each cell count grows stochastically and
    :math:`\Phi(-\sqrt k c/2\rho)` falls in :math:`k`), so a doubling search followed by
    bisection on the integers finds it.

    Args:
        mass, size, n_bad, rho: as in :func:`erm_failure_probability`.
        delta_train: the target probability in (0, 1/2).

    Returns:
        :math:`m^*`, a Python int.

    Used in: chapter 5, "ERM over a finite class, measured" and "Why large errors are easy to
    reject".
    """
    delta_train = check_open_unit(delta_train, "delta_train")
    if delta_train >= 0.5:
        raise ValueError(f"delta_train must lie in (0, 1/2); got {delta_train!r}")

    def ok(m: int) -> bool:
        return erm_failure_probability(m, mass, size, n_bad, rho) <= delta_train

    hi = 1
    while not ok(hi):
        hi *= 2
        if hi > 2**26:
            raise ValueError("no m up to 2**26 reaches delta_train; is size or mass tiny?")
    lo = hi // 2  # not ok (or 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
