#!/usr/bin/env python3
"""Per-step cost of handing a step from the Java reader to Python, for small steps.

Writes ``--steps`` tiny global batches (``--tensors`` int32 tensors of ``--micro-batch`` x
``--seq-len`` per rank, plus ``record_id``) to a file:// stream, waits until the reader has all
of them prefetched, then times, per step, ``Reader.next()`` + turning the step into torch
tensors + dropping them (which releases the step's slab). With small steps this is almost all
binding overhead (JPype calls, Python objects), not data movement. Prints p50 / mean in
microseconds and the steps/s of a ``TorchDataset`` loop over the same stream.

Run: /usr/bin/python3 python-bindings/examples/bench_step_overhead.py [--steps 3000 --tensors 2]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import lakestream
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import lakestream

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--tensors", type=int, default=2, help="int32 tensors per step besides record_id")
    ap.add_argument("--micro-batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=200)
    a = ap.parse_args(argv)
    import torch

    workdir = tempfile.mkdtemp(prefix="lakestream-overhead-")
    uri = "file://" + os.path.join(workdir, "stream")
    try:
        lakestream.ensure_jvm()
        toks = np.arange(a.micro_batch * a.seq_len, dtype=np.int32).reshape(a.micro_batch, a.seq_len)
        with lakestream.Producer(uri, "bench", 1, group=64) as p:
            for s in range(a.steps):
                shard = {"t%d" % i: toks for i in range(a.tensors)}
                shard["record_id"] = np.arange(s * a.micro_batch, (s + 1) * a.micro_batch, dtype=np.int64)
                p.append([shard], cursor=str(s + 1))
        step_bytes = a.tensors * toks.nbytes + 8 * a.micro_batch
        times = []
        with lakestream.Reader(uri, 0, 1, prefetch=8) as r:
            for i in range(a.steps):
                t0 = time.perf_counter()
                b = r.next(30)
                item = b.torch()
                del b, item
                times.append(time.perf_counter() - t0)
        times = times[a.warmup:]
        us = [t * 1e6 for t in times]
        print("Reader.next + torch(): %d steps of %d tensors (%d B/step): p50 %.1f us, mean %.1f us per step"
              % (len(us), a.tensors + 1, step_bytes, statistics.median(us), statistics.fmean(us)))
        ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=a.steps, timeout_s=30, prefetch=8)
        n = 0
        t_start = None
        for _batch in torch.utils.data.DataLoader(ds, batch_size=None):
            n += 1
            if n == a.warmup:
                t_start = time.perf_counter()
        dt = time.perf_counter() - t_start
        print("TorchDataset + DataLoader(batch_size=None): %.0f steps/s (%.1f us per step)"
              % ((n - a.warmup) / dt, dt / (n - a.warmup) * 1e6))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
