"""CIFAR-10: torchvision's official files when present, else an image folder decoded once and cached.

An image folder holds ``train/<class>/<file>`` and ``test/<class>/<file>``;
classes are numbered in sorted name order (for CIFAR-10, the official label
order). A ``cifar10-jpeg.tar.gz`` of that layout in the data root is
extracted into the cache (never next to the archive), keyed by the archive's
path, size and modification time. Decoded arrays are cached as ``.npz``, keyed
by the folder and every file's name, size and modification time, so that
later runs skip decoding and a changed folder is decoded again; a cached file
that does not load is decoded again too.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from bio_sleep.data.dataset import ArrayDataset
from bio_sleep.data.torchvision_sets import cache_dir, data_root
from bio_sleep.errors import BioSleepError
from bio_sleep.run_folder import write_atomic

ARCHIVE = "cifar10-jpeg.tar.gz"


def _classes(split: Path) -> list[str]:
    if not split.is_dir():
        raise BioSleepError(
            f"image folder split {split} does not exist; an image folder needs train/<class>/ and test/<class>/"
        )
    classes = sorted(p.name for p in split.iterdir() if p.is_dir())
    if not classes:
        raise BioSleepError(f"{split} holds no class folders; put each class's images in {split}/<class>/")
    return classes


def _decode_split(split: Path, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    images, labels, shape = [], [], None
    for label, name in enumerate(classes):
        for path in sorted((split / name).iterdir()):
            try:
                with Image.open(path) as image:
                    array = np.asarray(image.convert("RGB"), dtype=np.uint8)
            except (UnidentifiedImageError, OSError) as error:
                raise BioSleepError(f"cannot read image {path} ({error}); remove or replace the file") from None
            if shape is None:
                shape = array.shape
            elif array.shape != shape:
                raise BioSleepError(
                    f"{path} is {array.shape[1]}x{array.shape[0]} but earlier images are "
                    f"{shape[1]}x{shape[0]}; resize all images to one size"
                )
            images.append(array)
            labels.append(label)
    if not images:
        raise BioSleepError(f"{split} holds no images")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def _source_key(*paths: Path) -> str:
    """A hash of the paths and of every file under them: name, size and modification time."""
    digest = hashlib.sha1()
    for path in paths:
        digest.update(str(path.resolve()).encode())
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            status = file.stat()
            digest.update(
                f"{file.relative_to(path) if path.is_dir() else ''}:{status.st_size}:{status.st_mtime_ns};".encode()
            )
    return digest.hexdigest()[:12]


DECODED = ("x_train", "y_train", "x_test", "y_test")


def _load_decoded(cached: Path) -> dict | None:
    """The cached arrays, or None when there are none or they are damaged (then decoded again)."""
    if not cached.is_file():
        return None
    try:
        with np.load(cached) as arrays:
            values = {k: arrays[k] for k in DECODED}
        if len(values["x_train"]) != len(values["y_train"]) or len(values["x_test"]) != len(values["y_test"]):
            raise ValueError("images and labels differ in number")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"cached {cached} is damaged ({error}); decoding the images again", stacklevel=3)
        cached.unlink()
        return None
    return values


def load_image_folder(folder: str | Path, name: str = "image_folder") -> ArrayDataset:
    """An ArrayDataset from ``folder/train/<class>/*`` and ``folder/test/<class>/*`` (cached as .npz)."""
    folder = Path(folder)
    train_classes, test_classes = _classes(folder / "train"), _classes(folder / "test")
    if train_classes != test_classes:
        only_train, only_test = (
            sorted(set(train_classes) - set(test_classes)),
            sorted(set(test_classes) - set(train_classes)),
        )
        raise BioSleepError(
            f"{folder}: train and test class folders differ (only in train: {only_train}, only in test: "
            f"{only_test}); both splits need the same classes so that labels agree"
        )
    cached = cache_dir() / "decoded" / f"{name}_{_source_key(folder)}.npz"
    values = _load_decoded(cached)
    if values is None:
        x_train, y_train = _decode_split(folder / "train", train_classes)
        x_test, y_test = _decode_split(folder / "test", test_classes)
        if x_train.shape[1:] != x_test.shape[1:]:
            raise BioSleepError(
                f"{folder}: train images are {x_train.shape[1:]}, test images {x_test.shape[1:]}; they must agree"
            )
        values = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, lambda path: np.savez(path, **values))

    def flat(images):  # (N, H, W, C) uint8 -> (N, C*H*W) float32 in [0, 1], channels first as torch expects
        return torch.from_numpy(images.transpose(0, 3, 1, 2).reshape(len(images), -1).astype(np.float32) / 255.0)

    height, width, channels = values["x_train"].shape[1:]
    return ArrayDataset(
        name,
        flat(values["x_train"]),
        torch.from_numpy(values["y_train"]),
        flat(values["x_test"]),
        torch.from_numpy(values["y_test"]),
        (channels, height, width),
        len(train_classes),
    )


def _extracted(archive: Path) -> Path:
    """The archive extracted into the cache, under a name keyed by the archive (a folder renamed into place)."""
    target = cache_dir() / "data" / f"{archive.name.removesuffix('.tar.gz')}_{_source_key(archive)}"
    if not (target / "train").is_dir():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)  # left by a killed extraction
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(partial, filter="data")
        except (tarfile.TarError, EOFError, OSError) as error:
            shutil.rmtree(partial, ignore_errors=True)
            raise BioSleepError(f"corrupt file {archive} ({error}); delete {archive} or pass another root") from None
        partial.rename(target)
    return target


def load_cifar10(root: str = "") -> ArrayDataset:
    """CIFAR-10 from the official pickles (torchvision) if present under the root, else from an image folder."""
    base = data_root(root)
    if (base / "cifar-10-batches-py").is_dir():
        from torchvision.datasets import CIFAR10

        try:
            splits = [CIFAR10(str(base), train=train, download=False) for train in (True, False)]
        except RuntimeError as error:
            raise BioSleepError(f"CIFAR-10 files under {base} are damaged ({error}); re-download them") from None
        arrays = [(np.asarray(s.data), np.asarray(s.targets, dtype=np.int64)) for s in splits]
        flat = [
            torch.from_numpy(x.transpose(0, 3, 1, 2).reshape(len(x), -1).astype(np.float32) / 255.0) for x, _ in arrays
        ]
        return ArrayDataset(
            "cifar10", flat[0], torch.from_numpy(arrays[0][1]), flat[1], torch.from_numpy(arrays[1][1]), (3, 32, 32), 10
        )
    for folder in (base / "cifar10", base / "cifar10-jpeg"):
        if (folder / "train").is_dir():
            return load_image_folder(folder, "cifar10")
    if (base / ARCHIVE).is_file():
        return load_image_folder(_extracted(base / ARCHIVE), "cifar10")
    raise BioSleepError(
        f"no CIFAR-10 under {base}: expected cifar-10-batches-py/ (official), cifar10/train|test/<class>/ "
        f"(an image folder) or {ARCHIVE}; set data.root or $BIO_SLEEP_DATA"
    )
