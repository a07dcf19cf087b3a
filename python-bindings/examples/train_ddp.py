#!/usr/bin/env python3
"""Multi-rank training from a Lakestream stream with torch.distributed (gloo, CPU): checkpoint,
record it in the stream, restore in fresh processes and continue exactly.

What it does (the default, as one command):

1. produce: ``--producers`` producer processes (Python ``lakestream.Producer``, as tokenisers
   would run elsewhere) write ``--steps`` global batches of ``--world-size`` rank shards each.
2. run A: ``--world-size`` rank processes are started the standard way, with the env://
   variables ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE`` (what ``torchrun`` sets),
   while the producers are still writing. Each rank calls
   ``torch.distributed.init_process_group("gloo", init_method="env://")``, reads its own shard of
   every step with ``lakestream.TorchDataset`` (rank and world size come from torch.distributed)
   and trains a DistributedDataParallel model. After ``--checkpoint-at`` steps the ranks gather
   their dataset states, rank 0 writes model + optimizer + every rank's dataset state durably,
   and only then calls ``lakestream.record_checkpoint``; training goes on to the end.
3. run B: fresh rank processes load the checkpoint and train to the end.
4. verify: on every rank, run B's steps and record ids are run A's from the checkpoint on, the
   final weights are equal bit for bit, and the ranks' records are disjoint and each produced
   record was trained on exactly once in run A.

Under torchrun, one rank per process: ``torchrun --nproc_per_node 2 train_ddp.py --phase rank
--workdir W [--restore]`` (W holding a stream written by ``--phase produce``).

Run: /usr/bin/python3 python-bindings/examples/train_ddp.py [--steps 12 --checkpoint-at 5]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import lakestream  # installed with pip
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import lakestream

import numpy as np

from train_torch import make_model, record_tokens, train_step  # the single-rank example's model and data


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--workdir", help="folder for the stream, checkpoint and logs (default: a new temp folder)")
    ap.add_argument("--steps", type=int, default=12, help="global batches to produce and train on (default 12)")
    ap.add_argument("--checkpoint-at", type=int, default=5, help="checkpoint after this many steps (default 5)")
    ap.add_argument("--world-size", type=int, default=2, help="training ranks (default 2)")
    ap.add_argument("--producers", type=int, default=2, help="producer processes (default 2)")
    ap.add_argument("--micro-batch", type=int, default=4, help="samples per rank and step (default 4)")
    ap.add_argument("--seq-len", type=int, default=16, help="tokens per sample (default 16)")
    ap.add_argument("--timeout-s", type=float, default=120, help="longest a run may take (default 120)")
    ap.add_argument("--phase", choices=["all", "produce", "rank"], default="all", help=argparse.SUPPRESS)
    ap.add_argument("--producer-index", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--restore", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if not 0 < a.checkpoint_at < a.steps:
        ap.error("--checkpoint-at must be between 1 and --steps - 1")
    return a


def produce(uri, a, index):
    """Producer ``index`` writes global batches index, index + P, ... of the record sequence.

    Global batch g holds records g * W * B ... (g + 1) * W * B - 1, rank r's shard the r-th B of
    them. The cursor is the next batch number this producer owes, so a restart resumes exactly.
    """
    per_batch = a.world_size * a.micro_batch
    with lakestream.Producer(uri, "tokenizer-%d" % index, world_size=a.world_size) as p:
        g = int(p.committed_cursor) if p.committed_cursor else index
        while g < a.steps:
            shards = []
            for r in range(a.world_size):
                ids = np.arange(g * per_batch + r * a.micro_batch, g * per_batch + (r + 1) * a.micro_batch,
                                dtype=np.int64)
                shards.append({"tokens": np.stack([record_tokens(int(i), a.seq_len) for i in ids]), "record_id": ids})
            g += a.producers
            p.append(shards, cursor=str(g))
            p.commit()


def rank_main(uri, a, workdir):
    """One training rank; rank and world size come from the env:// variables."""
    import torch
    import torch.distributed as dist
    dist.init_process_group("gloo", init_method="env://")
    rank = dist.get_rank()
    model, opt = make_model()  # same seed on every rank; DDP broadcasts rank 0's weights anyway
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    ds = lakestream.TorchDataset(uri, timeout_s=60)  # rank, world size: from torch.distributed
    ckpt = os.path.join(workdir, "checkpoint.pt")
    run = "B" if a.restore else "A"
    if a.restore:
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        ds.load_state_dict(state["dataset"][rank])
    ds.steps = a.steps - ds.state_dict()["next_step"]
    with open(os.path.join(workdir, "run%s.rank%d.jsonl" % (run, rank)), "w") as log:
        for batch in torch.utils.data.DataLoader(ds, batch_size=None):
            loss = train_step(ddp, opt, batch["tokens"])  # DDP all-reduces the gradients over gloo
            log.write(json.dumps({"step": batch["step"], "ids": batch["record_id"].tolist(), "loss": loss}) + "\n")
            if not a.restore and ds.state_dict()["next_step"] == a.checkpoint_at:
                checkpoint(uri, ckpt, model, opt, ds, rank)
    if rank == 0:
        torch.save(model.state_dict(), os.path.join(workdir, "run%s.final.pt" % run))
        if a.restore:  # compared here, so the launcher needs no torch
            fa = torch.load(os.path.join(workdir, "runA.final.pt"))
            same = all(torch.equal(fa[k], v) for k, v in model.state_dict().items())
            with open(os.path.join(workdir, "runB.verdict.json"), "w") as f:
                json.dump({"final_weights_equal": same,
                           "restored_states": [s["next_step"] for s in state["dataset"]]}, f)
    dist.barrier()
    dist.destroy_process_group()


