import numpy as np
import pytest
import torch

import lakestream
from conftest import write_stream


def _shards(ws, start, n=2):
    return [{"record_id": np.arange(start + r * n, start + (r + 1) * n, dtype=np.int64)} for r in range(ws)]


def test_resume_cursor_and_seq(jvm, uri):
    with lakestream.Producer(uri, "tok", 2) as p:
        assert p.committed_cursor is None and p.committed_seq == 0 and p.epoch == 1
        p.append(_shards(2, 0), cursor="offset=4")
        p.append(_shards(2, 4), cursor="offset=8")
        p.commit()
        assert p.committed_seq == 2 and p.committed_cursor == "offset=8"
    with lakestream.Producer(uri, "tok", 2) as p:
        assert p.epoch == 2 and p.committed_seq == 2 and p.committed_cursor == "offset=8"


def test_torch_tensors_are_accepted(jvm, uri):
    with lakestream.Producer(uri, "t", 1) as p:
        p.append([{"tokens": torch.arange(6, dtype=torch.int32).reshape(2, 3), "record_id": torch.tensor([7, 8])}])
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10).torch()
        assert b["tokens"].tolist() == [[0, 1, 2], [3, 4, 5]] and b["record_id"].tolist() == [7, 8]


def test_fencing_raises_fenced_error(jvm, uri):
    old = lakestream.Producer(uri, "tok", 1, group=1)
    old.append(_shards(1, 0), cursor="a")
    old.commit()
    new = lakestream.Producer(uri, "tok", 1)  # claims epoch 2: the old instance is a zombie now
    with pytest.raises(lakestream.FencedError) as ei:
        # committed in the background: the fencing surfaces at the next call, commit() at the latest
        old.append(_shards(1, 2), cursor="b")
        old.commit()
    e = ei.value
    assert isinstance(e, lakestream.LakestreamError)
    assert e.producer == "tok" and e.epoch == 1 and e.current_epoch == 2
    assert "fenced" in str(e) and "epoch 2" in str(e) and "newer instance" in str(e)
    old.close()
    new.append(_shards(1, 2), cursor="b")
    new.commit()
    new.close()
    with lakestream.Reader(uri, 0, 1) as r:
        assert [r.next(5).arrays["record_id"].tolist() for _ in range(2)] == [[0, 1], [2, 3]]
        with pytest.raises(lakestream.StepTimeoutError):
            r.next(0.3)


@pytest.mark.parametrize("bad", ["nonsense://x/y", "file://relative/path", "file:relative", "", "no-scheme",
                                 "file:///a/../b"])
def test_bad_uri_raises_clear_error(jvm, bad):
    with pytest.raises(lakestream.StreamURIError) as ei:
        lakestream.Producer(bad, "p", 1)
    assert isinstance(ei.value, ValueError)
    assert "stream" in str(ei.value).lower() or "uri" in str(ei.value).lower()
    with pytest.raises(lakestream.StreamURIError):
        lakestream.Reader(bad, 0, 1)


