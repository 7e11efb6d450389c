"""MNIST and Fashion-MNIST through torchvision, offline from a local copy or downloaded.

The ``.gz`` archives under the data root are checked against the MD5 sums torchvision publishes on every load
(about 20 ms for MNIST) and extracted atomically into the cache, never next to themselves. Valid archives have
one content, so the cache serves every root that passes the check and none that fails it; an extracted file whose
length differs from its archive's record is extracted again.
"""

from __future__ import annotations

import gzip
import os
import shutil
import warnings
from pathlib import Path

import torch

from bio_sleep.data.dataset import ArrayDataset
from bio_sleep.errors import BioSleepError
from bio_sleep.run_folder import write_atomic

FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def cache_dir() -> Path:
    """Where bio_sleep keeps copies it writes: $BIO_SLEEP_CACHE or ~/.cache/bio_sleep."""
    return Path(os.environ.get("BIO_SLEEP_CACHE", Path.home() / ".cache" / "bio_sleep"))


def data_root(root: str) -> Path:
    """The data root: the argument, else $BIO_SLEEP_DATA, else the cache."""
    return Path(root or os.environ.get("BIO_SLEEP_DATA", "") or cache_dir() / "data")


def _uncompressed_size(archive: Path) -> int:
    """The length gzip records in an archive's last four bytes (modulo 2**32)."""
    with open(archive, "rb") as file:
        file.seek(-4, os.SEEK_END)
        return int.from_bytes(file.read(4), "little")


def _extract(archive: Path, target: Path) -> None:
    def write(path: Path) -> None:
        with gzip.open(archive) as source, open(path, "wb") as copy:
            shutil.copyfileobj(source, copy)

    write_atomic(target, write)


def verified_archives(root: Path, folder: str, resources) -> list[Path]:
    """The dataset's archives under ``root``, each checked against its published MD5; [] when there are none."""
    from torchvision.datasets.utils import check_integrity

    raw = root / folder / "raw"
    archives = [raw / name for name, _ in resources]
    present = [path.name for path in archives if path.is_file()]
    if not present:
        return []
    if len(present) < len(archives):
        missing = [path.name for path in archives if path.name not in present]
        raise BioSleepError(
            f"{raw} holds {present} but not {missing}; {folder} needs all {len(archives)} archives: "
            f"add them or pass another root"
        )
    for path, (_, md5) in zip(archives, resources):
        if not check_integrity(str(path), md5):
            raise BioSleepError(
                f"corrupt file {path} (checksum mismatch with torchvision's published MD5, e.g. a "
                f"truncated download); delete {path} and download it again, or pass another root"
            )
    return archives


def extraction_root(root: Path, folder: str, resources) -> Path:
    """The root torchvision reads from: the cache, holding the verified archives of ``root`` extracted; ``root``
    itself when it holds no archives (extracted files only, or a download into it)."""
    archives = verified_archives(root, folder, resources)
    if not archives:
        return root
    extracted_root = cache_dir() / "extracted"
    raw = extracted_root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for archive in archives:
        extracted = raw / archive.name.removesuffix(".gz")
        if extracted.is_file() and extracted.stat().st_size % 2**32 == _uncompressed_size(archive):
            continue
        if extracted.exists():
            warnings.warn(
                f"cached {extracted} is damaged (its length differs from {archive}'s); extracting it again",
                stacklevel=2,
            )
        _extract(archive, extracted)
    return extracted_root


def load_torchvision(dataset: str, root: str, download: bool = False) -> ArrayDataset:
    """Load MNIST or Fashion-MNIST as flattened floats in [0, 1]."""
    from torchvision import datasets

    folder = FOLDERS[dataset]
    cls = getattr(datasets, folder)
    base = data_root(root)
    source = extraction_root(base, folder, cls.resources)
    try:
        train = cls(str(source), train=True, download=download and source == base)
        test = cls(str(source), train=False, download=False)
    except RuntimeError as error:
        raw = source / folder / "raw"
        if source == base and raw.is_dir() and any(raw.glob("*-ubyte")):
            raise BioSleepError(
                f"the extracted {folder} files in {raw} cannot be read ({error}); delete them and put "
                f"the .gz archives there (those are checked), or pass another root"
            ) from None
        if download:
            raise BioSleepError(
                f"{folder} could not be downloaded into {base}: {error}. Without internet access, "
                f"put {folder}/raw/*.gz there and set data.download = false"
            ) from None
        raise BioSleepError(
            f"{folder} not found under {base}. Point data.root (or --data-root, or $BIO_SLEEP_DATA) "
            f"at a folder holding {folder}/raw/*.gz, or set data.download = true with internet access"
        ) from None

    def flat(split):
        return split.data.reshape(len(split.data), -1).to(torch.float32) / 255.0, split.targets.clone()

    x_train, y_train = flat(train)
    x_test, y_test = flat(test)
    return ArrayDataset(dataset, x_train, y_train, x_test, y_test, (1, 28, 28), 10)
