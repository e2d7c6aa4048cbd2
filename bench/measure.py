#!/usr/bin/python3
"""Runs a command and prints its wall time in seconds and peak resident memory in MB, as JSON.

Peak memory is the child's ru_maxrss (the largest process waited for), so worker threads count and
helper processes do not hide.
"""
import json, resource, subprocess, sys, time

start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
seconds = time.perf_counter() - start
if proc.returncode != 0:
    sys.stderr.write(proc.stderr.decode())
    sys.exit(proc.returncode)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({'seconds': seconds, 'peak_mb': peak_kb / 1024}))
