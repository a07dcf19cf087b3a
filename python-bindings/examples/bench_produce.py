#!/usr/bin/env python3
"""Producer CPU per step: ``lakestream.produce`` vs a DataLoader worker running the same pipeline.

Each configuration runs in fresh processes twice, for ``--steps`` and ``--steps + --extra``
steps; the difference divided by ``--extra`` is the per-step CPU with start-up (JVM, imports,
JIT warm-up of the first steps) taken out. The pipeline makes ``--micro-batch`` samples of
``--seq-len + 1`` int32 tokens + an int64 record id per step (world size 1), each sample costing
``--work`` rounds of a pure-Python token hash (0: the data path's own cost alone).

Modes: ``dataloader`` (a DataLoader worker), ``produce`` (``lakestream.produce``, one worker),
``producer`` (before ``produce``: the pipeline and the JVM in one process, ``lakestream.Producer``
committing every step, as the old comparison's producers did). Per step it reports: the worker
processes' CPU, the host's CPU (produce/producer: the process with the JVM; DataLoader: the
trainer-side loop), and for produce the host's CPU by thread from
/proc/self/task (main thread = Python + hand-off + encode; commit; write; JIT compiler threads;
GC threads; other JVM threads) and the main thread's phases (take / hand-off / append).

Run: /usr/bin/python3 python-bindings/examples/bench_produce.py [--java-opts "..."] [--work 40]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))


class Pipeline:
    """Map-style dataset: sample i is seq_len + 1 tokens from a pure-Python hash, ``work`` rounds."""

    def __init__(self, n, seq_len, work):
        self.n, self.seq_len, self.work = n, seq_len, work

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        import numpy as np
        toks = [(i * 31 + j) % 50257 for j in range(self.seq_len + 1)]
        for _ in range(self.work):
            toks = [(t * 1103515245 + 12345) % 50257 for t in toks]
        return {"tokens": np.array(toks, dtype=np.int32), "record_id": np.int64(i)}


def _ticks(path):
    with open(path) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def _category(comm, tid, pid):
    if tid == pid:
        return "main"
    if comm.startswith("lakestream-comm"):
        return "commit"
    if comm.startswith("lakestream-writ"):
        return "write"
    if "CompilerThre" in comm:
        return "jit"
    if comm.startswith(("GC Thread", "G1 ", "VM Thread")):
        return "gc+vm"
    if comm == "python3" or comm.startswith("python"):
        return "python-other"
    return "jvm:" + comm


class ThreadSampler(threading.Thread):
    """Keeps every thread's last seen CPU seconds (threads that exit keep their last sample)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen = {}
        self.stop = threading.Event()

    def sample(self):
        me = threading.get_native_id()
        pid = os.getpid()
        for tid in os.listdir("/proc/self/task"):
            tid = int(tid)
            if tid == me:
                continue
            try:
                with open("/proc/self/task/%d/comm" % tid) as f:
                    comm = f.read().strip()
                self.seen[tid] = (_category(comm, tid, pid), _ticks("/proc/self/task/%d/stat" % tid))
            except OSError:
                pass

    def run(self):
        while not self.stop.wait(0.25):
            self.sample()

    def totals(self):
        self.sample()
        out = {}
        for cat, cpu in self.seen.values():
            out[cat] = out.get(cat, 0.0) + cpu
        return out


