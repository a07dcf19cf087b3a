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

import lakestream
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
    p = subprocess.Popen([sys.executable, "-c", TRAINER, sig, uri, str(out)], env=python_env(), preexec_fn=_ctrl_c_as_a_terminal,
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


def _ctrl_c_as_a_terminal():
    """In the child before exec: SIGINT at its default, as for a program started from a terminal.
    A suite started in the background of a non-interactive shell (``./.ci/run &``) inherits SIGINT
    ignored, and Python then installs no KeyboardInterrupt handler: the trainer would never see Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _await_file(path, proc, timeout_s=90):
    """Waits for ``path`` (a phase the trainer reached); fails with its stderr if it exits first."""
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError("trainer exited %s before %s: %s" % (proc.returncode, path.name, proc.stderr.read()))
        if time.monotonic() > deadline:
            raise AssertionError("trainer did not reach %s" % path.name)
        time.sleep(0.01)


# A producer held by flow control (max_lag_steps=2, no trainer records a checkpoint). A watcher
# thread reports the producer's own waiting reason; the test sends SIGINT only then, so the
# signal lands while append() waits.
PRODUCER = textwrap.dedent("""
    import os, sys, threading, time
    import numpy as np
    import lakestream
    uri, out = sys.argv[1], sys.argv[2]

    def mark(name, text=""):
        with open(os.path.join(out, name + ".tmp"), "w") as f:
            f.write(text)
        os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name))

    p = lakestream.Producer(uri, "py", 1, max_lag_steps=2)

    def watch():
        while p.waiting_reason is None:
            time.sleep(0.005)
        mark("waiting", p.waiting_reason)

    threading.Thread(target=watch, daemon=True).start()
    appended = 0
    try:
        for i in range(50):
            ids = np.array([i], dtype=np.int64)
            p.append([{"tokens": np.zeros((1, 4), np.int32), "record_id": ids}], cursor=str(i + 1))
            appended += 1
        sys.exit("flow control never held the producer")
    except KeyboardInterrupt:
        mark("interrupted")
    t0 = time.monotonic()
    p.close()
    sys.stderr.write("close took %.2f s\\n" % (time.monotonic() - t0))
    print("closed after %d appends" % appended)
""")


def test_ctrl_c_while_flow_control_holds_append_raises_keyboard_interrupt(jvm, uri, tmp_path):
    out = tmp_path / "marks"
    out.mkdir()
    p = subprocess.Popen([sys.executable, "-c", PRODUCER, uri, str(out)], env=python_env(), preexec_fn=_ctrl_c_as_a_terminal,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _await_file(out / "waiting", p)
        reason = (out / "waiting").read_text()
        assert reason.startswith("flow control: 2 committed steps beyond the latest checkpoint (none)"), reason
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        _await_file(out / "interrupted", p)
        took = time.monotonic() - sent
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, stderr
    print("KeyboardInterrupt %.2f s after SIGINT; %s" % (took, stderr.strip()))
    assert took < 10, "KeyboardInterrupt came %.1f s after Ctrl-C" % took  # an unsliced wait never returns
    assert stdout.strip() == "closed after 2 appends", stdout + stderr
    assert "Java" not in stderr, stderr
    # Nothing half-done: the two batches before the wait are committed, the interrupted one is not.
    with lakestream.Producer(uri, "py", 1) as again:
        assert again.committed_seq == 2 and again.committed_cursor == "2"
