r"""Score networks: a time-conditioned MLP and a batched ensemble of per-time MLPs.

Both predict the unit-variance noise and are preconditioned as described in
:mod:`diffedu.precondition`; the output layer starts at zero, so an untrained network is the
exact score of the Gaussian with the data's second moment. The MLP itself (one definition,
with the buffered inference path and the trainer's hand-written backward) is in the private
``diffedu._fastmlp``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._fastmlp import Scratch, mlp
from ._validation import (
    as_float,
    as_float64,
    as_generator,
    as_int,
    as_tensor,
    check_positive,
    check_positive_entries,
)
from .forward import ou_sigma
from .precondition import eps_to_score, preconditioning, preconditioning_at
from .schedules import check_schedule
from .utils import default_device, draw_device


def _uniform(shape, fan_in: int, generator, device, dtype) -> nn.Parameter:
    """Weights drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``generator``, then moved."""
    where = draw_device(generator)
    bound = 1.0 / math.sqrt(fan_in)
    w = torch.rand(shape, generator=generator, device=where, dtype=dtype)
    return nn.Parameter(w.mul_(2.0 * bound).sub_(bound).to(device))


def _check_arch(dim, hidden, depth, m2_per_dim):
    dim = as_int(dim, "dim", minimum=1)
    hidden = as_int(hidden, "hidden", minimum=1)
    depth = as_int(depth, "depth", minimum=1)
    m2_per_dim = check_positive(m2_per_dim, "m2_per_dim")
    return dim, hidden, depth, m2_per_dim


class TimeMLP(nn.Module):
    r"""A time-conditioned MLP noise predictor, the network practice trains.

    The raw network is :math:`F(u, t) = W_{D+1}\,\phi(\dots\phi(W_1 [u;\, e(t)] + b_1)\dots)
    + b_{D+1}` with :math:`\phi` = SiLU, ``depth`` hidden layers of width ``hidden``, and a
    sinusoidal embedding of :math:`\log t`,
    :math:`e(t) = [\sin(\omega_j \log t), \cos(\omega_j \log t)]_j` with frequencies
    :math:`\omega_j` geometric in :math:`[0.05, 20]`. The noise prediction and score follow
    the module's preconditioning.

    Args:
        dim: data dimension :math:`d`.
        hidden: width of each hidden layer.
        depth: number of hidden layers.
        emb_dim: size of the time embedding (even).
        m2_per_dim: per-coordinate second moment :math:`v = \mathbb E\|x_0\|^2/d` of the data.
        generator: ``torch.Generator`` or int seed for the initial weights (drawn on the
            generator's device, then moved), so initialisation does not depend on ``device``.
        device: where the weights live; ``None`` means CUDA when present, else CPU.
        dtype: floating dtype of the weights.

    Used in: chapter 2, "Training score networks" (through :func:`.train_score`).
    """

    def __init__(
        self,
        dim,
        hidden=128,
        depth=3,
        emb_dim=32,
        m2_per_dim=1.0,
        *,
        generator=None,
        device=None,
        dtype=torch.float32,
    ):
        super().__init__()
        dim, hidden, depth, m2_per_dim = _check_arch(dim, hidden, depth, m2_per_dim)
        emb_dim = as_int(emb_dim, "emb_dim", minimum=2)
        if emb_dim % 2:
            raise ValueError(f"emb_dim must be even; got {emb_dim}")
        device = default_device() if device is None else torch.device(device)
        g = as_generator(generator)
        self.dim, self.hidden, self.depth, self.emb_dim = dim, hidden, depth, emb_dim
        self.m2_per_dim = m2_per_dim
        # First layer acts on [c_in x ; e(t)]: rows 0..dim-1 for x, the rest for the embedding.
        # Each block is scaled by its own fan-in, so that x is not drowned by the embedding.
        w_x = _uniform((dim, hidden), dim, g, device, dtype)
        w_e = _uniform((emb_dim, hidden), emb_dim, g, device, dtype)
        self.weights = nn.ParameterList([nn.Parameter(torch.cat([w_x, w_e]))])
        self.biases = nn.ParameterList([_uniform((hidden,), dim + emb_dim, g, device, dtype)])
        for _ in range(depth - 1):
            self.weights.append(_uniform((hidden, hidden), hidden, g, device, dtype))
            self.biases.append(_uniform((hidden,), hidden, g, device, dtype))
        self.weights.append(nn.Parameter(torch.zeros(hidden, dim, device=device, dtype=dtype)))
        self.biases.append(nn.Parameter(torch.zeros(dim, device=device, dtype=dtype)))
        freqs = torch.logspace(math.log10(0.05), math.log10(20.0), emb_dim // 2)
        self.register_buffer("freqs", freqs.to(device=device, dtype=torch.float64))

    def embed(self, log_t: torch.Tensor) -> torch.Tensor:
        r"""Sinusoidal embedding :math:`e(t)` of ``log_t`` (shape ``(n,)``) -> ``(n, emb_dim)``."""
        angles = log_t.to(torch.float64)[:, None] * self.freqs.to(log_t.device)
        emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
        return emb.to(self.weights[0].dtype)

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        """The raw network :math:`F` on ``inputs`` ``(n, dim + emb_dim)`` = ``[c_in x; e(t)]``."""
        return mlp(list(self.weights), list(self.biases), inputs)

    def _member(self, t: float):
        """The network at one time as a plain MLP on ``c_in x``: the embedding folds into the
        first bias, :math:`b_1 + W_1^{(e)} e(t)`. Returns (weights, biases, coefficients)."""
        coef = preconditioning_at(t, self.m2_per_dim)
        log_t = torch.tensor([coef[6]], dtype=torch.float64, device=self.freqs.device)
        w, b = list(self.weights), list(self.biases)  # plain lists: slicing a ParameterList is slow
        first_bias = torch.addmm(b[0], self.embed(log_t), w[0][self.dim :])[0]
        return [w[0][: self.dim], *w[1:]], [first_bias, *b[1:]], coef

    def forward(self, x_t: torch.Tensor, t) -> torch.Tensor:
        r"""Noise prediction :math:`\widehat\varepsilon_t(x_t)`.

        Args:
            x_t: points, shape ``(n, dim)``, in the weights' dtype and device.
            t: forward time :math:`t > 0`, a number (one time for all rows) or shape ``(n,)``.

        Returns:
            Tensor of shape ``(n, dim)``.
        """
        times = check_positive_entries(as_float64(t, "t"), "t")
        if times.ndim == 0 or times.numel() == 1:
            weights, biases, coef = self._member(float(times))
            c_in, c_skip, c_out = coef[2:5]
            return c_skip * x_t + c_out * mlp(weights, biases, c_in * x_t)
        if times.shape != (x_t.shape[0],):
            raise ValueError(
                f"t must be a scalar or have shape ({x_t.shape[0]},); got {tuple(times.shape)}"
            )
        coef = preconditioning(times, self.m2_per_dim).to(x_t)
        inputs = torch.cat([coef[:, 2:3] * x_t, self.embed(coef[:, 6].double())], dim=1)
        return coef[:, 3:4] * x_t + coef[:, 4:5] * self.raw(inputs)

    def score(self, x_t: torch.Tensor, t) -> torch.Tensor:
        r"""Score estimate :math:`\widehat s_t = -\widehat\varepsilon_t/\sigma_t`, ``(n, dim)``."""
        sigma_t = ou_sigma(as_float64(t, "t")).reshape(-1)
        return eps_to_score(self(x_t, t), sigma_t)


class EnsembleMLP(nn.Module):
    r"""``N`` independent MLP noise predictors, one per time ``ts[k]``, evaluated in one batch.

    This is the estimator the paper analyses (Setting 1.1): one network per discretisation
    time, no parameter shared between times. Member :math:`k` computes
    :math:`F_k(u) = W^{(k)}_{D+1}\phi(\dots\phi(W^{(k)}_1 u + b^{(k)}_1)\dots) + b^{(k)}_{D+1}`.
    The weights of all members are stacked, shape ``(N, fan_in, fan_out)``, and applied with
    ``torch.baddbmm``, so a forward and backward pass trains every member at once while the
    gradient of member :math:`k` depends only on member :math:`k`'s inputs.

    Args:
        dim: data dimension :math:`d`.
        ts: the members' forward times, shape ``(N,)``, strictly decreasing, all > 0;
            ``ts[0] = T, ..., ts[N-1] = gamma``.
        hidden: width of each hidden layer.
        depth: number of hidden layers.
        m2_per_dim: per-coordinate second moment :math:`v = \mathbb E\|x_0\|^2/d` of the data.
        generator: ``torch.Generator`` or int seed for the initial weights.
        device: where the weights live; ``None`` means CUDA when present, else CPU.
        dtype: floating dtype of the weights.

    Attributes:
        ts: float64 CPU tensor of the members' times.
        n_nets: ``N``.

    Used in: chapter 2, "One network or one per time"; chapter 6, "An end-to-end experiment".
    """

    def __init__(
        self,
        dim,
        ts,
        hidden=64,
        depth=3,
        m2_per_dim=1.0,
        *,
        generator=None,
        device=None,
        dtype=torch.float32,
    ):
        super().__init__()
        dim, hidden, depth, m2_per_dim = _check_arch(dim, hidden, depth, m2_per_dim)
        self.ts = check_schedule(ts, min_times=1, positive=True)
        device = default_device() if device is None else torch.device(device)
        g = as_generator(generator)
        self.dim, self.hidden, self.depth, self.m2_per_dim = dim, hidden, depth, m2_per_dim
        self.n_nets = n = self.ts.numel()
        self._grid = self.ts.tolist()
        self._index = {t: k for k, t in enumerate(self._grid)}
        sizes = [dim] + [hidden] * depth
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            self.weights.append(_uniform((n, fan_in, fan_out), fan_in, g, device, dtype))
            self.biases.append(_uniform((n, 1, fan_out), fan_in, g, device, dtype))
        self.weights.append(nn.Parameter(torch.zeros(n, hidden, dim, device=device, dtype=dtype)))
        self.biases.append(nn.Parameter(torch.zeros(n, 1, dim, device=device, dtype=dtype)))
        coef = preconditioning(self.ts, m2_per_dim)
        coef = coef.to(device=device, dtype=dtype)[:, :, None, None]
        self.register_buffer("coef", coef, persistent=False)  # a function of ts and m2_per_dim

    def raw(self, inputs: torch.Tensor) -> torch.Tensor:
        """All raw networks at once: ``inputs`` ``(N, n, dim)`` -> ``(N, n, dim)``."""
        return mlp(list(self.weights), list(self.biases), inputs)

    def forward(self, x_t: torch.Tensor) -> torch.Tensor:
        r"""Noise predictions of every member on its own points.

        Args:
            x_t: shape ``(N, n, dim)``; ``x_t[k]`` are points at time ``ts[k]``.

        Returns:
            ``eps_hat`` of shape ``(N, n, dim)``, ``eps_hat[k]`` from member ``k``.
        """
        if x_t.ndim != 3 or x_t.shape[0] != self.n_nets or x_t.shape[2] != self.dim:
            raise ValueError(
                f"x_t must have shape ({self.n_nets}, n, {self.dim}); got {tuple(x_t.shape)}"
            )
        c_in, c_skip, c_out = self.coef[:, 2], self.coef[:, 3], self.coef[:, 4]
        return c_skip * x_t + c_out * self.raw(c_in * x_t)

    def member(self, t) -> int:
        """Index ``k`` of the member trained at ``t``: ``ts[k]`` up to a relative ``1e-6``.

        The tolerance accepts times rounded to float32 and rejects any other grid time.

        Raises:
            ValueError: if no member's time matches ``t``.
        """
        t = as_float(t, "t")
        k = self._index.get(t)
        if k is None:
            gap = (self.ts - t).abs()
            k = int(torch.argmin(gap))
            if float(gap[k]) > 1e-6 * abs(t):
                grid = self.ts.tolist()
                shown = f"{grid[:6]}{' ...' if len(grid) > 6 else ''}"
                raise ValueError(
                    f"t={t!r} is not one of the ensemble's {self.n_nets} training times "
                    f"ts={shown} (range [{grid[-1]!r}, {grid[0]!r}])"
                )
        return k

    def score(self, x_t: torch.Tensor, t) -> torch.Tensor:
        r"""Score estimate of the member trained at ``t``: :math:`-\widehat\varepsilon_t/\sigma_t`.

        Args:
            x_t: points, shape ``(n, dim)``, in the weights' dtype and device.
            t: a time in ``ts`` (see :meth:`member`).

        Returns:
            Tensor of shape ``(n, dim)``.
        """
        weights, biases, coef = self._member(t)
        sigma_t, c_in, c_skip, c_out = coef[1:5]
        eps_hat = c_skip * x_t + c_out * mlp(weights, biases, c_in * x_t)
        return eps_to_score(eps_hat, sigma_t)

    def _member(self, t):
        """Member ``k = member(t)`` as a plain MLP: (weights, biases, coefficient row)."""
        k = self.member(t)
        coef = preconditioning_at(self._grid[k], self.m2_per_dim)
        return [w[k] for w in self.weights], [b[k, 0] for b in self.biases], coef


class LearnedScore:
    r"""A trained network as a score function ``score_fn(x, t) -> (n, d)``.

    Plugs a :class:`.TimeMLP` or :class:`.EnsembleMLP` into :func:`.ddpm_sample` and the
    score metrics exactly where the closed-form ``GaussianMixture.score`` goes. The call runs
    under ``torch.inference_mode``, moves ``x`` to the model's device and dtype, and returns
    the score in ``x``'s dtype on ``x``'s device.

    Args:
        model: a :class:`.TimeMLP` (any ``t > 0``) or an :class:`.EnsembleMLP` (``t`` must be one
            of its training times ``model.ts``; otherwise ``ValueError`` names ``t`` and the grid).

    Used in: chapter 2, "Sampling with the learned score"; chapter 6, "Sampling with the trained
    scores".
    """

    def __init__(self, model):
        if not isinstance(model, (TimeMLP, EnsembleMLP)):
            raise TypeError(
                f"model must be a TimeMLP or an EnsembleMLP; got {type(model).__name__}"
            )
        self.model = model
        self._scratch = Scratch()

    def __call__(self, x: torch.Tensor, t) -> torch.Tensor:
        x = as_tensor(x, "x")
        if x.ndim != 2 or x.shape[1] != self.model.dim:
            raise ValueError(f"x must have shape (n, {self.model.dim}); got {tuple(x.shape)}")
        t = check_positive(t, "t")
        param = self.model.weights[0]
        with torch.inference_mode():
            weights, biases, coef = self.model._member(t)
            sigma_t, c_in, c_skip, c_out = coef[1:5]
            x_t = x.to(device=param.device, dtype=param.dtype)
            F_x = self._scratch.apply(weights, biases, x_t, scale=c_in)
            eps_hat = F_x.mul_(c_out).add_(x_t, alpha=c_skip)
            score = eps_to_score(eps_hat, sigma_t)
        return score.to(device=x.device, dtype=x.dtype if x.is_floating_point() else score.dtype)

    def __repr__(self) -> str:
        return f"LearnedScore({type(self.model).__name__})"
