"""The torch device a config names: ``auto`` is CUDA where this machine has it, else the CPU."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from bio_sleep.errors import BioSleepError


def torch_device(name: str | torch.device = "auto") -> torch.device:
    """The device ``name`` ('auto', 'cpu', 'cuda', 'cuda:N', 'mps') means on this machine."""
    name = str(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and int(name.partition(":")[2] or 0) >= torch.cuda.device_count():
        raise BioSleepError(
            f"device '{name}' asked for, but this machine has {torch.cuda.device_count()} CUDA device(s); "
            "use device = 'auto' or 'cpu'"
        )
    return torch.device(name)


@contextlib.contextmanager
def on_device(model: nn.Module, device: str = "auto"):
    """``model`` moved to ``device`` for the block and back to where it was after it; yields the device."""
    home, device = next(model.parameters(), torch.empty(0)).device, torch_device(device)
    model.to(device)
    try:
        yield device
    finally:
        model.to(home)
