"""Signals reach Python as in plain PyTorch: Ctrl-C raises KeyboardInterrupt and a SIGTERM
handler runs, whether the signal comes before the first batch (JVM started), while a step is
awaited (blocked inside a Java wait), or mid-step, and whether the handler was installed before
the JVM started. Each phase is a real training subprocess; the test sends real signals."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import python_env, write_stream

# The trainer: three phases, each announced by a file, each ended by one signal. For SIGINT the
# script catches KeyboardInterrupt; for SIGTERM a handler installed at the very top (before the
# JVM exists) raises Preempted, as a save-on-preemption handler would exit.
TRAINER = textwrap.dedent("""
    import os, signal, sys, time
    sig, uri, out = sys.argv[1], sys.argv[2], sys.argv[3]

    class Preempted(Exception):
        pass

    def on_term(signum, frame):
        raise Preempted()

    if sig == "TERM":
        signal.signal(signal.SIGTERM, on_term)
    caught = KeyboardInterrupt if sig == "INT" else Preempted

    def mark(name):
        with open(os.path.join(out, name), "w"):
            pass

    import lakestream
    from torch.utils.data import DataLoader
    lakestream.ensure_jvm()
    deadline = time.monotonic() + 60

    # 1. before the first batch: the JVM runs, Python idles
    try:
        mark("phase1")
        while time.monotonic() < deadline:
            time.sleep(0.01)
        sys.exit("phase 1: no signal came")
    except caught:
        mark("handled1")

    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=60)
    it = iter(DataLoader(ds, batch_size=None))
    first = next(it)
    # 2. waiting for step 1, which is never committed: blocked in the reader
    try:
        mark("phase2")
        next(it)
        sys.exit("phase 2: a step came")
    except caught:
        mark("handled2")

    # 3. mid-step: Python work on a batch
    ds2 = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=60)
    try:
        for batch in DataLoader(ds2, batch_size=None):
            mark("phase3")
            x = 0
            while time.monotonic() < deadline:
                x += int(batch["tokens"].sum())
            sys.exit("phase 3: no signal came")
    except caught:
        mark("handled3")
    print("clean exit")
""")


@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_signals_reach_python_at_every_point_of_training(jvm, uri, tmp_path, sig):
    write_stream(uri, world_size=1, steps=1)  # step 0 only: step 1 is awaited forever
    out = tmp_path / "marks"
    out.mkdir()
    p = subprocess.Popen([sys.executable, "-c", TRAINER, sig, uri, str(out)], env=python_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for phase in (1, 2, 3):
            _await_file(out / ("phase%d" % phase), p)
            p.send_signal(signal.SIGINT if sig == "INT" else signal.SIGTERM)
            _await_file(out / ("handled%d" % phase), p)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, stderr
    assert stdout.strip() == "clean exit"
    assert "Java" not in stderr and "JVMNotRunning" not in stderr, stderr


def _await_file(path, proc, timeout_s=90):
    """Waits for ``path`` (a phase the trainer reached); fails with its stderr if it exits first."""
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError("trainer exited %s before %s: %s" % (proc.returncode, path.name, proc.stderr.read()))
        if time.monotonic() > deadline:
            raise AssertionError("trainer did not reach %s" % path.name)
        time.sleep(0.01)
