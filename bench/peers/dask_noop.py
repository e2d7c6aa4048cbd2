#!/usr/bin/python3
"""Dask peer for bench/engine.mjs: N no-op tasks on a local cluster of 2 single-thread worker processes.

Prints {"peer":"dask","count":N,"seconds":S,"perSecond":R}; S runs from the first submission to the
last result gathered, so cluster start-up and shut-down are not counted.

    /usr/bin/python3 bench/peers/dask_noop.py --count 5000 --json
"""
import argparse, json, logging, os, shutil, signal, sys, tempfile, threading, time, warnings

TERM_GRACE_S = 5  # after SIGTERM, how long a clean cluster shut-down may take before a hard exit


def noop(i):
    return i


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=5000, help='number of no-op tasks (default 5000)')
    parser.add_argument('--json', action='store_true', help='print one JSON line instead of a sentence')
    args = parser.parse_args()
    if args.count < 1:
        parser.error(f'--count must be a positive integer, got {args.count}')

    warnings.simplefilter('ignore')
    from dask.distributed import Client, LocalCluster

    # Workers keep their spill and lock files here, so nothing is left in /tmp/dask-worker-space.
    with tempfile.TemporaryDirectory(prefix='dask-peer-') as workdir:
        def on_sigterm(*_):
            # Unwind through the `with` blocks below. A scheduler busy with a big graph can hold the
            # shut-down for many seconds, so give up after TERM_GRACE_S: the worker processes watch
            # ours and exit with it.
            def hard_exit():
                shutil.rmtree(workdir, ignore_errors=True)
                os._exit(143)
            threading.Timer(TERM_GRACE_S, hard_exit).start()
            sys.exit(143)
        signal.signal(signal.SIGTERM, on_sigterm)

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          local_directory=workdir, silence_logs=logging.ERROR) as cluster, \
                Client(cluster) as client:
            client.wait_for_workers(2, timeout=60)
            start = time.perf_counter()
            futures = client.map(noop, range(args.count), pure=False)
            results = client.gather(futures)
            seconds = time.perf_counter() - start
            del futures
    if results != list(range(args.count)):
        sys.exit(f'dask returned wrong results: expected 0..{args.count - 1}')

    out = {'peer': 'dask', 'count': args.count, 'seconds': seconds, 'perSecond': args.count / seconds}
    if args.json:
        print(json.dumps(out, separators=(',', ':')), flush=True)
    else:
        print(f"dask: {args.count} no-op tasks in {seconds:.3f} s, {out['perSecond']:.0f} per second")


if __name__ == '__main__':  # worker processes are spawned and re-import this file
    main()
