"""Datasets as plain arrays: Patches (generated), torchvision sets, user .npz files."""

from bio_sleep.data.dataset import ArrayDataset, load_dataset
from bio_sleep.data.patches import make_patches

__all__ = ["ArrayDataset", "load_dataset", "make_patches"]
