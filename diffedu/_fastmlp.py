r"""The score networks' MLP and its fast paths (private): buffers, hand-written backward, SiLU.

Every network of :mod:`diffedu.nets` is the same MLP with SiLU activations :math:`\phi`,

.. math::
    h_0 = c\,u,\qquad a_j = h_{j-1} W_j + b_j,\quad h_j = \phi(a_j)\ (j < L),\qquad
    F(u) = h_{L-1} W_L + b_L,

with weights stored ``(fan_in, fan_out)``, or stacked ``(N, fan_in, fan_out)`` for an
ensemble of ``N`` networks evaluated in one batched pass. :func:`mlp` is the one place this
architecture is written; the network classes, the chunked inference of
:class:`Scratch` and the trainer's :class:`Backprop` all call it.

The fast paths write into persistent buffers instead of allocating activations at every
step, using torch's ``out=`` variants. Two of them are internal ATen overloads,
``silu.out`` and ``silu_backward.grad_input``: they are looked up at import, and where a
torch build lacks them :func:`silu_into` and :func:`silu_backward_into` fall back to public
operations with the same result (up to rounding). The tests force the fallback.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _aten_overload(op: str, overload: str):
    """``torch.ops.aten.<op>.<overload>``, or ``None`` where this torch build lacks it."""
    try:
        return getattr(getattr(torch.ops.aten, op), overload)
    except (AttributeError, RuntimeError):
        return None


#: ``silu.out``: SiLU into a given tensor (``None`` selects the public fallback).
SILU_OUT = _aten_overload("silu", "out")
#: ``silu_backward.grad_input``: the SiLU derivative into a given tensor (or ``None``).
SILU_BACKWARD_INTO = _aten_overload("silu_backward", "grad_input")


def silu_into(a: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    r"""``out`` :math:`\leftarrow \phi(a) = a\,\mathrm{sigmoid}(a)`, without allocating."""
    if SILU_OUT is not None:
        return SILU_OUT(a, out=out)
    return torch.sigmoid(a, out=out).mul_(a)


def silu_backward_into(grad: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    r"""``a`` :math:`\leftarrow` ``grad`` :math:`\cdot\,\phi'(a)`, in place.

    :math:`\phi'(a) = s\,(1 + a(1 - s))` with :math:`s = \mathrm{sigmoid}(a)`. The
    pre-activation buffer ``a`` is overwritten with the gradient and returned.
    """
    if SILU_BACKWARD_INTO is not None:
        return SILU_BACKWARD_INTO(grad, a, grad_input=a)
    s = torch.sigmoid(a)
    return torch.mul(grad, s * (1.0 + a * (1.0 - s)), out=a)


def affine(b, h, w, *, alpha: float = 1.0, out=None) -> torch.Tensor:
    r""":math:`\alpha\,h W + b`: ``addmm`` for 2-D weights, ``baddbmm`` for stacked ones."""
    if w.ndim == 3:
        return torch.baddbmm(b, h, w, alpha=alpha, out=out)
    return torch.addmm(b, h, w, alpha=alpha, out=out)


def mlp(weights, biases, u, *, scale: float = 1.0, pre=None, act=None, out=None):
    r"""The MLP :math:`F(u)` of the module docstring, with input scale :math:`c` = ``scale``.

    Args:
        weights, biases: sequences of the ``L`` layers' weights ``(fan_in, fan_out)`` and
            biases ``(fan_out,)``; or stacked, ``(N, fan_in, fan_out)`` and ``(N, 1, fan_out)``.
        u: inputs, ``(n, fan_in)`` (``(N, n, fan_in)`` when stacked).
        scale: the factor :math:`c` applied to ``u`` inside the first matrix product.
        pre, act: optional buffers for the ``L - 1`` pre-activations :math:`a_j` and
            activations :math:`h_j` (lists of tensors, which may repeat one tensor when only
            the output is wanted); with them nothing is allocated and autograd is not used.
        out: optional buffer for :math:`F(u)`; required when ``pre`` and ``act`` are given.

    Returns:
        :math:`F(u)`, ``(n, fan_out_L)`` (``(N, n, fan_out_L)`` when stacked).
    """
    h = u
    last = len(weights) - 1
    for j, (w, b) in enumerate(zip(weights, biases, strict=True)):
        alpha = scale if j == 0 else 1.0
        if j == last:
            return affine(b, h, w, alpha=alpha, out=out)
        if pre is None:
            h = F.silu(affine(b, h, w, alpha=alpha))
        else:
            h = silu_into(affine(b, h, w, alpha=alpha, out=pre[j]), act[j])
    raise ValueError("weights must hold at least one layer")


class Scratch:
    """Inference-only :func:`mlp` in row chunks that reuse two buffers.

    Same result as :func:`mlp`. On the CPU it avoids allocating (and page-faulting) fresh
    activations at every sampler step and keeps each 2048-row chunk's activations in cache.
    """

    rows = 2048

    def __init__(self):
        self.buffers: dict = {}

    def apply(self, weights, biases, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """:func:`mlp` of 2-D ``weights`` on ``x`` ``(n, fan_in)``, in chunks of ``rows``."""
        out = x.new_empty(x.shape[0], weights[-1].shape[1])
        rows = self.rows if x.device.type == "cpu" else max(x.shape[0], 1)  # GPUs like one chunk
        key = (min(x.shape[0], rows), weights[0].shape[1], x.device, x.dtype)
        if key not in self.buffers:
            self.buffers = {key: (x.new_empty(key[:2]), x.new_empty(key[:2]))}
        a, h = self.buffers[key]
        n_hidden = len(weights) - 1
        for x_c, out_c in zip(x.split(rows), out.split(rows), strict=True):
            # Every layer reuses the same two buffers: a_j -> a, h_j -> h.
            pre, act = [a[: x_c.shape[0]]] * n_hidden, [h[: x_c.shape[0]]] * n_hidden
            mlp(weights, biases, x_c, scale=scale, pre=pre, act=act, out=out_c)
        return out


class Backprop:
    r"""Forward and hand-written backward of a network's raw MLP, into persistent buffers.

    For inputs ``(..., B, fan_in)`` (a leading ``N`` for an ensemble) and targets
    :math:`F^\star` it writes the gradient of
    :math:`\sum_{\text{nets}} \frac1B\sum_b \|F(u_b) - F^\star_b\|^2` into every parameter's
    ``.grad`` and returns the per-row squared residuals ``(..., B)``. Same numbers as
    autograd, without its graph and without allocating activations each step.

    Args:
        net: a :class:`.TimeMLP` or :class:`.EnsembleMLP` (its ``weights`` and ``biases``).
        lead: the leading shape of a batch, ``(B,)`` or ``(N, B)``.
    """

    def __init__(self, net, lead: tuple):
        self.weights, self.biases = list(net.weights), list(net.biases)
        self.batched = len(lead) == 2
        hidden = [w.shape[-1] for w in self.weights[:-1]]
        like = self.weights[0]
        self.pre = [like.new_empty(*lead, h) for h in hidden]  # a_j = h_{j-1} W_j + b_j
        self.act = [like.new_empty(*lead, h) for h in hidden]  # h_j = silu(a_j)
        self.grad_h = like.new_empty(*lead, hidden[0])
        self.out = like.new_empty(*lead, self.weights[-1].shape[-1])
        for p in net.parameters():
            if p.grad is None or p.grad.shape != p.shape:
                p.grad = torch.zeros_like(p)

    @torch.no_grad()
    def __call__(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mm = torch.bmm if self.batched else torch.mm
        w, b = self.weights, self.biases
        # Forward pass, keeping pre-activations and activations.
        F_u = mlp(w, b, inputs, pre=self.pre, act=self.act, out=self.out)
        residual = F_u.sub_(target)
        per_row = residual.square().sum(-1)
        # Backward pass: d/dF of mean_b ||F - F*||^2 is 2 (F - F*) / B.
        g = residual.mul_(2.0 / residual.shape[-2])
        for j in range(len(w) - 1, -1, -1):
            h_in = self.act[j - 1] if j > 0 else inputs
            mm(h_in.transpose(-1, -2), g, out=w[j].grad)
            torch.sum(g, dim=-2, keepdim=self.batched, out=b[j].grad)
            if j > 0:
                mm(g, w[j].transpose(-1, -2), out=self.grad_h)
                # silu'(a) applied in place: the pre-activation buffer now holds the gradient.
                g = silu_backward_into(self.grad_h, self.pre[j - 1])
        return per_row
