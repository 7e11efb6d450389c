"""What a sleep run recorded, as arrays and as a self-describing xarray Dataset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

# Mean fraction of a layer's neurons spiking per step above which it is called saturated.
SATURATION_FRACTION = 0.5
# Spikes per neuron over the whole sleep below which a layer is called near-silent: most of its neurons
# never spiked, so STDP barely touched the weights into it.
NEAR_SILENT_SPIKES_PER_NEURON = 1.0


def layer_names(n_layers: int) -> list[str]:
    """'input', 'hidden_1', ..., 'output' for a network of ``n_layers`` neuron layers."""
    return ["input"] + [f"hidden_{k}" for k in range(1, n_layers - 1)] + ["output"]


@dataclass
class SleepRecording:
    """Spikes of one sleep run, per neuron layer (input first).

    ``spike_trains[l]`` holds (step, neuron) index arrays when full trains were
    requested, else the list is None. ``potentials`` maps a layer index to
    (recorded neurons, membrane potentials of shape steps x neurons), taken at
    the end of each step (after resets). ``thresholds`` are the firing thresholds
    of the layers after the input, as simulated (``sleep.run.simulate`` fills them in).
    """

    layer_sizes: tuple[int, ...]
    dt: float
    spikes_per_step: np.ndarray  # (n_layers, steps) int
    spike_counts: list[np.ndarray]  # per layer, (n_neurons,) int
    spike_trains: list[tuple[np.ndarray, np.ndarray]] | None = None
    potentials: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
    thresholds: tuple[float, ...] | None = None

    @property
    def steps(self) -> int:
        return self.spikes_per_step.shape[1]

    @property
    def names(self) -> list[str]:
        return layer_names(len(self.layer_sizes))

    def firing_fraction(self) -> np.ndarray:
        """Mean fraction of each layer's neurons spiking per step."""
        return self.spikes_per_step.mean(axis=1) / np.asarray(self.layer_sizes)

    def layer_report(self) -> list[dict]:
        """Per layer: size, total spikes, mean firing fraction and rate, and a status word (silent, near-silent,
        saturated or ok)."""
        rows = []
        for name, size, total, fraction in zip(
            self.names, self.layer_sizes, self.spikes_per_step.sum(axis=1), self.firing_fraction()
        ):
            if total == 0:
                status = "silent"
            elif total < NEAR_SILENT_SPIKES_PER_NEURON * size:
                status = "near-silent"
            else:
                status = "saturated" if fraction > SATURATION_FRACTION else "ok"
            rows.append(
                {
                    "layer": name,
                    "neurons": size,
                    "spikes": int(total),
                    "fraction_per_step": float(fraction),
                    "rate_hz": float(fraction / self.dt),
                    "status": status,
                }
            )
        return rows

    def summary(self) -> str:
        """A table of per-layer activity with warnings for silent or saturated layers."""
        lines = [
            f"sleep: {self.steps} steps of {self.dt * 1e3:g} ms",
            f"{'layer':<10}{'neurons':>8}{'spikes':>12}{'per step':>10}{'rate (Hz)':>11}  status",
        ]
        for row in self.layer_report():
            lines.append(
                f"{row['layer']:<10}{row['neurons']:>8}{row['spikes']:>12}{row['fraction_per_step']:>10.2%}"
                f"{row['rate_hz']:>11.2f}  {row['status']}"
            )
        for row in self.layer_report():
            if row["status"] == "silent":
                lines.append(
                    f"WARNING: layer {row['layer']} never spiked, so sleep changed nothing after it: "
                    "lower its threshold or raise alpha_scale / max_rate"
                )
            elif row["status"] == "near-silent":
                lines.append(
                    f"WARNING: layer {row['layer']} is near-silent ({row['spikes']} spikes from "
                    f"{row['neurons']} neurons in {self.steps} steps, under "
                    f"{NEAR_SILENT_SPIKES_PER_NEURON:g} per neuron), so sleep barely changed the weights "
                    "into it: lower its threshold or raise alpha_scale / max_rate"
                )
            elif row["status"] == "saturated":
                lines.append(
                    f"WARNING: layer {row['layer']} is saturated ({row['fraction_per_step']:.0%} of neurons spike "
                    "each step), so STDP mostly depresses: raise its threshold or lower alpha_scale"
                )
        return "\n".join(lines)

    def to_dataset(self, attrs: dict | None = None) -> xr.Dataset:
        """The recording with named dimensions: layer, step, unit (every neuron), spike."""
        names = self.names
        unit_layer = np.concatenate([[name] * size for name, size in zip(names, self.layer_sizes)])
        unit_index = np.concatenate([np.arange(size) for size in self.layer_sizes])
        count = {"units": "1"}
        data = {
            "spikes_per_step": (
                ("layer", "step"),
                self.spikes_per_step.astype(np.int32),
                {"long_name": "spikes of the layer in each step", **count},
            ),
            "firing_fraction": (
                ("layer", "step"),
                self.spikes_per_step / np.asarray(self.layer_sizes)[:, None],
                {"long_name": "fraction of the layer's neurons spiking in each step", **count},
            ),
            "layer_size": (
                ("layer",),
                np.asarray(self.layer_sizes, dtype=np.int32),
                {"long_name": "neurons in the layer", **count},
            ),
            "spike_count": (
                ("unit",),
                np.concatenate(self.spike_counts).astype(np.int32),
                {"long_name": "spikes of each neuron over the whole sleep", **count},
            ),
        }
        if self.thresholds is not None:
            data["threshold"] = (
                ("layer",),
                np.array([np.nan, *self.thresholds]),
                {"long_name": "firing threshold of the layer's neurons (none for the input)", **count},
            )
        coords = {
            "layer": ("layer", names, {"long_name": "neuron layer, input first"}),
            "step": ("step", np.arange(self.steps), {"long_name": "time step of the sleep", **count}),
            "time": (
                "step",
                np.arange(self.steps) * self.dt,
                {"long_name": "time since the sleep began", "units": "s"},
            ),
            "unit_layer": ("unit", unit_layer, {"long_name": "layer of each neuron"}),
            "unit_index": ("unit", unit_index, {"long_name": "index of each neuron within its layer", **count}),
        }
        if self.spike_trains is not None:
            offsets = np.concatenate([[0], np.cumsum(self.layer_sizes)[:-1]])
            steps = np.concatenate([train[0] for train in self.spike_trains]).astype(np.int32)
            units = np.concatenate([train[1] + offset for train, offset in zip(self.spike_trains, offsets)]).astype(
                np.int32
            )
            data["spike_step"] = (("spike",), steps, {"long_name": "step of each spike", **count})
            data["spike_unit"] = (
                ("spike",),
                units,
                {"long_name": "unit (index into the unit dimension) of each spike", **count},
            )
        if self.potentials:
            layers = sorted(self.potentials)
            coords["recorded_layer"] = (
                "recorded",
                np.concatenate([[names[k]] * len(self.potentials[k][0]) for k in layers]),
                {"long_name": "layer of each recorded neuron"},
            )
            coords["recorded_index"] = (
                "recorded",
                np.concatenate([self.potentials[k][0] for k in layers]),
                {"long_name": "index of each recorded neuron within its layer", **count},
            )
            data["potential"] = (
                ("step", "recorded"),
                np.concatenate([self.potentials[k][1] for k in layers], axis=1),
                # dimensionless: the weights are in the torch network's units
                {"long_name": "membrane potential at the end of each step (after reset)", **count},
            )
        dataset = xr.Dataset(data, coords=coords, attrs={"dt": self.dt, **(attrs or {})})
        return dataset
