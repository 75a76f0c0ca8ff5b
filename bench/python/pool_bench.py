"""Python's multiprocessing.Pool on the same workloads as bench/workers/work.mjs.

Usage: python3 pool_bench.py pool|in-process SCENARIO PARAMS_JSON
       python3 pool_bench.py calibrate TARGET_MS
       python3 pool_bench.py info
Prints one line: the marker below, then a JSON object (ms, check, maxRssKb, ...).
"""

import functools
import itertools
import json
import math
import multiprocessing
import resource
import statistics
import sys
import time

MARK = "@@mpool-bench "


def inc(x):
    return x + 1


def double(x):
    return x * 2


def spin(n):
    acc = 0.0
    for i in range(n):
        acc = (acc + math.sqrt(i + acc)) % 1e9
    return acc


def summarize(record):
    values = [r["value"] for r in record["readings"]]
    return {
        "id": record["id"],
        "mean": sum(values) / len(values),
        "max": max(values),
        "tags": len(record["tags"]),
        "city": record["owner"]["address"]["city"],
    }


def make_record(i):
    """The same record as makeRecord in bench/workers/work.mjs."""
    return {
        "id": i,
        "name": f"record-{i}",
        "tags": [f"tag-{(i + j) % 50}" for j in range(8)],
        "owner": {
            "id": i % 997,
            "name": f"owner-{i % 997}",
            "email": f"owner{i % 997}@example.com",
            "address": {
                "street": f"{i % 300} Main Street",
                "city": f"city-{i % 40}",
                "zip": str(10000 + (i % 89999)),
            },
        },
        "readings": [
            {"t": j, "value": ((i * 31 + j * 17) % 1000) / 10, "ok": (i + j) % 7 != 0}
            for j in range(150)
        ],
    }


def now_ms():
    return time.perf_counter() * 1000


def check(ok, what):
    if not ok:
        raise AssertionError(f"wrong result: {what}")


def prepare(scenario, n, p):
    """The input for n items (built before the clock starts) and the work to time on a pool."""
    if scenario == "tiny":
        def work(pool):
            out = [r.get() for r in [pool.apply_async(inc, (i,)) for i in range(n)]]
            check(sum(out) == n * (n + 1) // 2, "tiny")
    elif scenario == "cpu":
        def work(pool):
            out = [r.get() for r in [pool.apply_async(spin, (p["iters"],)) for _ in range(n)]]
            check(len(out) == n and len(set(out)) == 1, "cpu")
    elif scenario == "map":
        items = list(range(n))

        def work(pool):
            out = pool.map_async(double, items, chunksize=p["chunksize"]).get()
            check(len(out) == n and out[-1] == 2 * (n - 1), "map")
    elif scenario == "objects":
        records = [make_record(i) for i in range(n)]

        def work(pool):
            out = pool.map(summarize, records, chunksize=p["chunksize"])
            check(len(out) == n and out[-1]["id"] == n - 1, "objects")
    elif scenario == "imap":
        # Python 3.11's imap has no bound of its own: its task thread reads the infinite input ahead of the
        # consumer for as long as the pipe to the workers takes it; the peak RSS shows what that costs.
        # An imap cannot be cancelled, so the warm-up pass reads a finite range to its end (see run_pool).
        def work(pool, source=None):
            last = None
            stream = pool.imap(double, itertools.count() if source is None else source, chunksize=p["chunksize"])
            for count, last in enumerate(stream, 1):
                if count == n:
                    break
            check(last == 2 * (n - 1), "imap")
    else:
        raise ValueError(f"unknown scenario {scenario}")
    return work


def run_pool(scenario, p):
    procs = p["processes"]
    if scenario == "cold":
        t0 = now_ms()
        pool = multiprocessing.Pool(procs)
        first = pool.apply(inc, (1,))
        ms = now_ms() - t0
        pool.terminate()
        pool.join()
        check(first == 2, "cold")
        return ms
    if scenario == "script":
        # The seed's script whole, as bench/scenarios.ts times it: pool, input, map, results.
        t0 = now_ms()
        pool = multiprocessing.Pool(procs)
        try:
            n = p["n"]
            items = list(range(n))
            out = pool.map_async(double, items, chunksize=p["chunksize"]).get()
            ms = now_ms() - t0
            check(len(out) == n and out[-1] == 2 * (n - 1), "script")
            return ms
        finally:
            pool.terminate()
            pool.join()
    # As bench/scenarios.ts does: every worker answers, one pass at a tenth of the size, then the clock.
    warm_n = max(procs * 2, math.ceil(p["n"] / 10))
    warmup = prepare(scenario, warm_n, p)
    if scenario == "imap":
        # An abandoned imap over an infinite input keeps feeding the pool forever and blocks every later call.
        warmup = functools.partial(warmup, source=range(warm_n))
    work = prepare(scenario, p["n"], p)
    pool = multiprocessing.Pool(procs)
    try:
        pool.map(inc, range(procs * 4), chunksize=1)
        warmup(pool)
        t0 = now_ms()
        work(pool)
        return now_ms() - t0
    finally:
        pool.terminate()
        pool.join()


def run_in_process(scenario, p):
    n = p["n"]
    if scenario == "cpu":
        t0 = now_ms()
        out = [spin(p["iters"]) for _ in range(n)]
        ms = now_ms() - t0
    elif scenario == "map":
        items = list(range(n))
        t0 = now_ms()
        out = list(map(double, items))
        ms = now_ms() - t0
    else:
        raise ValueError(f"no in-process variant of {scenario}")
    check(len(out) == n, scenario)
    return ms


def calibrate(target_ms):
    n = 20_000
    for _ in range(3):
        spin(n)
        samples = []
        for _ in range(15):
            t0 = now_ms()
            spin(n)
            samples.append(now_ms() - t0)
        n = max(1, round(n * target_ms / statistics.median(samples)))
    return n


def main(argv):
    mode = argv[1]
    if mode == "info":
        result = {"version": sys.version.split()[0], "startMethod": multiprocessing.get_start_method()}
    elif mode == "calibrate":
        result = {"iters": calibrate(float(argv[2]))}
    else:
        scenario, params = argv[2], json.loads(argv[3])
        ms = (run_pool if mode == "pool" else run_in_process)(scenario, params)
        self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = {"ms": ms, "maxRssKb": self_kb}
    print(MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv)
