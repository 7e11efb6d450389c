"""Dask clients for the commands that run independent pieces in parallel (study points, search trials, SRC
trials): an embedded LocalCluster, or an existing scheduler given by address."""

from __future__ import annotations

import contextlib
import importlib.util
import logging

from dask.distributed import WorkerPlugin

from bio_sleep.errors import BioSleepError


class ImportBrian(WorkerPlugin):
    """Imports Brian2 on each worker's main thread: it installs a signal handler on import, which
    fails from the task threads where points run. Still needed although the torch backend and cached
    cpp_standalone runs never import Brian2: a first compilation and the cython target do."""

    name = "bio-sleep-import-brian2"

    def setup(self, worker):
        import brian2  # noqa: F401


def _prepared(client):
    client.register_plugin(ImportBrian())
    return client


def _dashboard(client, local: bool) -> str:
    """Where the Dask dashboard is, or why there is none (an embedded cluster serves it only with bokeh)."""
    if local and importlib.util.find_spec("bokeh") is None:
        return "Dask dashboard: off; it needs bokeh (pip install 'bio-sleep[dashboard]')"
    return f"Dask dashboard: {client.dashboard_link}"


@contextlib.contextmanager
def dask_client(execution, log=print):
    """A ``dask.distributed.Client`` for an ExecutionConfig, closed (with its embedded cluster) on exit;
    ``log`` gets the dashboard's address.

    Workers are processes with one thread each: Brian2's standalone device is
    a per-process singleton, so two points must never share a process at once.
    Workers of an existing scheduler need bio_sleep installed.
    """
    from dask.distributed import Client, LocalCluster

    if execution.scheduler:
        try:
            client = Client(execution.scheduler, timeout=f"{execution.connect_timeout}s")
        except (OSError, TimeoutError, ValueError) as error:
            raise BioSleepError(
                f"no Dask scheduler answered at {execution.scheduler} within {execution.connect_timeout:g} s "
                f"({error}); "
                "check the address (e.g. tcp://host:8786) and that `dask scheduler` runs there, "
                "or leave execution.scheduler empty to use a local cluster"
            ) from None
        try:
            log(_dashboard(client, local=False))
            yield _prepared(client)
        finally:
            client.close()
        return
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with (
        LocalCluster(
            n_workers=execution.workers,
            threads_per_worker=1,
            processes=True,
            # dask's default port; a free one if that is taken
            dashboard_address=":8787" if importlib.util.find_spec("bokeh") else None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        log(_dashboard(client, local=True))
        yield _prepared(client)
