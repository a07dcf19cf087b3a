#!/usr/bin/env python3
"""Measures what lakestream.TorchDataset delivers: steps/s and MB/s of tensor bytes.

Writes a file:// stream with the Python producer (``--steps`` global batches of ``tokens``
int32[micro_batch, seq_len] + ``record_id`` int64[micro_batch] per rank), then iterates rank 0
with ``DataLoader(TorchDataset(...), batch_size=None)`` and times the loop (after ``--warmup``
steps). MB/s counts the tensor bytes handed to the loop (10^6 bytes per MB). With ``--touch``
every step's tokens are also summed, so each byte is actually read by the CPU. ``--extra-tensors
K`` adds K more int32 tensors per step. ``--per-step`` first times, step by step, what handing a
step to Python costs: ``Reader.next()`` + turning the step into torch tensors + dropping them
(which releases the step's slab); with small steps that is almost all binding overhead (JPype
calls, Python objects), not data movement. It prints p50 and mean in microseconds.

Run: /usr/bin/python3 python-bindings/examples/bench_dataset.py [--steps 400 --micro-batch 64 --seq-len 4096]
     /usr/bin/python3 python-bindings/examples/bench_dataset.py --per-step --steps 3000 --micro-batch 8 --seq-len 64 --warmup 200
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
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--micro-batch", type=int, default=64)
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--world-size", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--prefetch", type=int, default=4)
    ap.add_argument("--lz4", action="store_true", help="store shards LZ4-compressed")
    ap.add_argument("--touch", action="store_true", help="sum every step's tokens (reads every byte)")
    ap.add_argument("--extra-tensors", type=int, default=0, help="more int32 tensors per step (default 0)")
    ap.add_argument("--per-step", action="store_true", help="also time Reader.next + torch() step by step")
    ap.add_argument("--workdir", help="where to put the stream (default: a temp folder, removed afterwards)")
    a = ap.parse_args(argv)
    import torch

    workdir = a.workdir or tempfile.mkdtemp(prefix="lakestream-bench-")
    uri = "file://" + os.path.abspath(os.path.join(workdir, "stream"))
    try:
        lakestream.ensure_jvm()
        rng = np.random.default_rng(0)
        tokens = rng.integers(0, 50257, size=(a.micro_batch, a.seq_len), dtype=np.int32)
        t0 = time.perf_counter()
        written = 0
        with lakestream.Producer(uri, "bench", a.world_size, lz4=a.lz4, group=8) as p:
            rid = 0
            for s in range(a.steps):
                shards = []
                for _ in range(a.world_size):
                    ids = np.arange(rid, rid + a.micro_batch, dtype=np.int64)
                    rid += a.micro_batch
                    shard = {"tokens": tokens, "record_id": ids}
                    shard.update(("extra%d" % i, tokens) for i in range(a.extra_tensors))
                    shards.append(shard)
                    written += (1 + a.extra_tensors) * tokens.nbytes + ids.nbytes
                p.append(shards, cursor=str(rid))
        dt = time.perf_counter() - t0
        print("produce: %d steps x %d ranks, %.1f MB in %.2f s: %.1f steps/s, %.1f MB/s (Python producer, %s)"
              % (a.steps, a.world_size, written / 1e6, dt, a.steps / dt, written / 1e6 / dt, "lz4" if a.lz4 else "raw"))

        if a.per_step:
            per_step(uri, a)
        ds = lakestream.TorchDataset(uri, rank=0, world_size=a.world_size, steps=a.steps, timeout_s=30,
                                     prefetch=a.prefetch)
        n = 0
        nbytes = 0
        checksum = 0
        t_start = None
        for batch in torch.utils.data.DataLoader(ds, batch_size=None):
            if n == a.warmup:
                t_start = time.perf_counter()
                nbytes = 0
            n += 1
            for k, v in batch.items():
                if isinstance(v, torch.Tensor):
                    nbytes += v.numel() * v.element_size()
            if a.touch:
                checksum += int(batch["tokens"].sum())
        dt = time.perf_counter() - t_start
        measured = n - a.warmup
        print("read (TorchDataset + DataLoader(batch_size=None), rank 0, prefetch %d%s): %d steps, %.1f MB in %.3f s: "
              "%.1f steps/s, %.1f MB/s; pool pin mode %s"
              % (a.prefetch, ", touching every byte" if a.touch else "", measured, nbytes / 1e6, dt, measured / dt,
                 nbytes / 1e6 / dt, ds.pin_mode))
    finally:
        if a.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def per_step(uri, a):
    """CPU time of the calling thread per step (JPype calls run Java on it; waiting for a fetch
    costs none), and wall time, which also includes waiting for the Java fetch threads."""
    cpu, wall = [], []
    with lakestream.Reader(uri, 0, a.world_size, prefetch=a.prefetch) as r:
        for _ in range(a.steps):
            c0, t0 = time.thread_time(), time.perf_counter()
            b = r.next(30)
            item = b.torch()
            del b, item  # releases the step
            cpu.append((time.thread_time() - c0) * 1e6)
            wall.append((time.perf_counter() - t0) * 1e6)
    cpu, wall = cpu[a.warmup:], wall[a.warmup:]
    print("per step (Reader.next + torch() + release, %d tensors, %d steps): calling thread's CPU p50 %.1f us, mean "
          "%.1f us; wall p50 %.1f us; load average %.2f" % (2 + a.extra_tensors, len(cpu), statistics.median(cpu),
                                                           statistics.fmean(cpu), statistics.median(wall),
                                                           os.getloadavg()[0]))


if __name__ == "__main__":
    main()
