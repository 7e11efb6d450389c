"""Packages that import their modules on first use: ``bio-sleep --help`` and reading a config stay fast,
since importing a whole package (torch, ART, Dask) takes seconds."""

from importlib import import_module


def lazy_exports(package: str, modules: dict[str, str]):
    """``__getattr__`` for ``package``: each name in ``modules`` (name -> submodule) is imported on first use."""

    def __getattr__(name: str):
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{modules[name]}"), name)

    return __getattr__