def checkpoint(uri, path, model, opt, ds, rank):
    """Model and optimizer are the same on every rank; the dataset state is per rank: gather it."""
    import torch
    import torch.distributed as dist
    states = [None] * dist.get_world_size()
    dist.all_gather_object(states, ds.state_dict())
    if rank == 0:
        tmp = path + ".tmp"
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "dataset": states}, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        lakestream.record_checkpoint(uri, states[0]["next_step"])  # only once the checkpoint is durable
    dist.barrier()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def this(a, workdir, *extra):
    return [sys.executable, os.path.abspath(__file__), "--workdir", workdir, "--steps", str(a.steps),
            "--checkpoint-at", str(a.checkpoint_at), "--world-size", str(a.world_size), "--producers",
            str(a.producers), "--micro-batch", str(a.micro_batch), "--seq-len", str(a.seq_len)] + list(extra)


def launch_ranks(a, workdir, restore):
    """Starts one process per rank with the standard env:// variables, as torchrun would."""
    port = free_port()
    procs = []
    for r in range(a.world_size):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(r), LOCAL_RANK=str(r),
                   WORLD_SIZE=str(a.world_size))
        procs.append(subprocess.Popen(this(a, workdir, "--phase", "rank", *(["--restore"] if restore else [])), env=env))
    return procs


def wait_all(procs, what, deadline):
    for p in procs:
        try:
            rc = p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            rc = None
        if rc != 0:
            for q in procs:
                q.kill()
            raise SystemExit("%s failed (exit %s)" % (what, rc))


def read_log(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def main(argv=None):
    a = parse_args(argv)
    workdir = a.workdir or tempfile.mkdtemp(prefix="lakestream-ddp-")
    os.makedirs(workdir, exist_ok=True)
    uri = "file://" + os.path.abspath(os.path.join(workdir, "stream"))
    if a.phase == "produce":
        produce(uri, a, a.producer_index)
        return 0
    if a.phase == "rank":
        rank_main(uri, a, workdir)
        return 0

    t0 = time.monotonic()
    deadline = t0 + a.timeout_s
    print("workdir %s, stream %s" % (workdir, uri))
    producers = [subprocess.Popen(this(a, workdir, "--phase", "produce", "--producer-index", str(i)))
                 for i in range(a.producers)]
    stream = os.path.join(workdir, "stream", "_lakestream.json")
    while not os.path.exists(stream):  # a rank opening a stream not created yet would fail
        if time.monotonic() > deadline or any(p.poll() is not None for p in producers):
            wait_all(producers, "creating the stream", deadline)
            raise SystemExit("no producer created the stream")
        time.sleep(0.02)
    ranks = launch_ranks(a, workdir, restore=False)  # while the producers write
    wait_all(producers + ranks, "run A", deadline)
    print("run A: %d ranks (gloo, env://) trained %d steps from %d producer processes, checkpoint at step %d "
          "recorded (%.1f s)" % (a.world_size, a.steps, a.producers, a.checkpoint_at, time.monotonic() - t0))
    wait_all(launch_ranks(a, workdir, restore=True), "run B", deadline)

    c = a.checkpoint_at
    every = []
    for r in range(a.world_size):
        ra = read_log(os.path.join(workdir, "runA.rank%d.jsonl" % r))
        rb = read_log(os.path.join(workdir, "runB.rank%d.jsonl" % r))
        assert [x["step"] for x in ra] == list(range(a.steps)), "rank %d run A steps %s" % (r, [x["step"] for x in ra])
        assert [x["step"] for x in rb] == list(range(c, a.steps)), "rank %d restored at %s" % (r, rb[0]["step"])
        assert [x["ids"] for x in rb] == [x["ids"] for x in ra[c:]], "rank %d: restored batches differ" % r
        assert [x["loss"] for x in rb] == [x["loss"] for x in ra[c:]], "rank %d: restored losses differ" % r
        every += [i for x in ra for i in x["ids"]]
    assert sorted(every) == list(range(a.steps * a.world_size * a.micro_batch)), "a record was lost or repeated"
    with open(os.path.join(workdir, "runB.verdict.json")) as f:
        verdict = json.load(f)
    assert verdict["final_weights_equal"], "final weights differ from the uninterrupted run"
    print("run B: fresh ranks restored model, optimizer and each rank's dataset state %s from the checkpoint and "
          "continued on steps %d..%d with the same record ids and losses as run A on every rank"
          % (verdict["restored_states"], c, a.steps - 1))
    print("every one of the %d records trained on exactly once across %d ranks; final weights equal run A's bit "
          "for bit" % (len(every), a.world_size))
    print("OK (%.1f s)" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
