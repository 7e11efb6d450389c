"""User arrays from a .npz file, e.g. CUB-200 ResNet-50 embeddings."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bio_sleep.data.dataset import ArrayDataset
from bio_sleep.errors import BioSleepError

REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_npz(path: str | Path) -> ArrayDataset:
    """Load ``x_train, y_train, x_test, y_test`` (and optionally ``image_shape``) from a .npz file.

    Inputs are flattened per sample; labels must be integers 0..C-1.
    Features are used as given (sleep's input rates scale with them, so they
    should be non-negative, as ReLU embeddings are).
    """
    path = Path(path)
    if not path.is_file():
        raise BioSleepError(f"data.path = '{path}' is not a file; give the .npz holding {', '.join(REQUIRED_KEYS)}")
    with np.load(path) as arrays:
        missing = [key for key in REQUIRED_KEYS if key not in arrays]
        if missing:
            raise BioSleepError(
                f"{path} lacks the arrays {missing}; save it with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)")
        values = {key: arrays[key] for key in REQUIRED_KEYS}
        image_shape = tuple(int(v) for v in arrays["image_shape"]) if "image_shape" in arrays else None
    x_train, x_test = (values[k].reshape(len(values[k]), -1).astype(np.float32) for k in ("x_train", "x_test"))
    y_train, y_test = (values[k].reshape(-1) for k in ("y_train", "y_test"))
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise BioSleepError(
            f"{path}: {len(x_train)} training inputs but {len(y_train)} labels, {len(x_test)} test inputs but "
            f"{len(y_test)} labels; inputs and labels must have one row per sample")
    if x_train.shape[1] != x_test.shape[1]:
        raise BioSleepError(f"{path}: training inputs have {x_train.shape[1]} values each, test inputs {x_test.shape[1]}; they must agree")
    if image_shape is not None and int(np.prod(image_shape)) != x_train.shape[1]:
        raise BioSleepError(f"{path}: image_shape {image_shape} does not hold {x_train.shape[1]} values per sample")
    for name, labels in (("y_train", y_train), ("y_test", y_test)):
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
            raise BioSleepError(f"{path}: {name} must hold integer class indices >= 0, got dtype {labels.dtype}")
    if not (np.isfinite(x_train).all() and np.isfinite(x_test).all()):
        raise BioSleepError(f"{path}: inputs contain NaN or infinite values; clean them before use")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    return ArrayDataset(path.stem, torch.from_numpy(x_train), torch.from_numpy(y_train).long(),
                        torch.from_numpy(x_test), torch.from_numpy(y_test).long(), image_shape, n_classes)
