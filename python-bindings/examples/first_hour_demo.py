#!/usr/bin/env python3
"""The PyTorch trainer's first hour (issue 27) as one short transcript: save-on-preemption and
several consumers of one stream.

(a) SIGTERM on preemption. A trainer installs its SIGTERM handler at the top of the script,
    before the JVM and the first batch (as SLURM / Kubernetes jobs do). It trains the steps the
    producer has written so far and waits for the next one; the demo sends SIGTERM while it
    waits. The handler raises, the trainer saves its dataset state, records the checkpoint in the
    stream and exits 0. The producer writes the rest and closes the stream; the restarted
    trainer resumes exactly there: every step trained once, the same records as written.
(b) Several consumers. A training run, an eval job (registered when the stream is made) and a
    reference run from step 0 (registered after training checkpointed: allowed while GC has not
    reclaimed step 0) read one stream without a copy. GC respects all three: the demo prints the
    floor and what GC reclaimed after each change, and that a consumer asking for a reclaimed
    step gets a one-line BelowFloorError.

Run: /usr/bin/python3 python-bindings/examples/first_hour_demo.py [--workdir DIR]
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

B = 4  # samples (records) per step
SEQ = 8


def say(msg):
    print(msg, flush=True)


def write_steps(uri, first, n, producer="tokenizer"):
    """Steps [first, first + n): step s holds records s*B .. s*B + B - 1 (the cursor: the next step)."""
    with lakestream.Producer(uri, producer, 1) as p:
        if p.committed_seq:  # a restarted producer resumes at its committed cursor
            assert int(p.committed_cursor) == first
        for s in range(first, first + n):
            ids = np.arange(s * B, s * B + B, dtype=np.int64)
            tokens = ((ids[:, None] * 31 + np.arange(SEQ)[None, :]) % 50257).astype(np.int32)
            p.append([{"tokens": tokens, "record_id": ids}], cursor=str(s + 1))


def span(steps):
    return "%d-%d" % (steps[0], steps[-1]) if steps else "none"


# ---------------------------------------------------------------------------------------------
# (a) the trainer, a process of its own (its own JVM), as a SLURM / Kubernetes job runs it

def trainer(uri, ckpt, progress):
    class Preempted(Exception):
        pass

    def on_sigterm(signum, frame):
        raise Preempted()  # out of whatever the trainer does, a blocked wait for a step included

    signal.signal(signal.SIGTERM, on_sigterm)  # first thing: before the JVM and the first batch
    import torch
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=120)
    resumed = os.path.exists(ckpt)
    if resumed:
        ds.load_state_dict(torch.load(ckpt)["dataset"])
    seen = []
    try:
        for batch in ds.loader():
            seen.append([int(batch["step"]), batch["record_id"].tolist()])  # train_step(batch)
            with open(progress, "a") as f:  # what the demo waits on: the step is done
                f.write("%d\n" % seen[-1][0])
    except Preempted:
        state = ds.state_dict()
        torch.save({"dataset": state}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)  # durable first, then recorded in the stream
        lakestream.record_checkpoint(uri, state["next_step"])
        print(json.dumps({"preempted": True, "next_step": state["next_step"], "seen": seen}))
        sys.exit(0)
    print(json.dumps({"preempted": False, "resumed": resumed, "next_step": ds.state_dict()["next_step"], "seen": seen}))


def start_trainer(uri, ckpt, progress):
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(HERE), "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "--trainer", uri, ckpt, progress], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def await_step(proc, progress, step, timeout_s=120):
    """Waits until the trainer has reported ``step`` done (it then waits for the next one)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if os.path.exists(progress):
            with open(progress) as f:
                if str(step) in f.read().split():
                    return
        if proc.poll() is not None:
            raise SystemExit("trainer exited %s early: %s" % (proc.returncode, proc.stderr.read()))
        if time.monotonic() > deadline:
            raise SystemExit("trainer did not train step %d in %d s" % (step, timeout_s))
        time.sleep(0.02)


def finish(proc, what):
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0:
        raise SystemExit("%s exited %s: %s" % (what, proc.returncode, err))
    return proc.returncode, json.loads(out.strip().splitlines()[-1])


