"""One interface to the sleep backends: (network, dynamics, input raster, build plan) -> (slept network, recording).

A backend is an object with ``run(network, dynamics, raster, plan, progress)``
and ``compile_seconds`` (what its last run paid to build): ``TorchSimulator``
(``reference``, the vectorised torch reference) and ``Brian2Simulator``
(``brian2_network``). ``simulator_for`` chooses one from a SleepConfig; it is
the only place that does. Both use ``sleep.threads`` CPU threads and give the
same result run to run at any thread count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BuildPlan:
    """What a run learns and records, besides the network's shape: with it, what a backend builds for."""

    plastic: tuple[bool, ...]
    dt: float = 0.001
    record_trains: bool = False
    record_potentials: tuple[tuple[int, ...], ...] = ()  # per layer after the input: neurons whose v is recorded


def threads_for(config) -> int:
    """``sleep.threads``, by default the CPUs this process may use."""
    return config.threads or len(os.sched_getaffinity(0))


def simulator_for(config):
    """The backend a SleepConfig asks for (Brian2 is imported only for the Brian2 backend)."""
    if config.backend == "torch":
        import torch

        from bio_sleep.models.device import torch_device
        from bio_sleep.sleep.reference import TorchSimulator

        dtype = torch.float64 if config.torch_dtype == "float64" else torch.float32
        return TorchSimulator(dtype, torch_device(config.torch_device), threads_for(config))
    from bio_sleep.sleep.brian2_network import Brian2Simulator

    return Brian2Simulator(config.brian2_target, threads_for(config))
