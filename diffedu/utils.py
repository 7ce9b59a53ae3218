"""Device and seeding helpers."""

from __future__ import annotations

import torch

from ._validation import as_int


def default_device() -> torch.device:
    """The device the book computes on: CUDA when present, else the CPU.

    Used in: every chapter's constants cell.
    """
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def make_generator(seed, device=None) -> torch.Generator:
    """A seeded ``torch.Generator``: one per experiment, passed to every random call.

    Args:
        seed: a non-negative integer.
        device: the generator's device; ``None`` means :func:`default_device`.

    Returns:
        A ``torch.Generator`` on ``device`` seeded with ``seed``.

    Used in: every chapter's constants cell.
    """
    seed = as_int(seed, "seed", minimum=0)
    device = default_device() if device is None else torch.device(device)
    return torch.Generator(device=device).manual_seed(seed)