def child(a):
    import numpy as np  # noqa: F401
    ds = Pipeline(a.steps * a.micro_batch, a.seq_len, a.work)
    out = {}
    if a.mode == "produce":
        import lakestream
        from lakestream import _produce
        sampler = ThreadSampler()
        sampler.start()
        tmp = tempfile.mkdtemp(prefix="bench-produce-")
        lakestream.produce("file://" + tmp + "/a", ds, producer="bench", world_size=1, micro_batch=a.micro_batch,
                           num_workers=a.workers)
        if a.warm:
            # a second run in the same (warm) JVM: the host's per-thread CPU without start-up
            before, self0 = sampler.totals(), time.process_time()
            warm = Pipeline(a.warm * a.micro_batch, a.seq_len, a.work)
            lakestream.produce("file://" + tmp + "/b", warm, producer="bench", world_size=1,
                               micro_batch=a.micro_batch, num_workers=a.workers)
            after, self1 = sampler.totals(), time.process_time()
            out["warm_threads_ms"] = {k: (after.get(k, 0) - before.get(k, 0)) / a.warm * 1000 for k in after}
            out["warm_host_ms"] = (self1 - self0) / a.warm * 1000
            out["warm_phases_ms"] = {k: v / a.warm * 1000 for k, v in _produce.last_run_cpu.items()}
        sampler.stop.set()
        out["threads"] = sampler.totals()
    elif a.mode == "producer":
        # the path before lakestream.produce (the old comparison's producer): the pipeline and a JVM
        # in one process, lakestream.Producer, commit after every step
        import lakestream
        from lakestream._produce import default_collate
        sampler = ThreadSampler()
        sampler.start()
        uri = "file://" + os.path.join(tempfile.mkdtemp(prefix="bench-produce-"), "s")
        with lakestream.Producer(uri, "bench", world_size=1) as p:
            for s in range(a.steps):
                batch = default_collate([ds[s * a.micro_batch + i] for i in range(a.micro_batch)])
                p.append([batch], cursor=str(s + 1))
                p.commit()
        sampler.stop.set()
        out["threads"] = sampler.totals()
    else:
        import torch
        torch.set_num_threads(1)
        dl = torch.utils.data.DataLoader(ds, batch_size=a.micro_batch, num_workers=a.workers)
        for _b in dl:
            pass
        del dl, _b
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    out.update(host=me.ru_utime + me.ru_stime, workers=ch.ru_utime + ch.ru_stime, host_rss_mb=me.ru_maxrss / 1024,
               worker_rss_mb=ch.ru_maxrss / 1024)
    print("RESULT " + json.dumps(out))


def run(a, mode, steps):
    env = dict(os.environ)
    if a.java_opts is not None:
        env["LAKESTREAM_JAVA_OPTS"] = a.java_opts
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--mode", mode, "--steps", str(steps),
           "--micro-batch", str(a.micro_batch), "--seq-len", str(a.seq_len), "--work", str(a.work),
           "--workers", str(a.workers), "--warm", str(a.warm)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.split("RESULT ", 1)[1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=100, help="steps of the short run (default 100)")
    ap.add_argument("--extra", type=int, default=400, help="extra steps of the long run (default 400)")
    ap.add_argument("--micro-batch", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--work", type=int, default=0, help="hash rounds per sample (CPU of the pipeline)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--warm", type=int, default=0, help="produce: then a second run of this many steps in the warm JVM")
    ap.add_argument("--java-opts", help="LAKESTREAM_JAVA_OPTS for the produce host")
    ap.add_argument("--modes", nargs="+", default=["dataloader", "produce"])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a)
    res = {}
    for mode in a.modes:
        short, long_ = run(a, mode, a.steps), run(a, mode, a.steps + a.extra)
        per = lambda k: (long_[k] - short[k]) / a.extra * 1000  # noqa: E731
        r = {"workers_ms": per("workers"), "host_ms": per("host"), "host_rss_mb": long_["host_rss_mb"],
             "worker_rss_mb": long_["worker_rss_mb"]}
        if mode in ("produce", "producer"):
            r["threads_ms"] = {k: (long_["threads"].get(k, 0) - short["threads"].get(k, 0)) / a.extra * 1000
                               for k in sorted(set(long_["threads"]) | set(short["threads"]))}
            for k in ("warm_threads_ms", "warm_host_ms", "warm_phases_ms"):
                if k in long_:
                    r[k] = long_[k]
        res[mode] = r
        print(mode, json.dumps(r, indent=None, default=lambda x: round(x, 2)), flush=True)
    print("load average %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
