#!/usr/bin/env python3
"""Train a tiny model from a Lakestream stream, get SIGKILLed after a checkpoint, restore, and
continue on exactly the next batches.

What it does (``--phase all``, the default):

1. produce: ``--producers`` Python producers (as a tokeniser pipeline would) write ``--steps``
   global batches of ``tokens`` + ``record_id`` to a file:// stream, exactly once each.
2. train: a subprocess trains an embedding + linear next-token model with
   ``lakestream.TorchDataset``; after ``--checkpoint-at`` steps it saves model + optimizer +
   dataset ``state_dict()`` durably, calls ``lakestream.record_checkpoint``, keeps training ...
   and is killed with SIGKILL a couple of steps later.
3. resume: a fresh subprocess loads the checkpoint and trains to the end.
4. reference: the same training without a kill, in this process (run before the others: after
   a checkpoint is recorded, steps below the retention floor are no longer served).
5. verify: the resumed run's first step is the checkpoint's step, its record ids are exactly the
   reference's from there on, every record is trained on exactly once in (before checkpoint +
   after restore), and the final weights equal the uninterrupted run's bit for bit.

Run: /usr/bin/python3 python-bindings/examples/train_torch.py [--steps 40 --checkpoint-at 15]
"""
import argparse
import json
import os
import signal
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

VOCAB = 512


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--workdir", help="folder for the stream, checkpoint and logs (default: a new temp folder)")
    ap.add_argument("--steps", type=int, default=40, help="global batches to produce and train on (default 40)")
    ap.add_argument("--checkpoint-at", type=int, default=15, help="checkpoint after this many steps (default 15)")
    ap.add_argument("--kill-after", type=int, default=2,
                    help="steps the first trainer trains past the checkpoint before it is SIGKILLed (default 2)")
    ap.add_argument("--producers", type=int, default=2, help="Python producers writing the stream (default 2)")
    ap.add_argument("--micro-batch", type=int, default=8, help="samples per step (default 8)")
    ap.add_argument("--seq-len", type=int, default=16, help="tokens per sample (default 16)")
    ap.add_argument("--phase", choices=["all", "produce", "train", "resume", "reference"], default="all",
                    help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if not 0 < a.checkpoint_at < a.steps:
        ap.error("--checkpoint-at must be between 1 and --steps - 1")
    return a


# ---------------------------------------------------------------------------------------------
# The data pipeline: producers as a tokeniser would run them.

def record_tokens(rid, seq_len):
    """Deterministic 'tokenised document' for record ``rid``: a noisy arithmetic sequence."""
    rng = np.random.default_rng(rid)
    start, stride = rng.integers(0, VOCAB), rng.integers(1, 7)
    return ((start + stride * np.arange(seq_len)) % VOCAB).astype(np.int32)


def produce(uri, a):
    """Producer p owns records p, p+P, p+2P, ...; it resumes from its committed cursor."""
    per_producer = [a.steps // a.producers + (1 if p < a.steps % a.producers else 0) for p in range(a.producers)]
    producers = [lakestream.Producer(uri, "tokenizer-%d" % p, world_size=1) for p in range(a.producers)]
    try:
        next_rec = [int(p.committed_cursor) if p.committed_cursor else i for i, p in enumerate(producers)]
        done = [p.committed_seq for p in producers]
        while any(done[i] < per_producer[i] for i in range(a.producers)):
            for i, p in enumerate(producers):  # interleave: the log orders them into one step sequence
                if done[i] >= per_producer[i]:
                    continue
                ids = np.array([next_rec[i] + a.producers * k for k in range(a.micro_batch)], dtype=np.int64)
                tokens = np.stack([record_tokens(int(r), a.seq_len) for r in ids])
                next_rec[i] = int(ids[-1]) + a.producers
                p.append([{"tokens": tokens, "record_id": ids}], cursor=str(next_rec[i]))
                p.commit()
                done[i] += 1
    finally:
        for p in producers:
            p.close()


# ---------------------------------------------------------------------------------------------
# Training.

def make_model():
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)  # bitwise reproducible across the three runs
    model = torch.nn.Sequential(torch.nn.Embedding(VOCAB, 32), torch.nn.Linear(32, VOCAB))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    return model, opt


def train_step(model, opt, tokens):
    import torch
    x = tokens[:, :-1].long()
    y = tokens[:, 1:].long()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss)


def train(uri, a, workdir, log_name, restore, checkpoint_at=None, kill_pause=0.0):
    import torch
    model, opt = make_model()
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=30)
    ckpt = os.path.join(workdir, "checkpoint.pt")
    if restore:
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        ds.load_state_dict(state["dataset"])
    ds.steps = a.steps - ds.state_dict()["next_step"]
    log = open(os.path.join(workdir, log_name), "w")
    loss = None
    for batch in torch.utils.data.DataLoader(ds, batch_size=None):
        loss = train_step(model, opt, batch["tokens"])
        log.write(json.dumps({"step": batch["step"], "ids": batch["record_id"].tolist(), "loss": loss}) + "\n")
        log.flush()
        if checkpoint_at is not None and ds.state_dict()["next_step"] == checkpoint_at:
            tmp = ckpt + ".tmp"
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "dataset": ds.state_dict()}, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, ckpt)  # durable, then recorded in the stream's log
            lakestream.record_checkpoint(uri, ds.state_dict()["next_step"])
            print("CHECKPOINT %d" % checkpoint_at, flush=True)
        if kill_pause and checkpoint_at is not None and ds.state_dict()["next_step"] > checkpoint_at:
            time.sleep(kill_pause)  # give the parent time to kill us mid-run
    log.close()
    torch.save(model.state_dict(), os.path.join(workdir, log_name + ".final.pt"))
    return loss


