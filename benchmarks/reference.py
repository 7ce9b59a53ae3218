"""Reference implementations: what a user would write with Hugging Face ``diffusers``.

The training loop follows the ``diffusers`` unconditional-training example: a
``DataLoader`` over a ``TensorDataset``, ``DDPMScheduler.add_noise`` with 1000 linear-beta
steps, an epsilon-predicting MLP on ``[x_t; embedding(timestep)]`` and Adam with its default
(multi-tensor) implementation. Sampling calls ``DDPMScheduler.step`` once per step.
The per-time ensemble reference is a Python loop over ``nn.Sequential`` networks.

Benchmark-only: needs ``diffusers`` (see ``requirements.txt``).
"""

from __future__ import annotations

import torch
from diffusers import DDPMScheduler
from diffusers.models.embeddings import get_timestep_embedding
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset


def mlp(d_in: int, d_out: int, hidden: int = 128, depth: int = 3) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden`` with SiLU, as ``nn.Sequential``."""
    layers, width = [], d_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


class EpsMLP(nn.Module):
    """Epsilon-predicting MLP on ``[x_t; e(timestep)]`` with a sinusoidal embedding."""

    def __init__(self, dim: int, hidden: int = 128, depth: int = 3, emb_dim: int = 32):
        super().__init__()
        self.emb_dim = emb_dim
        self.net = mlp(dim + emb_dim, dim, hidden, depth)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        if timesteps.ndim == 0:
            timesteps = timesteps.expand(x.shape[0])
        emb = get_timestep_embedding(timesteps, self.emb_dim)
        return self.net(torch.cat([x, emb], dim=1))


def make_scheduler() -> DDPMScheduler:
    """1000 linear-beta steps; no clipping of the predicted x_0 (the data are not in [-1, 1])."""
    return DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=False)


class ReferenceTrainer:
    """The diffusers-style training loop, run ``n_steps`` at a time."""

    def __init__(self, data: torch.Tensor, batch_size: int = 1024, lr: float = 1e-3, seed=0):
        torch.manual_seed(seed)
        self.model = EpsMLP(data.shape[1]).to(data.device)
        self.scheduler = make_scheduler()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.loader = DataLoader(
            TensorDataset(data), batch_size=batch_size, shuffle=True, drop_last=True
        )
        self._batches = iter(self.loader)

    def _next_batch(self) -> torch.Tensor:
        try:
            (x_0,) = next(self._batches)
        except StopIteration:
            self._batches = iter(self.loader)
            (x_0,) = next(self._batches)
        return x_0

    def train(self, n_steps: int) -> float:
        for _ in range(n_steps):
            x_0 = self._next_batch()
            noise = torch.randn_like(x_0)
            timesteps = torch.randint(
                0, self.scheduler.config.num_train_timesteps, (x_0.shape[0],), device=x_0.device
            )
            x_t = self.scheduler.add_noise(x_0, noise, timesteps)
            loss = F.mse_loss(self.model(x_t, timesteps), noise)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return loss.item()


@torch.no_grad()
def reference_sample(model: EpsMLP, n: int, dim: int, n_steps: int = 1000, device="cpu", seed=0):
    """The diffusers sampling loop: ``DDPMScheduler.step`` over ``n_steps`` timesteps."""
    generator = torch.Generator(device).manual_seed(seed)
    scheduler = make_scheduler()
    scheduler.set_timesteps(n_steps)
    x = torch.randn(n, dim, generator=generator, device=device)
    for t in scheduler.timesteps:
        eps = model(x, t.to(device))
        x = scheduler.step(eps, t, x, generator=generator).prev_sample
    return x


class LoopEnsemble:
    """``N`` separate ``nn.Sequential`` noise predictors trained by a Python loop.

    One Adam (default multi-tensor implementation) over all parameters; each step loops over
    the networks, draws each one's mini-batch by plain tensor indexing, and back-propagates
    each loss in turn. This is the stronger baseline: no DataLoader, one optimizer step.
    """

    def __init__(self, data, alphas, sigmas, batch_size, hidden=128, depth=3, lr=1e-3, seed=0):
        torch.manual_seed(seed)
        self.data, self.batch_size = data, batch_size
        self.alphas, self.sigmas = alphas.tolist(), sigmas.tolist()
        dim = data.shape[1]
        self.nets = [mlp(dim, dim, hidden, depth).to(data.device) for _ in self.alphas]
        params = [p for net in self.nets for p in net.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=lr)

    def train(self, n_steps: int) -> None:
        m = self.data.shape[0]
        for _ in range(n_steps):
            self.optimizer.zero_grad()
            for net, alpha, sigma in zip(self.nets, self.alphas, self.sigmas, strict=True):
                idx = torch.randint(m, (self.batch_size,), device=self.data.device)
                x_0 = self.data[idx]
                noise = torch.randn_like(x_0)
                loss = F.mse_loss(net(alpha * x_0 + sigma * noise), noise)
                loss.backward()
            self.optimizer.step()
