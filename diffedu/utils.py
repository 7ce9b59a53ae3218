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


def draw_device(generator: torch.Generator | None) -> torch.device:
    """Where a random draw happens: on ``generator``'s device, or on the CPU without one.

    The package's one rule for functions that draw (:func:`.standard_normal`,
    :meth:`.GaussianMixture.sample`, the hardness instances' samplers, the networks' initial
    weights): the same seed gives the same numbers whatever the default device.

    Args:
        generator: a ``torch.Generator`` or ``None``.

    Returns:
        A ``torch.device``.

    Used in: every function that draws; chapter 1, "Sampling with the exact score".
    """
    if generator is None:
        return torch.device("cpu")
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None; got {type(generator).__name__}"
        )
    return generator.device
