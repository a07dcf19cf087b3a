"""No silent early end: a stream that is not closed and brings no step raises StreamIdleError
saying why (flow control waiting for a checkpoint, or producers that commit nothing), unless the
user asked for end_on_idle; a blocked producer says so in its log; a trainer may wait (bounded)
for a stream that does not exist yet."""
import subprocess
import sys
import textwrap
import time
import types

import pytest

import lakestream
import lakestream.reader as reader_mod
from conftest import python_env, write_stream

PRODUCER = textwrap.dedent("""
    import sys
    import numpy as np
    import lakestream
    with lakestream.Producer(sys.argv[1], "tok", 1, max_lag_steps=5) as p:
        for i in range(20):
            p.append([{"tokens": np.full((2, 4), i, dtype=np.int32)}], cursor=str(i + 1))
    print("producer done", flush=True)
""")


def test_a_trainer_without_checkpoints_gets_a_flow_control_error_and_the_producer_says_why(jvm, uri):
    env = python_env()
    env["LAKESTREAM_JAVA_OPTS"] = "-Dlakestream.flowControlLogMillis=200"  # say it at once, not after 30 s
    p = subprocess.Popen([sys.executable, "-c", PRODUCER, uri], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=120, wait_for_stream_s=120)
        steps = []
        with pytest.raises(lakestream.StreamIdleError) as ei:
            for b in ds:
                steps.append(b["step"])
                ds.timeout_s = 2.0  # the producer's start may be slow; its stall is what is timed
        assert steps == [0, 1, 2, 3, 4]  # max_lag_steps=5 and no checkpoint: the producer waits
        e = ei.value
        assert isinstance(e, lakestream.StepTimeoutError) and not e.committed
        assert (e.reason, e.lag_steps, e.max_lag_steps, e.committed_steps, e.producers) == (
            "flow_control", 5, 5, 5, ["tok"])
        assert "no step 5 within 2 s" in str(e) and "flow control lag 5 of 5" in str(e)
        assert "record_checkpoint" in str(e)
        # The producer's own log says it waits, and why.
        deadline = time.monotonic() + 60
        line = ""
        while "for a checkpoint" not in line and time.monotonic() < deadline:
            line = p.stderr.readline()
        assert "producer 'tok'" in line and "flow control lag 5 of 5" in line, line
        # Recording the checkpoint lets it through: the run goes on where it stopped.
        lakestream.record_checkpoint(uri, 5)
        assert next(iter(ds))["step"] == 5
    finally:
        p.kill()
        p.wait()


def test_producers_that_stop_without_closing_raise_unless_end_on_idle(jvm, uri):
    write_stream(uri, world_size=1, steps=2, producer="tok")
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=0.3)
    got = []
    with pytest.raises(lakestream.StreamIdleError, match="close_stream") as ei:
        for b in ds:
            got.append(b["step"])
    assert got == [0, 1]
    assert ei.value.reason == "no_commits" and ei.value.producers == ["tok"]
    assert "no step 2 within 0.3 s" in str(ei.value) and "end_on_idle=True" in str(ei.value)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=0.3, end_on_idle=True)
    assert [b["step"] for b in ds] == [0, 1]


def test_wait_for_a_stream_that_does_not_exist_yet(jvm, uri, monkeypatch):
    with pytest.raises(lakestream.StreamNotFoundError):
        next(iter(lakestream.TorchDataset(uri, rank=0, world_size=1)))  # no wait by default
    t0 = time.monotonic()
    with pytest.raises(lakestream.StreamNotFoundError):
        next(iter(lakestream.TorchDataset(uri, rank=0, world_size=1, wait_for_stream_s=0.5)))  # bounded
    assert time.monotonic() - t0 >= 0.5
    # The producer comes while the trainer waits: its first pause is when the stream is created.
    created = []

    def sleep_then_produce(s):
        if not created:
            created.append(write_stream(uri, world_size=1, steps=3))
            lakestream.close_stream(uri)
        time.sleep(s)

    monkeypatch.setattr(reader_mod, "time", types.SimpleNamespace(monotonic=time.monotonic, sleep=sleep_then_produce))
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, wait_for_stream_s=60)
    got = [b["record_id"].tolist() for b in ds]
    assert created and got == created[0]
