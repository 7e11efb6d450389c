"""Image folders: decoding, caching, and the errors for unequal classes or unreadable files."""

import numpy as np
import pytest
from PIL import Image

from bio_sleep.data.image_folder import load_image_folder
from bio_sleep.errors import BioSleepError


def _folder(root, classes=("cat", "dog"), test_classes=None, size=4):
    rng = np.random.default_rng(0)
    for split, names in (("train", classes), ("test", test_classes or classes)):
        for name in names:
            (root / split / name).mkdir(parents=True)
            for k in range(3):
                Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
                    root / split / name / f"{k}.png"
                )
    return root


def test_image_folder_loads_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("BIO_SLEEP_CACHE", str(tmp_path / "cache"))
    folder = _folder(tmp_path / "images")
    data = load_image_folder(folder, "toy")
    assert data.image_shape == (3, 4, 4) and data.n_classes == 2
    assert data.x_train.shape == (6, 48) and data.y_train.tolist() == [0, 0, 0, 1, 1, 1]
    first = np.asarray(Image.open(folder / "train" / "cat" / "0.png"))
    assert np.allclose(data.x_train[0].reshape(3, 4, 4).permute(1, 2, 0).numpy() * 255, first)
    assert len(list((tmp_path / "cache" / "decoded").glob("*.npz"))) == 1
    import bio_sleep.data.image_folder as image_folder

    decode = image_folder._decode_split
    monkeypatch.setattr(image_folder, "_decode_split", lambda *a: pytest.fail("decoded again"))
    assert load_image_folder(folder, "toy").x_train.shape == (6, 48)  # the cache is used: no decoding
    monkeypatch.setattr(image_folder, "_decode_split", decode)
    (folder / "train" / "cat" / "0.png").unlink()  # a changed folder is decoded again, never served stale
    assert load_image_folder(folder, "toy").x_train.shape == (5, 48)
    cached = next(
        p
        for p in (tmp_path / "cache" / "decoded").glob("*.npz")
        if p.stat().st_mtime_ns == max(q.stat().st_mtime_ns for q in (tmp_path / "cache" / "decoded").glob("*.npz"))
    )
    cached.write_bytes(cached.read_bytes()[:48])  # a damaged cache file is decoded again, with a warning
    with pytest.warns(UserWarning, match="damaged"):
        assert load_image_folder(folder, "toy").x_train.shape == (5, 48)


def test_unequal_class_sets_are_rejected(tmp_path, monkeypatch):
    monkeypatch.setenv("BIO_SLEEP_CACHE", str(tmp_path / "cache"))
    folder = _folder(tmp_path / "images", test_classes=("cat", "horse"))
    with pytest.raises(BioSleepError, match=r"only in train: \['dog'\].*only in test: \['horse'\]"):
        load_image_folder(folder)


def test_unreadable_files_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("BIO_SLEEP_CACHE", str(tmp_path / "cache"))
    folder = _folder(tmp_path / "images")
    (folder / "test" / "dog" / "broken.jpg").write_bytes(b"not an image")
    with pytest.raises(BioSleepError, match="broken.jpg"):
        load_image_folder(folder)


def test_load_dataset_reads_cifar10_and_cuts_it(tmp_path, monkeypatch):
    """CIFAR-10 goes through the one dataset loader, like every other set, sample counts included."""
    from bio_sleep.data import load_dataset
    from bio_sleep.src.config import ImageDataConfig

    monkeypatch.setenv("BIO_SLEEP_CACHE", str(tmp_path / "cache"))
    _folder(tmp_path / "root" / "cifar10")
    data = load_dataset(
        ImageDataConfig(dataset="cifar10", root=str(tmp_path / "root"), train_samples=4, test_samples=2)
    )
    assert data.name == "cifar10" and data.image_shape == (3, 4, 4)
    assert data.x_train.shape == (4, 48) and data.x_test.shape == (2, 48)
    with pytest.raises(BioSleepError, match="no CIFAR-10 under"):
        load_dataset(ImageDataConfig(dataset="cifar10", root=str(tmp_path / "empty")))


def test_a_second_process_waits_while_one_prepares_the_cache(tmp_path):
    """Dask workers load their data at once: while one holds the cache's loading lock, another decodes nothing."""
    import os
    import subprocess
    import sys
    import time

    from bio_sleep.data.dataset import LOADING_LOCK
    from bio_sleep.run_folder import locked

    cache = tmp_path / "cache"
    _folder(tmp_path / "root" / "cifar10")
    code = (
        "from bio_sleep.data import load_dataset; from bio_sleep.src.config import ImageDataConfig; print('ready', "
        f"flush=True); load_dataset(ImageDataConfig(dataset='cifar10', root={str(tmp_path / 'root')!r}))"
    )
    env = dict(os.environ, BIO_SLEEP_CACHE=str(cache))
    with locked(cache / LOADING_LOCK):
        loader = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        assert loader.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # decoding these 12 tiny images takes far less
        assert loader.poll() is None and not (cache / "decoded").exists()
    assert loader.wait(timeout=60) == 0
    assert len(list((cache / "decoded").glob("*.npz"))) == 1