def preemption(work):
    say("== (a) SIGTERM on preemption ==")
    uri = "file://" + os.path.join(work, "preempt")
    ckpt, progress = os.path.join(work, "trainer.ckpt"), os.path.join(work, "progress")
    write_steps(uri, 0, 6)
    say("producer: wrote steps 0-5 (steps 6-11 come later)")
    t = start_trainer(uri, ckpt, progress)
    await_step(t, progress, 5)
    say("trainer: SIGTERM handler installed before the first batch; trained steps 0-5, waits for step 6")
    t.send_signal(signal.SIGTERM)
    say("demo: SIGTERM -> trainer (pid %d) while it waits for step 6" % t.pid)
    rc, first = finish(t, "preempted trainer")
    assert first["preempted"] and first["next_step"] == 6, first
    say("trainer: handler ran: saved checkpoint next_step=%d, recorded it in the stream, exit %d"
        % (first["next_step"], rc))
    write_steps(uri, 6, 6)
    lakestream.close_stream(uri)
    say("producer: wrote steps 6-11, closed the stream")
    t = start_trainer(uri, ckpt, progress)
    rc, second = finish(t, "restarted trainer")
    steps2 = [s for s, _ in second["seen"]]
    say("trainer restarted: resumed at step %d, trained steps %s, end of stream, exit %d"
        % (steps2[0], span(steps2), rc))
    trained = first["seen"] + second["seen"]
    assert [s for s, _ in trained] == list(range(12)), trained
    assert [r for _, ids in trained for r in ids] == list(range(12 * B))
    say("resume is exact: steps 0-11 each trained once, records 0-%d once each, as written" % (12 * B - 1))


# ---------------------------------------------------------------------------------------------
# (b) several consumers of one stream, in this process

def read(uri, start_step, steps=None):
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, start_step=start_step, steps=steps, timeout_s=30)
    return {int(b["step"]): b["record_id"].tolist() for b in ds.loader()}


def status(uri, why, gc=True):
    """One transcript line: the consumers' retained checkpoints, the floor (the lowest of them) and,
    with ``gc``, what a GC pass (as `lakestream gc`) reclaims now."""
    r = lakestream.run_gc(uri) if gc else None
    cons = lakestream.consumers(uri)
    floor = min(min(steps) for steps in cons.values())
    done = "GC reclaimed %d batch objects" % r["batch_objects"] if gc else "(no GC run yet)"
    say("  %-42s floor %2d; %-30s consumers %s" % (why, floor, done, json.dumps(cons, separators=(",", ":"))))


def consumers(work):
    say("== (b) one stream, three consumers ==")
    uri = "file://" + os.path.join(work, "shared")
    write_steps(uri, 0, 12)
    lakestream.close_stream(uri)
    lakestream.register_consumer(uri, "eval", 0)
    say("producer: wrote steps 0-11 (keep_checkpoints=2); eval job registered at step 0 when the stream was made")
    trained = read(uri, 0)  # the training run: the default consumer
    for step in (4, 8, 12):
        lakestream.record_checkpoint(uri, step)
    status(uri, "training run: steps 0-11, checkpoints 4, 8, 12")
    ev = read(uri, 0, steps=10)
    lakestream.record_checkpoint(uri, 6, consumer="eval")
    lakestream.record_checkpoint(uri, 10, consumer="eval")
    status(uri, "eval job: steps 0-9, checkpoints 6, 10", gc=False)
    # Decided on after both checkpointed: below the floor, allowed while GC has not reclaimed step 0.
    lakestream.register_consumer(uri, "reference", 0)
    status(uri, "reference run registered at step 0")
    ref = read(uri, 0)
    assert ref == trained and all(ev[s] == trained[s] for s in ev)
    say("  reference run: steps 0-11, the same %d records as the training run" % sum(map(len, ref.values())))
    lakestream.remove_consumer(uri, "reference")
    status(uri, "reference run done and removed")
    try:
        lakestream.register_consumer(uri, "late", 0)
        raise SystemExit("a consumer registered at a reclaimed step")
    except lakestream.BelowFloorError as e:
        assert "\n" not in str(e)
        say("  a late consumer at step 0: BelowFloorError: %s" % e)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--workdir", help="folder for the streams and the checkpoint (default: a new temp folder)")
    ap.add_argument("--trainer", nargs=3, metavar=("URI", "CKPT", "PROGRESS"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.trainer:
        trainer(*a.trainer)
        return
    work = a.workdir or tempfile.mkdtemp(prefix="lakestream-first-hour-")
    os.makedirs(work, exist_ok=True)
    preemption(work)
    consumers(work)
    say("OK")


if __name__ == "__main__":
    main()
