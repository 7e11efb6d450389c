"""User arrays from a .npz file, e.g. CUB-200 ResNet-50 embeddings."""

from __future__ import annotations

import zipfile
import zlib
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
    values, image_shape = _read_arrays(path)
    for key in ("x_train", "x_test"):
        if values[key].dtype.kind not in "biuf" or values[key].ndim < 2 or len(values[key]) == 0:
            raise BioSleepError(
                f"{path}: {key} has dtype {values[key].dtype} and shape {values[key].shape}; it "
                "must be a non-empty numeric array with one row per sample"
            )
    x_train, x_test = (values[k].reshape(len(values[k]), -1).astype(np.float32) for k in ("x_train", "x_test"))
    y_train, y_test = (values[k].reshape(-1) for k in ("y_train", "y_test"))
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise BioSleepError(
            f"{path}: {len(x_train)} training inputs but {len(y_train)} labels, {len(x_test)} test inputs but "
            f"{len(y_test)} labels; inputs and labels must have one row per sample"
        )
    if x_train.shape[1] != x_test.shape[1]:
        raise BioSleepError(
            f"{path}: training inputs have {x_train.shape[1]} values each, test inputs {x_test.shape[1]}; "
            "they must agree"
        )
    if image_shape is not None and (len(image_shape) not in (2, 3) or min(image_shape) < 1):
        raise BioSleepError(f"{path}: image_shape {image_shape} must be (height, width) or (channels, height, width)")
    if image_shape is not None and int(np.prod(image_shape)) != x_train.shape[1]:
        raise BioSleepError(f"{path}: image_shape {image_shape} does not hold {x_train.shape[1]} values per sample")
    for name, labels in (("y_train", y_train), ("y_test", y_test)):
        if not np.issubdtype(labels.dtype, np.integer) or labels.size == 0 or labels.min() < 0:
            raise BioSleepError(f"{path}: {name} must hold integer class indices >= 0, got dtype {labels.dtype}")
    if not (np.isfinite(x_train).all() and np.isfinite(x_test).all()):
        raise BioSleepError(f"{path}: inputs contain NaN or infinite values; clean them before use")
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    return ArrayDataset(
        path.stem,
        torch.from_numpy(x_train),
        torch.from_numpy(y_train).long(),
        torch.from_numpy(x_test),
        torch.from_numpy(y_test).long(),
        image_shape,
        n_classes,
    )


def _read_arrays(path: Path) -> tuple[dict[str, np.ndarray], tuple[int, ...] | None]:
    """The required arrays and the optional image shape of the .npz at ``path``, or a BioSleepError saying why
    the file is not such an archive."""
    how = "save it with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
    try:
        arrays = np.load(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise BioSleepError(f"{path} is not a .npz archive, or is truncated ({type(error).__name__}); {how}") from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise BioSleepError(f"{path} holds a single array (a .npy file), not the named arrays of a .npz; {how}")
    with arrays:
        missing = [key for key in REQUIRED_KEYS if key not in arrays]
        if missing:
            raise BioSleepError(f"{path} lacks the arrays {missing}; {how}")
        try:
            values = {key: arrays[key] for key in REQUIRED_KEYS}
            shape = arrays["image_shape"] if "image_shape" in arrays else None
        except ValueError:  # object arrays: loading them would unpickle (run) code from the file
            raise BioSleepError(
                f"{path} holds object arrays (pickled Python objects), which are not loaded; store numbers only: {how}"
            ) from None
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise BioSleepError(
                f"{path} is damaged or truncated ({type(error).__name__}); write it again: {how}"
            ) from None
    if shape is not None and (shape.dtype.kind not in "iu" or shape.ndim != 1):
        raise BioSleepError(f"{path}: image_shape must be a 1-D integer array such as [28, 28], got {shape!r}")
    return values, None if shape is None else tuple(int(v) for v in shape)
