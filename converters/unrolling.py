"""Convolutions and pooling as explicit unit-to-unit connections (numpy index arrays).

Units are numbered as torch flattens a (C, H, W) map: c*H*W + y*W + x.
``gather_indices`` gives, for every postsynaptic unit, its presynaptic units
and the shared parameter each connection reads, in ascending presynaptic
order; a convolution's column m is kernel element m of (in_channel, dy, dx)
flattened, so the kernel index is ``out_channel * fan_in + m``. That order is
the order in which Brian2 sums a step's spikes (presynaptic-major synapses),
so the torch reference sums in it too.
"""

from __future__ import annotations

import numpy as np

from bio_sleep.converters.spiking_network import Conv, Pool


def _unit_index(channel, y, x, shape) -> np.ndarray:
    _, height, width = shape
    return (channel * height + y) * width + x


def gather_indices(connection: Conv | Pool) -> tuple[np.ndarray, np.ndarray]:
    """(pre, parameter) index arrays of shape (n_post, fan_in), presynaptic index ascending along each row."""
    out_c, out_h, out_w = connection.out_shape
    o, y, x = (
        a.reshape(-1, 1) for a in np.meshgrid(np.arange(out_c), np.arange(out_h), np.arange(out_w), indexing="ij")
    )
    if isinstance(connection, Conv):
        _, in_c, kh, kw = connection.kernel_shape
        c, dy, dx = (
            a.reshape(1, -1) for a in np.meshgrid(np.arange(in_c), np.arange(kh), np.arange(kw), indexing="ij")
        )
        pre = _unit_index(c, y + dy, x + dx, connection.in_shape)
        parameter = o * (in_c * kh * kw) + np.arange(in_c * kh * kw)[None, :]
    else:
        s = connection.size
        dy, dx = (a.reshape(1, -1) for a in np.meshgrid(np.arange(s), np.arange(s), indexing="ij"))
        pre = _unit_index(o, y * s + dy, x * s + dx, connection.in_shape)
        parameter = np.zeros_like(pre)
    return pre.astype(np.int64), np.broadcast_to(parameter, pre.shape).astype(np.int64)


def synapse_list(connection: Conv | Pool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pre, post, parameter) per synapse, presynaptic-major (sorted by pre, then post), for Brian2."""
    pre, parameter = gather_indices(connection)
    post = np.broadcast_to(np.arange(pre.shape[0])[:, None], pre.shape)
    pre, post, parameter = pre.ravel(), post.ravel(), parameter.ravel()
    order = np.lexsort((post, pre))
    return pre[order], post[order], parameter[order]
