r"""Gaussian mixture targets with closed-form noised marginals and scores.

Under the OU forward process a mixture stays a mixture:

.. math::
    q_0 = \sum_k w_k\,\mathcal N(\mu_k, \Sigma_k)
    \quad\Longrightarrow\quad
    q_t &= \sum_k w_k\,\mathcal N\big(e^{-t}\mu_k,\ \Sigma_{k,t}\big),

    \Sigma_{k,t} &= e^{-2t}\Sigma_k + \sigma_t^2 I_d,

and its score is a posterior-weighted average of the component scores,

.. math::
    s_t(x) = \sum_k \pi_k(x)\,\Sigma_{k,t}^{-1}\big(e^{-t}\mu_k - x\big),\qquad
    \pi_k(x) \propto w_k\,\mathcal N(x; e^{-t}\mu_k, \Sigma_{k,t}).

The responsibilities :math:`\pi_k` are computed in log space with ``logsumexp``, so modes
that are far apart (one responsibility :math:`e^{-10^7}`) stay finite and accurate.
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    as_1d,
    as_float,
    as_int,
    as_tensor,
    check_finite,
    check_points,
    check_positive_entries,
    check_time,
)
from .forward import ou_alpha, ou_sigma
from .utils import draw_device

_LOG_2PI = math.log(2.0 * math.pi)


class GaussianMixture:
    r"""A mixture of Gaussians :math:`\sum_k w_k \mathcal N(\mu_k, \Sigma_k)` in any dimension.

    All parameters are stored in float64. Methods take a forward time ``t`` (default 0) and
    then refer to the noised marginal :math:`q_t`, the law of :math:`e^{-t}x_0 + \sigma_t z`.

    The parameters are read-only properties (:attr:`~diffedu.targets.GaussianMixture.weights`,
    :attr:`~diffedu.targets.GaussianMixture.means`, :attr:`~diffedu.targets.GaussianMixture.covs`,
    :attr:`~diffedu.targets.GaussianMixture.dim`,
    :attr:`~diffedu.targets.GaussianMixture.n_components`); each tensor read returns a copy, so
    the mixture's cached noised marginals can never go stale. Build a new ``GaussianMixture``
    for other parameters.

    Args:
        weights: mixture weights, shape ``(K,)``, non-negative, summing to 1.
        means: component means, shape ``(K, d)`` (shape ``(K,)`` is read as ``d = 1``).
        covs: covariances, shape ``(K, d, d)`` and positive definite, or isotropic variances
            of shape ``(K,)`` (each component :math:`v_k I_d`).
        device: where the parameters live; ``None`` keeps them on the CPU. Methods move
            them to the device of their inputs as needed.

    Used in: chapter 1, "A target with a closed-form score"; every chapter after it.
    """

    def __init__(self, weights, means, covs, device=None):
        weights = check_finite(as_tensor(weights, "weights", dtype=torch.float64), "weights")
        means = check_finite(as_tensor(means, "means", dtype=torch.float64), "means")
        covs = check_finite(as_tensor(covs, "covs", dtype=torch.float64), "covs")
        if weights.ndim != 1 or weights.numel() == 0:
            raise ValueError(
                f"weights must have shape (K,) with K >= 1; got {tuple(weights.shape)}"
            )
        K = weights.shape[0]
        if bool((weights < 0).any()) or abs(float(weights.sum()) - 1.0) > 1e-6:
            raise ValueError(
                "weights must be non-negative and sum to 1; "
                f"got min={float(weights.min()):.6g}, sum={float(weights.sum()):.6g}"
            )
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or means.shape[0] != K:
            raise ValueError(f"means must have shape ({K}, d); got {tuple(means.shape)}")
        d = means.shape[1]
        if covs.ndim == 1 and covs.shape[0] == K:
            check_positive_entries(covs, "covs (isotropic variances)")
            covs = covs[:, None, None] * torch.eye(d, dtype=torch.float64)
        if covs.shape != (K, d, d):
            raise ValueError(
                f"covs must have shape ({K}, {d}, {d}) or ({K},); got {tuple(covs.shape)}"
            )
        if not torch.allclose(covs, covs.transpose(-1, -2), rtol=1e-10, atol=1e-12):
            raise ValueError("covs must be symmetric matrices")
        _, info = torch.linalg.cholesky_ex(covs)
        if bool((info != 0).any()):
            bad = int(torch.nonzero(info)[0])
            raise ValueError(f"covs must be positive definite; component {bad} is not")
        device = torch.device("cpu") if device is None else torch.device(device)
        self._weights = weights.to(device)
        self._means = means.to(device)
        self._covs = covs.to(device)
        self._dim = d
        self._cache: dict = {}  # (t, device) -> parameters of q_t; valid: parameters are fixed

    # ----- parameters (read-only) ---------------------------------------------------------

    @property
    def weights(self) -> torch.Tensor:
        """Mixture weights, shape ``(K,)``, float64 (a copy)."""
        return self._weights.clone()

    @property
    def means(self) -> torch.Tensor:
        """Component means, shape ``(K, d)``, float64 (a copy)."""
        return self._means.clone()

    @property
    def covs(self) -> torch.Tensor:
        """Component covariances, shape ``(K, d, d)``, float64 (a copy)."""
        return self._covs.clone()

    @property
    def dim(self) -> int:
        """The dimension ``d``."""
        return self._dim

    @property
    def n_components(self) -> int:
        """The number of components ``K``."""
        return self._weights.shape[0]

    def __repr__(self) -> str:
        return f"GaussianMixture(dim={self.dim}, n_components={self.n_components})"

    # ----- parameters of q_t --------------------------------------------------------------

    def _params(self, t: float, device: torch.device):
        """Weights, means, covariance Cholesky factors and log-dets of q_t on ``device``."""
        key = (t, str(device))
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            alpha_t = float(ou_alpha(t))
            sigma2_t = float(ou_sigma(t)) ** 2
            eye = torch.eye(self.dim, dtype=torch.float64, device=device)
            means_t = alpha_t * self._means.to(device)
            covs_t = alpha_t**2 * self._covs.to(device) + sigma2_t * eye
            chol = torch.linalg.cholesky(covs_t)
            logdet = 2.0 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
            precision = torch.cholesky_inverse(chol)
            log_w = torch.log(self._weights.to(device))
            self._cache[key] = (log_w, means_t, covs_t, chol, logdet, precision)
        return self._cache[key]

    def noised(self, t=0.0) -> GaussianMixture:
        r"""The noised marginal :math:`q_t` as a new ``GaussianMixture``.

        Args:
            t: forward time :math:`t \ge 0`.

        Returns:
            The mixture with means :math:`e^{-t}\mu_k` and covariances
            :math:`e^{-2t}\Sigma_k + \sigma_t^2 I`.

        Used in: chapter 1, "The forward process".
        """
        t = check_time(t)
        device = self._means.device
        _, means_t, covs_t, _, _, _ = self._params(t, device)
        return GaussianMixture(self._weights, means_t, covs_t, device=device)

    # ----- densities and scores -----------------------------------------------------------

    def _component_log_probs(self, x: torch.Tensor, t: float):
        """Log weights plus component log densities ``(n, K)``; component scores ``(n, K, d)``."""
        log_w, means_t, _, _, logdet, precision = self._params(t, x.device)
        diff = x[:, None, :] - means_t[None, :, :]  # (n, K, d)
        # Component scores Sigma_{k,t}^{-1}(mu_k - x) and Mahalanobis distances.
        comp_scores = -torch.einsum("kde,nke->nkd", precision, diff)
        maha = -(diff * comp_scores).sum(-1)
        log_comp = -0.5 * (maha + logdet[None, :] + self.dim * _LOG_2PI)
        return log_w[None, :] + log_comp, comp_scores

    def log_prob(self, x, t=0.0) -> torch.Tensor:
        r"""Log density :math:`\log q_t(x)`, by log-sum-exp over components.

        Args:
            x: points, shape ``(n, d)``.
            t: forward time :math:`t \ge 0`.

        Returns:
            Tensor of shape ``(n,)``, float64, on ``x``'s device.

        Used in: chapter 1, "The forward process".
        """
        t = check_time(t)
        x = check_points(x, "x", self.dim).to(torch.float64)
        joint, _ = self._component_log_probs(x, t)
        return torch.logsumexp(joint, dim=1)

    def responsibilities(self, x, t=0.0) -> torch.Tensor:
        r"""Posterior component probabilities :math:`\pi_k(x)` under :math:`q_t`.

        Args:
            x: points, shape ``(n, d)``.
            t: forward time :math:`t \ge 0`.

        Returns:
            Tensor of shape ``(n, K)`` whose rows sum to 1.

        Used in: chapter 1, "Exact scores".
        """
        t = check_time(t)
        x = check_points(x, "x", self.dim).to(torch.float64)
        joint, _ = self._component_log_probs(x, t)
        return torch.softmax(joint, dim=1)

    def score(self, x, t=0.0) -> torch.Tensor:
        r"""Closed-form score :math:`s_t(x) = \nabla_x \log q_t(x)`.

        .. math:: s_t(x) = \sum_k \pi_k(x)\,\Sigma_{k,t}^{-1}\big(e^{-t}\mu_k - x\big)

        Args:
            x: points, shape ``(n, d)``.
            t: forward time :math:`t \ge 0`.

        Returns:
            Tensor of shape ``(n, d)``, float64, on ``x``'s device.

        Used in: chapter 1, "Exact scores"; the reference in every later chapter.
        """
        t = check_time(t)
        x = check_points(x, "x", self.dim).to(torch.float64)
        joint, comp_scores = self._component_log_probs(x, t)
        resp = torch.softmax(joint, dim=1)  # (n, K)
        return (resp[..., None] * comp_scores).sum(1)

    # ----- sampling -----------------------------------------------------------------------

    def sample(self, n, t=0.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""Draw ``n`` i.i.d. points from :math:`q_t`.

        Args:
            n: number of samples, ``n >= 1``.
            t: forward time :math:`t \ge 0` (``t = 0`` samples the data distribution).
            generator: optional ``torch.Generator``; samples are made on its device, or on
                the CPU when ``None`` (the package's rule, :func:`.draw_device`).

        Returns:
            Tensor of shape ``(n, d)``, float64.

        Used in: chapter 1, "A target with a closed-form score".
        """
        n = as_int(n, "n", minimum=1)
        t = check_time(t)
        device = draw_device(generator)
        log_w, means_t, _, chol, _, _ = self._params(t, device)
        comp = torch.multinomial(log_w.exp(), n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, device=device, dtype=torch.float64)
        return means_t[comp] + (chol[comp] @ z[..., None]).squeeze(-1)

    # ----- one-dimensional helpers --------------------------------------------------------

    def _check_1d(self, name: str) -> None:
        if self.dim != 1:
            raise ValueError(f"{name} is defined for d = 1 only; this mixture has d = {self.dim}")

    def components_1d(self, t=0.0, device=None):
        r"""Weights, means and standard deviations of the components of :math:`q_t`, ``d = 1``.

        .. math:: q_t = \sum_k w_k\,\mathcal N\big(e^{-t}\mu_k,\ s_k^2\big),\qquad
            s_k = \sqrt{e^{-2t}\Sigma_k + \sigma_t^2}.

        Args:
            t: forward time :math:`t \ge 0`.
            device: where to return them; ``None`` means the parameters' device.

        Returns:
            ``(w, mu, s)``, three float64 tensors of shape ``(K,)``; ``s`` is not squared.

        Used in: chapter 1 (exact W2 to :math:`q_\gamma`, through :func:`.wasserstein2_1d`).
        """
        self._check_1d("components_1d")
        t = check_time(t)
        device = self._means.device if device is None else torch.device(device)
        log_w, means_t, covs_t, _, _, _ = self._params(t, device)
        return log_w.exp(), means_t[:, 0], covs_t[:, 0, 0].sqrt()

    def cdf(self, x, t=0.0) -> torch.Tensor:
        r"""Distribution function of :math:`q_t` for ``d = 1``.

        Args:
            x: points, shape ``(n,)`` or ``(n, 1)``.
            t: forward time :math:`t \ge 0`.

        Returns:
            Tensor of shape ``(n,)``, float64.

        Used in: chapter 1 (TV and W2 to :math:`q_\gamma`).
        """
        self._check_1d("cdf")
        t = check_time(t)
        x = as_1d(x, "x", allow_empty=True)
        w, mu, sd = self.components_1d(t, x.device)
        u = (x[:, None] - mu[None]) / (sd[None] * math.sqrt(2.0))
        return (w[None] * 0.5 * torch.erfc(-u)).sum(1).clamp(0.0, 1.0)

    def icdf(self, u, t=0.0, tol: float = 1e-12) -> torch.Tensor:
        r"""Quantile function of :math:`q_t` for ``d = 1``, by bisection on :meth:`cdf`.

        Args:
            u: probabilities in the open interval (0, 1), shape ``(n,)``.
            t: forward time :math:`t \ge 0`.
            tol: absolute tolerance on the returned quantile.

        Returns:
            Tensor of shape ``(n,)``, float64.

        Used in: chapter 1 (exact W2 to :math:`q_\gamma`).
        """
        self._check_1d("icdf")
        t = check_time(t)
        tol = as_float(tol, "tol")
        u = as_1d(u, "u", allow_empty=True)
        if bool(((u <= 0) | (u >= 1)).any()):
            raise ValueError("u must lie in the open interval (0, 1)")
        _, mu, sd = self.components_1d(t, u.device)
        # Every quantile in (0, 1) lies within 40 standard deviations of some mean.
        lo = torch.full_like(u, float((mu - 40 * sd).min()))
        hi = torch.full_like(u, float((mu + 40 * sd).max()))
        n_iter = int(math.ceil(math.log2(float(hi[0] - lo[0]) / tol))) + 1
        for _ in range(n_iter):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid, t) < u
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def second_moment(self) -> float:
        r"""The second moment :math:`m_2^2 = \mathbb E_{q_0}\|x\|^2` (squared, as its name says).

        .. math:: m_2^2 = \sum_k w_k\big(\|\mu_k\|^2 + \operatorname{tr}\Sigma_k\big)

        Used in: chapter 6, "The sample-complexity theorem".
        """
        per = (self._means**2).sum(-1) + torch.diagonal(self._covs, dim1=-2, dim2=-1).sum(-1)
        return float((self._weights * per).sum())
