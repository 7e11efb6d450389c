"""MNIST and Fashion-MNIST through torchvision, offline from a local copy or downloaded."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import torch

from bio_sleep.data.dataset import ArrayDataset
from bio_sleep.errors import BioSleepError

FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def cache_dir() -> Path:
    """Where bio_sleep keeps copies it writes: $BIO_SLEEP_CACHE or ~/.cache/bio_sleep."""
    return Path(os.environ.get("BIO_SLEEP_CACHE", Path.home() / ".cache" / "bio_sleep"))


def data_root(root: str) -> Path:
    """The data root: the argument, else $BIO_SLEEP_DATA, else the cache."""
    return Path(root or os.environ.get("BIO_SLEEP_DATA", "") or cache_dir() / "data")


def writable_root(root: Path, folder: str) -> Path:
    """A root torchvision may write into: ``root`` itself, or a cache copy of its raw archives.

    torchvision extracts the .gz archives next to themselves; a read-only root
    (a shared data folder) is copied to the cache first, never written into.
    """
    raw = root / folder / "raw"
    if not raw.is_dir() or os.access(raw, os.W_OK):
        return root
    copy = cache_dir() / "data"
    (copy / folder / "raw").mkdir(parents=True, exist_ok=True)
    for archive in raw.glob("*.gz"):
        target = copy / folder / "raw" / archive.name
        if not target.exists():
            shutil.copyfile(archive, target)
    return copy


def load_torchvision(dataset: str, root: str, download: bool = False) -> ArrayDataset:
    """Load MNIST or Fashion-MNIST as flattened floats in [0, 1]."""
    from torchvision import datasets

    folder = FOLDERS[dataset]
    base = data_root(root)
    source = writable_root(base, folder)
    cls = getattr(datasets, folder)
    try:
        train = cls(str(source), train=True, download=download)
        test = cls(str(source), train=False, download=download)
    except RuntimeError as error:
        raise BioSleepError(
            f"{folder} not found under {base}: {error}. Point data.root (or --data-root, or $BIO_SLEEP_DATA) "
            f"at a folder holding {folder}/raw/*.gz, or set data.download = true with internet access") from None

    def flat(split):
        return split.data.reshape(len(split.data), -1).to(torch.float32) / 255.0, split.targets.clone()

    x_train, y_train = flat(train)
    x_test, y_test = flat(test)
    return ArrayDataset(dataset, x_train, y_train, x_test, y_test, (1, 28, 28), 10)
