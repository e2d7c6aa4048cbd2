"""The local Dask cluster both Dask peers run on: `workers` single-thread worker processes, no
dashboard, spill and lock files in a temporary directory removed afterwards, and a SIGTERM that unwinds
the cluster, or exits hard if it will not stop within TERM_GRACE_S (the worker processes watch ours and
exit with it)."""
import contextlib, logging, os, shutil, signal, sys, tempfile, threading

TERM_GRACE_S = 5  # after SIGTERM, how long a clean cluster shut-down may take before a hard exit


@contextlib.contextmanager
def local_cluster(workers):
    """Yields a Client of a started cluster whose `workers` workers have all joined."""
    from dask.distributed import Client, LocalCluster

    # Workers keep their spill and lock files here, so nothing is left in /tmp/dask-worker-space.
    with tempfile.TemporaryDirectory(prefix='dask-peer-') as workdir:
        def on_sigterm(*_):
            # Unwind through the `with` blocks below. A scheduler busy with a big graph can hold the
            # shut-down for many seconds, so give up after TERM_GRACE_S.
            def hard_exit():
                shutil.rmtree(workdir, ignore_errors=True)
                os._exit(143)
            threading.Timer(TERM_GRACE_S, hard_exit).start()
            sys.exit(143)
        signal.signal(signal.SIGTERM, on_sigterm)

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          local_directory=workdir, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            client.wait_for_workers(workers, timeout=60)
            yield client
