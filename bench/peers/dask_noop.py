#!/usr/bin/python3
"""Dask peer for bench/engine.mjs: N no-op tasks on a local cluster of 2 single-thread worker processes.

Prints {"peer":"dask","count":N,"seconds":S,"perSecond":R}; S runs from the first submission to the
last result gathered, so cluster start-up and shut-down are not counted.

    /usr/bin/python3 bench/peers/dask_noop.py --count 5000 --json
"""
import argparse, json, os, sys, time, warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dask_cluster import local_cluster  # noqa: E402


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
    with local_cluster(2) as client:
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
