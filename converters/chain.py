"""Any torch model whose forward is a plain chain of supported layers, as an ``nn.Sequential``.

The converters walk an ``nn.Sequential``. A model written as its own
``nn.Module`` (``forward`` calling ``F.relu``, ``torch.flatten``, pooling
functions, its submodules) is traced with ``torch.fx`` and rebuilt as a
Sequential of the same module objects, in the order ``forward`` calls them, so
its weights are shared, not copied. Anything that is not a chain (a skip
connection, arithmetic on activations, several inputs) is refused, naming the operation.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

from bio_sleep.errors import BioSleepError

_RELU = (F.relu, torch.relu, "relu")
_FLATTEN = (torch.flatten, "flatten")
_POOLS = {F.max_pool2d: nn.MaxPool2d, F.avg_pool2d: nn.AvgPool2d}


def _describe(node) -> str:
    """A traced call as it reads in ``forward``: ``add(relu, x)``."""
    name = getattr(node.target, "__name__", str(node.target))
    return f"{name}({', '.join(str(arg) for arg in node.args)})"


def _module_for_function(node) -> nn.Module:
    """The layer a functional call in ``forward`` stands for, or a BioSleepError naming it."""
    target, args, kwargs = node.target, node.args[1:], dict(node.kwargs)
    if target in _RELU:
        return nn.ReLU()
    if target in _FLATTEN:
        start, end = (list(args) + [kwargs.get("start_dim", 0), kwargs.get("end_dim", -1)][len(args) :])[:2]
        if (start, end) == (1, -1):  # keep the batch dimension, as nn.Flatten does
            return nn.Flatten()
    if target in (F.dropout, "dropout"):
        return nn.Dropout(kwargs.get("p", args[0] if args else 0.5))
    if target in _POOLS:
        return _POOLS[target](*args, **kwargs)
    name = getattr(target, "__name__", str(target))
    if target is operator.getitem or name in ("add", "mul", "sub", "cat", "view", "reshape"):
        hint = (
            "rewrite it as nn.Flatten()" if name in ("view", "reshape") else "sleep converts feed-forward chains only"
        )
        raise BioSleepError(f"the model's forward uses '{name}' ({_describe(node)}); {hint}")
    raise BioSleepError(
        f"the model's forward calls '{name}', which the spiking conversion does not support; "
        "supported: Linear and Conv2d (bias-free), ReLU, max/average pooling, Flatten, Dropout"
    )


def as_sequential(model: nn.Module) -> nn.Sequential:
    """``model`` itself if it is an ``nn.Sequential``, else its traced chain of layers (sharing its modules)."""
    if isinstance(model, nn.Sequential):
        return model
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception as error:  # noqa: BLE001 - tracing fails in many ways (control flow, unsupported calls)
        raise BioSleepError(
            f"could not trace {type(model).__name__}.forward with torch.fx ({error}); give an "
            "nn.Sequential or a forward without data-dependent control flow"
        ) from None
    layers, previous = [], None
    for node in graph.nodes:
        if node.op == "placeholder":
            if previous is not None:
                raise BioSleepError(f"{type(model).__name__}.forward takes several inputs; sleep needs one")
            previous = node
            continue
        if node.op == "output":
            break
        inputs = [arg for arg in node.all_input_nodes]
        if inputs != [previous]:
            raise BioSleepError(
                f"{type(model).__name__}.forward is not a chain: '{_describe(node)}' does not "
                "take the previous layer's output alone (skip connections cannot sleep)"
            )
        if node.op == "call_module":
            layers.append(model.get_submodule(node.target))
        elif node.op in ("call_function", "call_method"):
            layers.append(_module_for_function(node))
        else:
            raise BioSleepError(
                f"{type(model).__name__}.forward reads '{node.target}' directly "
                "(a parameter used outside a layer); sleep needs layers such as nn.Linear"
            )
        previous = node
    return nn.Sequential(*layers)
