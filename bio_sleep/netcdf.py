"""The CF conventions of every netCDF the project writes, applied in one place: ``cf_dataset`` (used by
``RunFolder.write_netcdf`` and ``write_netcdf``)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from bio_sleep.version import code_version

CONVENTIONS = "CF-1.10"


def history_line(command: str | None = None) -> str:
    """'<UTC time, ISO 8601>: <command> (bio_sleep <code version>)'; the command defaults to this process's."""
    command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    return f"{datetime.now(UTC).isoformat(timespec='seconds')}: {command} (bio_sleep {code_version()})"


def cf_dataset(dataset, command: str | None = None):
    """A shallow copy of ``dataset`` with the global ``Conventions`` and a ``history`` line above any it had
    (CF: newest first); a variable or coordinate without a ``long_name`` gets its name in words."""
    stamped = dataset.copy()
    earlier = dataset.attrs.get("history", "")
    stamped.attrs.update(Conventions=CONVENTIONS, history="\n".join(filter(None, [history_line(command), earlier])))
    for name, variable in stamped.variables.items():
        variable.attrs.setdefault("long_name", str(name).replace("_", " "))
    return stamped


def write_netcdf(dataset, path) -> Path:
    """``cf_dataset(dataset)`` written to ``path``."""
    cf_dataset(dataset).to_netcdf(path)
    return Path(path)
