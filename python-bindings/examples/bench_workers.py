#!/usr/bin/env python3
"""Store bytes read per trained byte, and steps/s, of TorchDataset with DataLoader num_workers n.

Writes ``--steps`` global batches (one rank, int32 tokens ``micro_batch x seq_len`` + int64
ids per step) to a file:// stream, then reads them all through
``DataLoader(TorchDataset, batch_size=None, num_workers=n, multiprocessing_context="spawn")``
for each n in ``--workers``. Every DataLoader worker reports how many batch bytes its Java
reader read from the store (``TorchDataset.bytes_read``); "trained bytes" are the tensor bytes
the training loop received. With the step stride pushed down into the Java reader the ratio
is 1.0 for every n (plus the shard headers); a worker reading every step would make it n.

Run: /usr/bin/python3 python-bindings/examples/bench_workers.py [--workers 0 1 2 4 --steps 64]
"""
import argparse
import os
import shutil
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


class CountingDataset(lakestream.TorchDataset):
    """Yields, after its own steps, how many batch bytes its reader read from the store."""

    def __iter__(self):
        yield from super().__iter__()
        yield {"bytes_read": self.bytes_read}


def measure(uri, steps, workers):
    import torch
    ds = CountingDataset(uri, rank=0, world_size=1, steps=steps, timeout_s=60)
    dl = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers,
                                     multiprocessing_context="spawn" if workers else None)
    read = trained = 0
    seen = []
    t0 = t_first = time.perf_counter()
    for item in dl:
        if "bytes_read" in item:
            read += int(item["bytes_read"])
            continue
        if not seen:
            t_first = time.perf_counter()  # workers started: time the steady part
        seen.append(item["step"])
        trained += sum(t.numel() * t.element_size() for k, t in item.items() if k != "step")
    t_end = time.perf_counter()
    if seen != list(range(steps)):
        raise SystemExit("num_workers=%d delivered steps %s, expected 0..%d in order" % (workers, seen, steps - 1))
    return read, trained, (steps - 1) / max(t_end - t_first, 1e-9), t_first - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--micro-batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=4096)
    a = ap.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="lakestream-workers-")
    uri = "file://" + os.path.join(workdir, "stream")
    try:
        with lakestream.Producer(uri, "bench", 1, group=8) as p:
            for s in range(a.steps):
                toks = np.full((a.micro_batch, a.seq_len), s, dtype=np.int32)
                ids = np.arange(s * a.micro_batch, (s + 1) * a.micro_batch, dtype=np.int64)
                p.append([{"tokens": toks, "record_id": ids}], cursor=str(s + 1))
        step_mb = (a.micro_batch * a.seq_len * 4 + a.micro_batch * 8) / 1e6
        print("%d steps of %.2f MB, load average %.2f" % (a.steps, step_mb, os.getloadavg()[0]))
        print("| num_workers | store bytes read | trained bytes | read / trained | steps/s after start | start s |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n in a.workers:
            read, trained, rate, start = measure(uri, a.steps, n)
            print("| %d | %d | %d | %.4f | %.0f | %.1f |" % (n, read, trained, read / trained, rate, start), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
