"""The in-memory dataset every part of the library works on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bio_sleep.errors import BioSleepError

LOADING_LOCK = "loading.lock"  # in the cache folder, held while a dataset is prepared there


@dataclass(frozen=True)
class ArrayDataset:
    """Flattened float inputs in [0, 1] (or raw features) with integer labels.

    ``image_shape`` is (channels, height, width) for images, None for feature
    vectors (no blur is defined on those).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    image_shape: tuple[int, int, int] | None
    n_classes: int

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]

    def subset(self, train_samples: int | None, test_samples: int | None) -> ArrayDataset:
        """The first N training / test samples."""
        for label, wanted, have in (
            ("train", train_samples, len(self.x_train)),
            ("test", test_samples, len(self.x_test)),
        ):
            if wanted is not None and wanted > have:
                raise BioSleepError(
                    f"data.{label}_samples = {wanted} but {self.name} has only {have} {label} samples; "
                    "lower it or leave it unset"
                )
        return ArrayDataset(
            self.name,
            self.x_train[:train_samples],
            self.y_train[:train_samples],
            self.x_test[:test_samples],
            self.y_test[:test_samples],
            self.image_shape,
            self.n_classes,
        )


def load_dataset(config) -> ArrayDataset:
    """Build the dataset a ``DataConfig`` (or the SRC ``ImageDataConfig``, which adds CIFAR-10) names, cut to its
    sample counts."""
    from bio_sleep.data.arrays import load_npz
    from bio_sleep.data.image_folder import load_cifar10
    from bio_sleep.data.patches import make_patches
    from bio_sleep.data.torchvision_sets import cache_dir, load_torchvision
    from bio_sleep.run_folder import locked

    if config.dataset == "patches":
        data = make_patches(config.patches_train_copies, config.patches_test_copies)
    elif config.dataset == "npz":
        data = load_npz(config.path)
    else:  # one process at a time: workers loading at once would download, extract or decode into the same files
        with locked(cache_dir() / LOADING_LOCK):
            if config.dataset == "cifar10":
                data = load_cifar10(config.root)
            else:
                data = load_torchvision(config.dataset, config.root, download=config.download)
    return data.subset(config.train_samples, config.test_samples)
