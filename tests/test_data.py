"""Datasets: Patches as the paper describes it, user .npz files, MNIST offline."""

import shutil

import numpy as np
import pytest

from bio_sleep.config import DataConfig
from bio_sleep.data import load_dataset, make_patches
from bio_sleep.data.arrays import load_npz
from bio_sleep.data.patches import patch_images
from bio_sleep.errors import BioSleepError
from helpers import SHARED_DATA

SHARED_MNIST = SHARED_DATA / "MNIST"


def test_patches_have_25_bright_pixels_and_15_shared():
    images = patch_images()
    assert images.shape == (4, 100)
    assert set(np.unique(images)) == {0.0, 1.0}
    assert (images.sum(axis=1) == 25).all()
    assert int((images.sum(axis=0) >= 2).sum()) == 15
    assert len({tuple(image) for image in images}) == 4


def test_patches_dataset_is_noise_free_copies():
    data = make_patches(train_copies=3, test_copies=2)
    assert data.x_train.shape == (12, 100) and data.x_test.shape == (8, 100)
    assert data.image_shape == (1, 10, 10) and data.n_classes == 4
    for label in range(4):
        rows = data.x_train[data.y_train == label]
        assert (rows == rows[0]).all()


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_npz_features_load(tmp_path):
    rng = np.random.default_rng(0)
    path = write_npz(
        tmp_path / "cub.npz",
        x_train=rng.random((20, 2048)),
        y_train=rng.integers(0, 5, 20),
        x_test=rng.random((6, 2048)),
        y_test=np.arange(6) % 5,
    )
    data = load_npz(path)
    assert data.n_inputs == 2048 and data.image_shape is None and data.n_classes == 5


@pytest.mark.parametrize(
    "arrays, message",
    [
        (
            dict(x_train=np.zeros((3, 4)), y_train=np.zeros(3, int), x_test=np.zeros((2, 4))),
            "lacks the arrays \\['y_test'\\]",
        ),
        (
            dict(x_train=np.zeros((3, 4)), y_train=np.zeros(2, int), x_test=np.zeros((2, 4)), y_test=np.zeros(2, int)),
            "one row per sample",
        ),
        (
            dict(x_train=np.zeros((3, 4)), y_train=np.zeros(3, int), x_test=np.zeros((2, 5)), y_test=np.zeros(2, int)),
            "must agree",
        ),
        (
            dict(x_train=np.zeros((3, 4)), y_train=np.zeros(3), x_test=np.zeros((2, 4)), y_test=np.zeros(2, int)),
            "integer class",
        ),
        (
            dict(
                x_train=np.full((3, 4), np.nan),
                y_train=np.zeros(3, int),
                x_test=np.zeros((2, 4)),
                y_test=np.zeros(2, int),
            ),
            "NaN",
        ),
    ],
)
def test_bad_npz_files_are_explained(tmp_path, arrays, message):
    with pytest.raises(BioSleepError, match=message):
        load_npz(write_npz(tmp_path / "bad.npz", **arrays))


def test_missing_npz_file(tmp_path):
    with pytest.raises(BioSleepError, match="is not a file"):
        load_npz(tmp_path / "missing.npz")


def test_too_many_samples_requested():
    with pytest.raises(BioSleepError, match="has only 8 test samples"):
        load_dataset(DataConfig(patches_test_copies=2, test_samples=100))


def test_mnist_missing_gives_a_fix(tmp_path):
    with pytest.raises(BioSleepError, match="MNIST/raw"):
        load_dataset(DataConfig(dataset="mnist", root=str(tmp_path)))


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no shared MNIST copy")
def test_mnist_loads_offline_without_writing_into_the_data_root(tmp_path):
    root = tmp_path / "shared_copy"
    shutil.copytree(SHARED_MNIST, root / "MNIST")
    data = load_dataset(DataConfig(dataset="mnist", root=str(root), train_samples=100, test_samples=50))
    assert data.x_train.shape == (100, 784) and data.x_test.shape == (50, 784)
    assert 0.0 <= float(data.x_train.min()) and float(data.x_train.max()) <= 1.0
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(
        p.name for p in (SHARED_MNIST / "raw").iterdir()
    )


def _mnist_root(root, damage=None):
    """A data root linking the shared MNIST archives, ``damage`` (a name) replaced by a truncated copy."""
    (root / "MNIST" / "raw").mkdir(parents=True)
    for archive in (SHARED_MNIST / "raw").glob("*.gz"):
        target = root / "MNIST" / "raw" / archive.name
        if archive.name == damage:
            target.write_bytes(archive.read_bytes()[:-100])
        else:
            target.symlink_to(archive)
    return root


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no shared MNIST copy")
def test_mnist_archives_are_checked_against_their_source_and_the_cache_too(tmp_path, monkeypatch):
    monkeypatch.setenv("BIO_SLEEP_CACHE", str(tmp_path / "cache"))
    good = _mnist_root(tmp_path / "good")
    truncated = _mnist_root(tmp_path / "truncated", damage="t10k-labels-idx1-ubyte.gz")

    def load(root):
        return load_dataset(DataConfig(dataset="mnist", root=str(root), train_samples=10, test_samples=10))

    # a truncated .gz is reported as corrupt (not as "not found ... Error downloading"), and nothing is cached
    with pytest.raises(
        BioSleepError,
        match="corrupt file .*truncated/MNIST/raw/t10k-labels-idx1-ubyte.gz "
        "\\(checksum mismatch.*delete .*or pass another root",
    ):
        load(truncated)
    assert not (tmp_path / "cache" / "extracted" / "MNIST" / "raw").is_dir() or not any(
        (tmp_path / "cache" / "extracted" / "MNIST" / "raw").iterdir()
    )
    expected = load(good).y_test
    # the cache now holds extracted MNIST: it never serves a root that fails the check, nor an empty one
    with pytest.raises(BioSleepError, match="corrupt file .*truncated"):
        load(truncated)
    (tmp_path / "partial" / "MNIST" / "raw").mkdir(parents=True)
    (tmp_path / "partial" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").symlink_to(
        SHARED_MNIST / "raw" / "t10k-labels-idx1-ubyte.gz"
    )
    with pytest.raises(BioSleepError, match="but not .*train-images.*needs all 4 archives"):
        load(tmp_path / "partial")
    with pytest.raises(BioSleepError, match="MNIST not found under"):
        load(tmp_path / "empty")
    # a damaged extracted file in the cache is extracted again, with a warning
    cached = tmp_path / "cache" / "extracted" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    cached.write_bytes(cached.read_bytes()[:20])
    with pytest.warns(UserWarning, match="t10k-labels-idx1-ubyte is damaged"):
        assert load(good).y_test.tolist() == expected.tolist()


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason="no shared MNIST copy")
def test_damaged_extracted_mnist_files_are_named(tmp_path):
    import gzip

    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for archive in (SHARED_MNIST / "raw").glob("*.gz"):
        with gzip.open(archive) as source:
            (raw / archive.name.removesuffix(".gz")).write_bytes(source.read()[:1000])  # truncated extraction
    with pytest.raises(BioSleepError, match="extracted MNIST files in .* cannot be read"):
        load_dataset(DataConfig(dataset="mnist", root=str(tmp_path)))
