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


def extraction_root(root: Path, folder: str, download: bool) -> Path:
    """The root torchvision reads from, chosen so that nothing is ever written into ``root``.

    torchvision extracts the .gz archives next to themselves. Unless they are
    extracted already (or a download into ``root`` was asked for), the
    archives are copied to the cache and extracted there; write permissions
    are not consulted, since root may write into folders marked read-only.
    """
    raw = root / folder / "raw"
    extracted = raw.is_dir() and len([p for p in raw.iterdir() if p.name.endswith("-ubyte")]) == 4
    archives = sorted(raw.glob("*.gz")) if raw.is_dir() else []
    if extracted or download or not archives:
        return root
    copy = cache_dir() / "data"
    (copy / folder / "raw").mkdir(parents=True, exist_ok=True)
    for archive in archives:
        target = copy / folder / "raw" / archive.name
        if not target.exists():
            shutil.copyfile(archive, target)
    return copy


def load_torchvision(dataset: str, root: str, download: bool = False) -> ArrayDataset:
    """Load MNIST or Fashion-MNIST as flattened floats in [0, 1]."""
    from torchvision import datasets

    folder = FOLDERS[dataset]
    base = data_root(root)
    source = extraction_root(base, folder, download)
    cls = getattr(datasets, folder)
    # With the four verified archives present, torchvision's "download" only
    # checks their MD5s and extracts them: no network access.
    download = download or len(list((source / folder / "raw").glob("*.gz"))) == 4
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
