"""Which bio_sleep made a result: the installed version, and the code version (that version plus a hash of the
source), so that results of edited code are never mistaken for those of the code that runs now."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

# Packages whose source decides a result; equations and converters are installed from their own folders.
PACKAGES = ("bio_sleep", "bio_sleep.equations", "bio_sleep.converters")
# The files that are code or shipped defaults (configs/*.toml).
SOURCE_SUFFIXES = (".py", ".toml")
# Who made a result whose code version is not recorded (written before bio-sleep recorded it), in messages.
UNRECORDED = "a bio-sleep that did not record its code"


def package_version() -> str:
    """The installed bio_sleep's version."""
    try:
        return version("bio-sleep")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


@cache
def code_version() -> str:
    """'<version>+<first 12 hex digits of source_digest>': changes with any edit to the code.

    A version number alone stays the same while a checkout is edited; the hash does not.
    """
    folders = [
        (package, Path(folder)) for package in PACKAGES for folder in find_spec(package).submodule_search_locations
    ]
    return f"{package_version()}+{source_digest(folders)[:12]}"


def source_digest(folders: list[tuple[str, Path]]) -> str:
    """SHA-256 (hex) of every source file under each (package, folder), named by its path inside the package tree.

    An installed wheel nests equations/ and converters/ inside bio_sleep/, an editable install keeps them apart: the
    names (``bio_sleep/equations/neurons.py`` either way) and so the digest are the same for the same code.
    """
    sources = {}
    for package, root in folders:
        for source in root.rglob("*"):
            if source.suffix in SOURCE_SUFFIXES and "__pycache__" not in source.parts:
                sources["/".join([*package.split("."), source.relative_to(root).as_posix()])] = source
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(f"{name}\0".encode())
        digest.update(sources[name].read_bytes())
    return digest.hexdigest()
