"""Convolution and pooling steps of the torch reference, in Brian2's order of operations.

A conv (or pooling) connection is held as gather indices (see
``bio_sleep.converters.unrolling``): for each postsynaptic unit its presynaptic
units in ascending order and the kernel element each one reads.

- Impulse: Brian2 adds the weights of a step's spiking presynaptic units in
  ascending presynaptic order; here each row is summed sequentially
  (``cumsum``) in that same order with +0.0 in place of silent inputs, which
  leaves every partial sum unchanged.
- Shared-weight STDP: every synapse of a spiking postsynaptic unit adds its
  change into the kernel element it reads; changes are computed from the
  kernel as it was at the start of the step, summed per element in ascending
  postsynaptic order (Brian2 walks the spiking units in that order, and a unit
  reaches each element through exactly one synapse), starting from +0.0, and
  then added to the kernel.

Those orderings matter only for bit-exactness with Brian2, i.e. in float64 on
the CPU. Any other dtype or device takes the fast path: ``F.conv2d`` for the
impulse, sum pooling for the window counts of a pooling layer (a max pooling
unit fires on any count above 0), and the weight gradient of a convolution
(``conv2d_weight``) for the summed pair counts, the same quantities summed in
another order.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_weight

from bio_sleep.converters.spiking_network import Conv, Pool, SleepDynamics


class Gather(NamedTuple):
    pre: torch.Tensor  # (n_post, fan_in) presynaptic unit of each connection
    parameter: torch.Tensor  # (n_post, fan_in) kernel element it reads (flat index)
    channels: int  # output channels (kernel rows)
    connection: Conv | Pool  # shapes, for the fast path


def exact_order(tensor: torch.Tensor) -> bool:
    """Whether to repeat Brian2's order of additions (float64 on the CPU) rather than take the fast path."""
    return tensor.dtype == torch.float64 and tensor.device.type == "cpu"


def _conv_impulse(maps: torch.Tensor, connection: Conv, kernel: torch.Tensor) -> torch.Tensor:
    return F.conv2d(maps, kernel.reshape(connection.kernel_shape))


def _window_counts(maps: torch.Tensor, connection: Pool, kernel: torch.Tensor) -> torch.Tensor:
    # Spikes per window (unit weights): a max pooling unit (threshold 0.5) fires on any count above 0.
    return F.avg_pool2d(maps, connection.size, divisor_override=1)


# The fast impulse of each gathered connection kind.
FAST_IMPULSE = {"conv": _conv_impulse, "pool": _window_counts}


def gather_impulse(pre_spiked: torch.Tensor, gather: Gather, kernel: torch.Tensor) -> torch.Tensor:
    """Summed kernel weights of the spiking inputs of every postsynaptic unit."""
    if not exact_order(kernel):
        maps = pre_spiked.to(kernel.dtype).reshape(1, *gather.connection.in_shape)
        return FAST_IMPULSE[gather.connection.kind](maps, gather.connection, kernel).reshape(-1)
    weights = kernel.reshape(-1)[gather.parameter]
    contributions = torch.where(pre_spiked[gather.pre], weights, weights.new_zeros(()))
    return contributions.cumsum(1)[:, -1]


def shared_stdp(
    kernel: torch.Tensor,
    pre_spiked: torch.Tensor,
    post_spiked: torch.Tensor,
    gather: Gather,
    dynamics: SleepDynamics,
    weight_factor,
) -> None:
    """kernel (channels x fan_in) += the summed inc / -dec of every synapse of every spiking unit; in place."""
    fan_in = kernel.shape[1]
    if not exact_order(kernel):
        conv = gather.connection
        pre_map = pre_spiked.to(kernel.dtype).reshape(1, *conv.in_shape)
        post_map = post_spiked.to(kernel.dtype).reshape(1, *conv.out_shape)
        together = conv2d_weight(pre_map, conv.kernel_shape, post_map).reshape(kernel.shape)
        post_alone = conv2d_weight(1 - pre_map, conv.kernel_shape, post_map).reshape(kernel.shape)
        change = dynamics.inc * together - dynamics.dec * post_alone
        if dynamics.stdp_rule == "weight_dependent":
            change = change * weight_factor(kernel)  # f depends on the kernel element only
        kernel.add_(change)
        return
    pre = pre_spiked[gather.pre]  # (n_post, fan_in)
    if dynamics.stdp_rule == "weight_dependent":
        factor = weight_factor(kernel).reshape(-1)[gather.parameter]
        change = torch.where(pre, dynamics.inc * factor, -(dynamics.dec * factor))
    else:
        change = torch.where(pre, kernel.new_tensor(dynamics.inc), kernel.new_tensor(-dynamics.dec)).expand(pre.shape)
    change = torch.where(post_spiked[:, None], change, kernel.new_zeros(()))
    per_channel = change.reshape(gather.channels, -1, fan_in)  # (channels, units per channel, fan_in)
    start = kernel.new_zeros(gather.channels, 1, fan_in)
    summed = torch.cat([start, per_channel], dim=1).cumsum(1)[:, -1]
    kernel.add_(summed)
