"""A study's results folder: a manifest, one small JSON file per finished point, the control model.

Files are written to a temporary name and renamed, so a killed process leaves
either a whole file or none; a file that is nevertheless unreadable is moved
aside (``*.corrupt``) with a warning and its point recomputed, the others kept.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from bio_sleep.errors import BioSleepError

MANIFEST = "manifest.json"


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class ResultStore:
    """The folder ``root`` bound to one study fingerprint."""

    def __init__(self, root, fingerprint: str, manifest_content: dict):
        self.root = Path(root)
        self.points_dir = self.root / "points"
        manifest = self.root / MANIFEST
        if manifest.exists():
            try:
                existing = json.loads(manifest.read_text())
                found = existing["study_hash"]
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise BioSleepError(f"{manifest} is unreadable ({error}); the point files in {self.points_dir} are "
                                    f"intact: restore the manifest, or move {self.root} away to start fresh") from None
            if found != fingerprint:
                raise BioSleepError(
                    f"{self.root} holds results of a different study (config hash {found}, this config {fingerprint}); "
                    f"refusing to mix them: give another output folder, or delete {self.root} to start this study fresh")
        elif self.root.exists() and any(self.root.iterdir()):
            raise BioSleepError(f"{self.root} is not empty and holds no study manifest; give an empty or new output folder")
        self.points_dir.mkdir(parents=True, exist_ok=True)
        if not manifest.exists():
            write_atomic(manifest, json.dumps({"study_hash": fingerprint, **manifest_content}, indent=1))
        self.corrupt: list[str] = []

    def point_path(self, index: int) -> Path:
        return self.points_dir / f"point_{index:05d}.json"

    def save(self, index: int, record: dict) -> None:
        write_atomic(self.point_path(index), json.dumps(record))

    def load_all(self) -> dict[int, dict]:
        """Every readable point record by index; unreadable files are moved aside and reported."""
        records = {}
        for path in sorted(self.points_dir.glob("point_*.json")):
            try:
                record = json.loads(path.read_text())
                index = int(path.stem.split("_")[1])
                if not isinstance(record, dict) or record.get("status") not in ("ok", "failed"):
                    raise ValueError("not a point record")
            except (OSError, ValueError) as error:
                aside = path.with_name(path.name + ".corrupt")
                os.replace(path, aside)
                self.corrupt.append(str(aside))
                warnings.warn(f"results file {path} is corrupt ({error}); moved to {aside}, its point will be recomputed; "
                              "all other finished points are kept", stacklevel=2)
                continue
            records[index] = record
        return records