def read_log(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.strip()]


def sub(phase, a, workdir, **popen):
    cmd = [sys.executable, os.path.abspath(__file__), "--phase", phase, "--workdir", workdir, "--steps", str(a.steps),
           "--checkpoint-at", str(a.checkpoint_at), "--kill-after", str(a.kill_after), "--producers",
           str(a.producers), "--micro-batch", str(a.micro_batch), "--seq-len", str(a.seq_len)]
    return subprocess.Popen(cmd, **popen)


def main(argv=None):
    a = parse_args(argv)
    workdir = a.workdir or tempfile.mkdtemp(prefix="lakestream-train-")
    os.makedirs(workdir, exist_ok=True)
    uri = "file://" + os.path.abspath(os.path.join(workdir, "stream"))

    if a.phase == "produce":
        produce(uri, a)
        return 0
    if a.phase == "train":
        train(uri, a, workdir, "train.jsonl", restore=False, checkpoint_at=a.checkpoint_at, kill_pause=0.5)
        return 0
    if a.phase == "resume":
        train(uri, a, workdir, "resume.jsonl", restore=True)
        return 0
    if a.phase == "reference":
        train(uri, a, workdir, "reference.jsonl", restore=False)
        return 0

    t0 = time.monotonic()
    print("workdir %s, stream %s" % (workdir, uri))
    produce(uri, a)
    print("produced %d steps with %d Python producers (%.1f s)" % (a.steps, a.producers, time.monotonic() - t0))

    # The same training without interruption, for comparison. It runs first: once a checkpoint
    # is recorded, steps below the retention floor are no longer served (they may be reclaimed).
    train(uri, a, workdir, "reference.jsonl", restore=False)
    ref = read_log(os.path.join(workdir, "reference.jsonl"))

    # Train in a subprocess; SIGKILL it a few steps after its checkpoint.
    p = sub("train", a, workdir, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("CHECKPOINT"):
        p.kill()
        raise SystemExit("trainer did not checkpoint (got %r, exit %s)" % (line, p.wait()))
    train_log = os.path.join(workdir, "train.jsonl")
    deadline = time.monotonic() + 120
    while len(read_log(train_log)) < a.checkpoint_at + a.kill_after and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    rc = p.wait()
    killed = read_log(train_log)
    print("trainer checkpointed at step %d, trained %d steps in all, then was killed (exit %d)"
          % (a.checkpoint_at, len(killed), rc))
    if rc != -signal.SIGKILL:
        raise SystemExit("trainer was not killed by SIGKILL (exit %d)" % rc)

    # Restore in a fresh process.
    r = sub("resume", a, workdir)
    if r.wait() != 0:
        raise SystemExit("resume failed")
    resumed = read_log(os.path.join(workdir, "resume.jsonl"))

    import torch
    c = a.checkpoint_at
    assert [x["step"] for x in ref] == list(range(a.steps))
    assert resumed[0]["step"] == c, "resumed at step %d, checkpoint was at %d" % (resumed[0]["step"], c)
    assert [x["step"] for x in resumed] == list(range(c, a.steps))
    assert [x["ids"] for x in resumed] == [x["ids"] for x in ref[c:]], "resumed batches differ from the reference"
    assert [x["ids"] for x in killed[:c]] == [x["ids"] for x in ref[:c]]
    trained = [i for x in killed[:c] + resumed for i in x["ids"]]
    produced = sorted(i for x in ref for i in x["ids"])
    assert len(set(produced)) == len(produced) == a.steps * a.micro_batch
    assert sorted(trained) == produced, "some record was not trained on exactly once"
    final_resumed = torch.load(os.path.join(workdir, "resume.jsonl.final.pt"))
    final_ref = torch.load(os.path.join(workdir, "reference.jsonl.final.pt"))
    same = all(torch.equal(final_resumed[k], final_ref[k]) for k in final_ref)
    assert same, "final weights differ from the uninterrupted run"
    print("restored from the checkpoint at step %d: continued on steps %d..%d; first record ids after restore %s "
          "(reference: %s)" % (c, c, a.steps - 1, resumed[0]["ids"][:4], ref[c]["ids"][:4]))
    print("steps %d..%d trained by the killed run were replayed after restore, as the checkpoint requires"
          % (c, len(killed) - 1))
    print("every one of the %d records trained on exactly once; final weights equal the uninterrupted run's "
          "bit for bit; final loss %.4f" % (len(trained), resumed[-1]["loss"]))
    print("OK (%.1f s)" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
