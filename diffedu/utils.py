"""Device and seeding helpers."""

from __future__ import annotations

import os

import torch

from ._validation import as_float, as_int


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


def run_time_note(seconds, device) -> str:
    """A sentence for a chapter's opening note: how long it ran, and on what hardware.

    Args:
        seconds: the chapter's wall-clock run time, a finite number ``>= 0``.
        device: the device the chapter computed on (``torch.device`` or a string such as
            ``"cpu"`` or ``"cuda"``).

    Returns:
        For example "When this page was built, the chapter ran in 31 s from its imports to its
        last cell, on a CPU with 2 cores, using 1 torch thread."

    Used in: the opening note of every chapter that trains, through ``{glue:md}``.
    """
    seconds = as_float(seconds, "seconds")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0; got {seconds}")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a torch.device or a string; got {type(device).__name__}")
    device = torch.device(device)
    if device.type == "cuda":
        where = f"a {torch.cuda.get_device_name(device)} GPU"
    else:
        threads = torch.get_num_threads()
        cores = os.cpu_count() or 1
        where = (
            f"a CPU with {cores} core{'s' * (cores != 1)}, "
            f"using {threads} torch thread{'s' * (threads != 1)}"
        )
    return (
        f"When this page was built, the chapter ran in {seconds:.0f} s from its imports to its "
        f"last cell, on {where}."
    )
