r"""Denoising score matching: a trainer for the loss of eq. (4) that returns data.

The trainer minimises the paper's empirical loss (:func:`.dsm_loss`, eq. (4), Setting 1.1)
with Adam, fresh noise each step, over the same ``m`` data points at every time. Each step
draws a mini-batch, forms the raw network's inputs and regression targets (the
preconditioning of :mod:`diffedu.precondition`), and hands them to the MLP's hand-written
backward pass (the private ``diffedu._fastmlp``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from ._fastmlp import Backprop
from ._validation import as_generator, as_int, as_tensor, check_finite, check_positive
from .nets import EnsembleMLP, LearnedScore, TimeMLP
from .precondition import preconditioning
from .schedules import check_schedule
from .utils import default_device


@dataclass
class TrainResult:
    r"""What :func:`train_score` returns: the trained model and its loss history, as data.

    Attributes:
        model: the trained :class:`.TimeMLP` or :class:`.EnsembleMLP`, on the training device.
        ts: the training grid, float64 CPU, shape ``(N,)``.
        losses: CPU float tensor of the mini-batch loss at every step, in noise units
            :math:`\sigma_t^2 \times` eq. (4), i.e. :math:`\|\widehat\varepsilon - z/\sigma_t\|^2`
            averaged over the batch; shape ``(n_iters, N)`` (one column per member) for an
            ensemble and ``(n_iters,)`` (averaged over the batch's random times) for a
            time-conditioned network. At the true score its expectation at time :math:`t`
            is :math:`d - \sigma_t^2\,\mathbb E_{q_t}\|s_t\|^2`.
        seconds: wall-clock time of the training loop.
        m: number of training points.
        batch_size: points per step and per member (``min(batch_size, m)``).
        n_iters: number of Adam steps.

    Used in: chapter 2, "Training score networks".
    """

    model: torch.nn.Module
    ts: torch.Tensor
    losses: torch.Tensor
    seconds: float
    m: int
    batch_size: int
    n_iters: int

    @property
    def score_fn(self) -> LearnedScore:
        """The trained model as a ``score_fn(x, t)`` for the sampler and the metrics."""
        return LearnedScore(self.model)


def _check_data(x_0) -> torch.Tensor:
    x_0 = as_tensor(x_0, "x_0")
    if x_0.ndim == 1:
        x_0 = x_0[:, None]
    if x_0.ndim != 2 or x_0.shape[0] < 1 or x_0.shape[1] < 1:
        raise ValueError(f"x_0 must have shape (m, d) with m >= 1; got {tuple(x_0.shape)}")
    if not x_0.is_floating_point():
        x_0 = x_0.to(torch.float64)
    return check_finite(x_0, "x_0")


def _build_model(model, x_0, ts, hidden, depth, init_generator, device):
    """A fresh network for ``model`` = "ensemble" | "time", or the given module, checked."""
    arch = {k: v for k, v in (("hidden", hidden), ("depth", depth)) if v is not None}
    m2_per_dim = max(float(x_0.double().pow(2).mean()), 1e-12)
    if isinstance(model, str):
        if model == "ensemble":
            return EnsembleMLP(
                x_0.shape[1],
                ts,
                m2_per_dim=m2_per_dim,
                generator=init_generator,
                device=device,
                **arch,
            )
        elif model == "time":
            return TimeMLP(
                x_0.shape[1], m2_per_dim=m2_per_dim, generator=init_generator, device=device, **arch
            )
        else:
            raise ValueError(f"unknown model {model!r}; expected 'ensemble', 'time' or a module")
    if not isinstance(model, (TimeMLP, EnsembleMLP)):
        raise TypeError(
            f"model must be 'ensemble', 'time', a TimeMLP or an EnsembleMLP; "
            f"got {type(model).__name__}"
        )
    if arch:
        raise TypeError(f"hidden and depth apply only to a model built by name; got {arch}")
    if model.dim != x_0.shape[1]:
        raise ValueError(
            f"x_0 must have shape (m, {model.dim}) for this model; got {tuple(x_0.shape)}"
        )
    if isinstance(model, EnsembleMLP) and (
        model.ts.shape != ts.shape or not torch.allclose(model.ts, ts, rtol=1e-12, atol=0)
    ):
        raise ValueError(f"ts must equal the ensemble's times model.ts ({model.n_nets} times)")
    return model.to(device)


def _seeds(generator, device):
    """(generator for the initial weights, generator for training draws on ``device``)."""
    if generator is None:
        return None, None
    if isinstance(generator, torch.Generator):
        if generator.device.type != device.type:
            raise ValueError(
                f"generator must live on the training device {device}; got {generator.device}"
            )
        seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
        return torch.Generator().manual_seed(seed), generator
    seed = as_generator(generator).initial_seed()
    return torch.Generator().manual_seed(seed), torch.Generator(device).manual_seed(seed + 1)


def _adam(params, lr):
    """Adam, fused where the device supports it, else the multi-tensor (foreach) version."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


def train_score(
    x_0,
    ts,
    model="ensemble",
    *,
    n_iters=2000,
    batch_size=256,
    lr=3e-3,
    lr_schedule="cosine",
    hidden=None,
    depth=None,
    generator=None,
    device=None,
    progress=True,
) -> TrainResult:
    r"""Train a score network on ``m`` samples by denoising score matching, eq. (4).

    Setting 1.1 of the paper: the same ``m`` points :math:`x_{0,i}` serve every time, with
    fresh noise :math:`z \sim \mathcal N(0, \sigma_t^2 I_d)` at every step.

    - ``"ensemble"``: one :class:`.EnsembleMLP` member per time ``ts[k]``; each step, every
      member draws its own mini-batch of ``batch_size`` indices (uniform, with replacement;
      all ``m`` points when ``batch_size >= m``), noises it at ``ts[k]`` and takes an Adam
      step on its own loss. All members run in one batched pass.
    - ``"time"``: one :class:`.TimeMLP`; each sample of a mini-batch gets a time drawn
      uniformly from the grid ``ts`` (not from :math:`[\gamma, T]`), so it sees the same
      times as the ensemble.

    The raw network regresses the preconditioned target (see :mod:`diffedu.precondition`), which is
    eq. (4) multiplied by the constant :math:`\sigma_t^2 / c_\text{out}(t)^2` at each time:
    for each fixed time the minimiser is the same as that of eq. (4).

    Args:
        x_0: training data, shape ``(m, d)`` (``(m,)`` is read as ``d = 1``); kept as one
            tensor on the training device, cast to the model's dtype.
        ts: training times, shape ``(N,)``, all > 0, strictly decreasing
            (``ts[0] = T, ..., ts[-1] = gamma``; a schedule from :mod:`diffedu.schedules`).
        model: ``"ensemble"``, ``"time"``, or a :class:`.TimeMLP` / :class:`.EnsembleMLP`
            to continue training (an ensemble's ``ts`` must equal ``ts``).
        n_iters: number of Adam steps, ``>= 1``.
        batch_size: mini-batch size per step (per member for an ensemble), ``>= 1``.
        lr: Adam learning rate, ``> 0`` (the preconditioned targets have unit scale, so one
            default serves every time; 3e-3 suits the book's small MLPs).
        lr_schedule: ``"cosine"`` (decay from ``lr`` to 0) or ``"constant"``.
        hidden, depth: width and number of hidden layers of a model built by name
            (defaults: the class defaults).
        generator: an int seed or a ``torch.Generator`` on the training device; the same seed
            gives the same initial weights and the same training run.
        device: where to train; ``None`` means CUDA when present, else CPU.
        progress: show a ``tqdm`` progress bar.

    Returns:
        A :class:`.TrainResult`; ``result.score_fn`` plugs into :func:`.ddpm_sample`.

    Used in: chapter 2, "Training score networks"; chapter 6, "An end-to-end experiment".
    """
    x_0 = _check_data(x_0)
    ts = check_schedule(ts, min_times=1, positive=True)
    n_iters = as_int(n_iters, "n_iters", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    lr = check_positive(lr, "lr")
    if lr_schedule not in ("cosine", "constant"):
        raise ValueError(f"unknown lr_schedule {lr_schedule!r}; expected 'cosine' or 'constant'")
    device = default_device() if device is None else torch.device(device)
    init_gen, gen = _seeds(generator, device)
    net = _build_model(model, x_0, ts, hidden, depth, init_gen, device)
    dtype = net.weights[0].dtype
    data = x_0.to(device=device, dtype=dtype)
    batch_size = min(batch_size, data.shape[0])
    opt = _adam(list(net.parameters()), lr)
    ensemble = isinstance(net, EnsembleMLP)
    draw = _ensemble_batch if ensemble else _time_batch
    state = _prepare(net, data, ts, batch_size, gen)
    backprop = Backprop(net, (net.n_nets, batch_size) if ensemble else (batch_size,))
    n_cols = (net.n_nets,) if ensemble else ()
    losses = torch.empty((n_iters, *n_cols), device=device, dtype=dtype)
    every = max(1, n_iters // 100)
    net.train()
    start = time.perf_counter()
    # tqdm.auto warns at import in a Jupyter kernel without ipywidgets; most calls (every
    # chapter's) train without a bar, and then the plain, disabled tqdm is enough.
    if progress:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm

    with tqdm(total=n_iters, disable=not progress, desc="train_score") as bar:
        for i in range(n_iters):
            if lr_schedule == "cosine":
                opt.param_groups[0]["lr"] = 0.5 * lr * (1.0 + math.cos(math.pi * i / n_iters))
            inputs, target, c_out2 = draw(net, state)
            per_row = backprop(inputs, target)  # gradients written into .grad
            opt.step()
            # Record in noise units: ||eps_hat - z/sigma_t||^2 = c_out^2 ||F - F*||^2.
            losses[i] = per_row.mean(-1) * c_out2[:, 0] if ensemble else (per_row * c_out2).mean()
            if progress and (i + 1) % every == 0:
                bar.set_postfix(loss=f"{float(losses[i].mean()):.4g}", refresh=False)
                bar.update(every)
        if progress:
            bar.update(n_iters - bar.n)
    seconds = time.perf_counter() - start
    net.eval()
    return TrainResult(net, ts, losses.cpu(), seconds, data.shape[0], batch_size, n_iters)


def _prepare(net, data, ts, batch_size, gen) -> dict:
    """Everything the step needs as tensors on the device: data, coefficient tables."""
    m = data.shape[0]
    state = {"data": data, "m": m, "B": batch_size, "gen": gen, "full": batch_size >= m}
    if isinstance(net, TimeMLP):
        coef = preconditioning(ts, net.m2_per_dim)
        # Columns used per sample: alpha, sigma, c_in, c_out, target_x0, and c_out^2 for the record.
        cols = coef[:, [0, 1, 2, 4, 5, 4]]
        cols[:, 5] = cols[:, 5] ** 2
        state["coef"] = cols.to(data)
        # The time embedding is fixed: precompute it once per grid time.
        state["emb"] = net.embed(coef[:, 6].to(data.device))
    return state


def _time_batch(net: TimeMLP, s: dict):
    """A mini-batch: inputs ``[c_in x_t; e(t)]`` ``(B, d + E)``, targets ``F*``, ``c_out^2``."""
    data, gen, B = s["data"], s["gen"], s["B"]
    idx = torch.randint(s["m"], (B,), generator=gen, device=data.device)
    k = torch.randint(s["coef"].shape[0], (B,), generator=gen, device=data.device)
    x0 = data[idx]
    eps = torch.randn(x0.shape, generator=gen, device=data.device, dtype=data.dtype)
    alpha, sigma, c_in, c_out, target_x0, c_out2 = s["coef"][k, :, None].unbind(1)
    x_in = c_in * (alpha * x0 + sigma * eps)
    # Raw-network target F* = c_out eps - sigma c_in v^{-1/2} x_0 (unit variance).
    target = c_out * eps - target_x0 * x0
    return torch.cat([x_in, s["emb"][k]], dim=1), target, c_out2[:, 0]


def _ensemble_batch(net: EnsembleMLP, s: dict):
    """Mini-batches: inputs ``c_in x_t`` ``(N, B, d)`` (row k at ts[k]), targets, ``c_out^2``."""
    data, gen, B = s["data"], s["gen"], s["B"]
    n, d = net.n_nets, data.shape[1]
    if s["full"]:
        x0 = data.expand(n, B, d)
    else:
        x0 = data[torch.randint(s["m"], (n, B), generator=gen, device=data.device)]
    eps = torch.randn((n, B, d), generator=gen, device=data.device, dtype=data.dtype)
    alpha, sigma, c_in, _, c_out, target_x0 = net.coef[:, :6].unbind(1)
    x_in = c_in * (alpha * x0 + sigma * eps)
    target = c_out * eps - target_x0 * x0
    return x_in, target, c_out.reshape(n, 1) ** 2