def test_missing_stream_raises_not_found(jvm, tmp_path):
    with pytest.raises(lakestream.StreamNotFoundError, match="does not exist"):
        lakestream.Reader("file://" + str(tmp_path / "nope"), 0, 1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(lakestream.StreamNotFoundError, match="no Lakestream stream"):
        lakestream.Reader("file://" + str(tmp_path / "empty"), 0, 1)


def test_wrong_world_size_raises_clear_error(jvm, uri):
    write_stream(uri, world_size=2, steps=1)
    with pytest.raises(lakestream.WorldSizeMismatchError, match="world size 2.*world size 3") as ei:
        lakestream.Producer(uri, "other", 3)
    assert isinstance(ei.value, ValueError)
    with pytest.raises(lakestream.WorldSizeMismatchError, match="world size 2"):
        lakestream.Reader(uri, 0, 4)
    with pytest.raises(lakestream.WorldSizeMismatchError):
        next(iter(lakestream.TorchDataset(uri, rank=0, world_size=1)))
    with lakestream.Producer(uri, "p", 2) as p:
        with pytest.raises(lakestream.InvalidArgumentError, match="3 rank shards.*world size 2"):
            p.append(_shards(3, 0))


def test_record_checkpoint(jvm, uri):
    write_stream(uri, world_size=1, steps=3)
    with pytest.raises(lakestream.CheckpointError, match="only 3 steps are committed"):
        lakestream.record_checkpoint(uri, 4)
    v = lakestream.record_checkpoint(uri, 2, id="ckpt-a")
    assert v >= 0
    lakestream.record_checkpoint(uri, 3)
    ObjectStores = jvm.JClass("io.lakestream.store.ObjectStores")
    ManifestLog = jvm.JClass("io.lakestream.log.ManifestLog")
    store = ObjectStores.open(uri, False)
    try:
        st = ManifestLog.open(store).refresh()
        cps = [(int(c.step()), str(c.id())) for c in st.checkpoints()]
        assert cps == [(2, "ckpt-a"), (3, "step-3")]
        assert int(st.committedSteps()) == 3
    finally:
        store.close()


def test_flow_control_settings_hold_a_producer_until_a_checkpoint(jvm, uri):
    """max_lag_steps (a stream setting) makes append wait until the trainer records a checkpoint."""
    import json
    import threading
    import time
    p = lakestream.Producer(uri, "p", 1, max_lag_steps=2, keep_checkpoints=3)
    try:
        cfg = json.load(open(uri[len("file://"):] + "/_lakestream.json"))
        assert (cfg["max_lag_steps"], cfg["keep_checkpoints"]) == (2, 3)
        for s in range(2):
            p.append([{"x": np.full((1, 2), s)}], cursor=str(s + 1))
        p.commit()
        third = threading.Thread(target=lambda: p.append([{"x": np.full((1, 2), 2)}], cursor="3"))
        third.start()
        deadline = time.monotonic() + 60
        while p._p.waitingReason() is None and third.is_alive():
            assert time.monotonic() < deadline, "the third append never waited for flow control"
            time.sleep(0.01)
        assert third.is_alive() and "flow control" in str(p._p.waitingReason())
        lakestream.record_checkpoint(uri, 2)  # the trainer consumed steps 0 and 1 and checkpointed
        third.join(60)
        assert not third.is_alive()
        p.commit()
        assert p.committed_seq == 3
    finally:
        p.close()


def test_record_checkpoint_holds_its_log_and_sees_every_change_to_the_stream(jvm, tmp_path):
    """The log record_checkpoint holds between calls reads what was committed since (a step beyond
    what it held before is accepted), a refused call leaves it usable, and a stream deleted and
    created again at the same URI is not mistaken for the old one."""
    import shutil
    uri = "file://" + str(tmp_path / "s")
    with lakestream.Producer(uri, "p", 1) as p:
        for s in range(2):
            p.append([{"x": np.full((1, 2), s)}], cursor=str(s + 1))
        p.commit()
        lakestream.record_checkpoint(uri, 1)
        with pytest.raises(lakestream.CheckpointError, match="only 2 steps are committed"):
            lakestream.record_checkpoint(uri, 3)
        for s in range(2, 5):
            p.append([{"x": np.full((1, 2), s)}], cursor=str(s + 1))
        p.commit()
        lakestream.record_checkpoint(uri, 4)  # committed after the log was opened
    assert lakestream.consumers(uri) == {"default": [1, 4]}
    shutil.rmtree(str(tmp_path / "s"))
    write_stream(uri, world_size=1, steps=3)
    with pytest.raises(lakestream.CheckpointError, match="only 3 steps are committed"):
        lakestream.record_checkpoint(uri, 4)  # the old log held 5 steps
    lakestream.record_checkpoint(uri, 2)
    assert lakestream.consumers(uri) == {"default": [2]}


def _store_requests():
    """This process's store requests so far, by operation (the JVM's global counters)."""
    from lakestream.metrics import metrics
    prefix = 'lakestream_store_requests_total{op="'
    return {k[len(prefix):-2]: v for k, v in metrics().items() if k.startswith(prefix)}


def test_a_checkpoint_without_a_reader_stats_the_config_instead_of_reading_it(jvm, uri):
    """Without a Reader of the stream, a checkpoint after the first goes through the held handle's
    log: one stat of the config (a stream created again at the URI changes it, see above) instead
    of a GET and parse of it each call, then the commit, which refreshes the log once: no second
    GET of the absent next version before it. The counters are the process's: nothing else of this
    process uses a store meanwhile."""
    write_stream(uri, world_size=1, steps=4)
    lakestream.record_checkpoint(uri, 1)  # opens the handle and its log
    for step in (2, 3):
        before = _store_requests()
        lakestream.record_checkpoint(uri, step)
        after = _store_requests()
        made = {op: after[op] - before.get(op, 0) for op in after if after[op] != before.get(op, 0)}
        # get: the absent next version, read once, by the commit (no refresh before it)
        assert made == {"stat": 1, "get": 1, "put_if_absent": 1}, made
    assert lakestream.consumers(uri) == {"default": [2, 3]}  # the newest keep_checkpoints (2)


def test_record_checkpoint_goes_through_the_handle_of_an_open_reader(jvm, uri):
    """A trainer's checkpoints go through the handle its Reader holds (whose follower already read
    the versions since the last checkpoint), with the same checks as without a reader; once the
    reader is closed they go through the log this module holds."""
    import os
    from lakestream import checkpoint, reader
    write_stream(uri, world_size=1, steps=3)
    with lakestream.Reader(uri, 0, 1) as r:
        assert [r.next(10).step for _ in range(3)] == [0, 1, 2]
        handle = reader._streams[(os.getpid(), uri)][0]
        with pytest.raises(lakestream.CheckpointError, match="only 3 steps are committed"):
            lakestream.record_checkpoint(uri, 4)
        lakestream.record_checkpoint(uri, 2)
        held = handle.checkpointLog()
        lakestream.record_checkpoint(uri, 3)
        assert handle.checkpointLog() == held, "the handle holds its checkpoint log between calls"
        assert uri not in checkpoint._held_logs.logs, "no second log was opened beside the reader's handle"
        assert reader._streams[(os.getpid(), uri)][1] == 1, "the checkpoint gave the handle back"
    lakestream.record_checkpoint(uri, 3)  # no reader open: through the module's own log
    assert uri in checkpoint._held_logs.logs
    assert lakestream.consumers(uri) == {"default": [2, 3]}
