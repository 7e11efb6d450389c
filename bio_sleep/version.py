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
    """SHA-256 (hex) of every source file under each (package, folder), with its package and path inside it."""
    digest = hashlib.sha256()
    for package, root in sorted(folders):
        sources = sorted(p for p in root.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts)
        for source in sources:
            digest.update(f"{package}/{source.relative_to(root).as_posix()}\0".encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()
