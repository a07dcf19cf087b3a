import time

import pytest
import torch
from torch.utils.data import DataLoader

import lakestream
from conftest import tokens_for, write_stream


def _read_all(uri, rank, world_size, **kw):
    ds = lakestream.TorchDataset(uri, rank=rank, world_size=world_size, timeout_s=kw.pop("timeout_s", 0.5), end_on_idle=True, **kw)
    return ds, [{k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in b.items()}
                for b in DataLoader(ds, batch_size=None)]


def test_every_record_once_across_ranks(jvm, uri):
    ws, steps, mb = 3, 7, 4
    written = write_stream(uri, world_size=ws, steps=steps, micro_batch=mb, seq_len=6)
    seen = []
    for rank in range(ws):
        _, batches = _read_all(uri, rank, ws)
        assert [b["step"] for b in batches] == list(range(steps))
        for b in batches:
            ids = b["record_id"].tolist()
            assert ids == written[b["step"]][rank * mb:(rank + 1) * mb]
            assert torch.equal(b["tokens"], torch.from_numpy(tokens_for(ids, 6)))
            seen.extend(ids)
    assert sorted(seen) == list(range(ws * steps * mb))


def test_resume_from_state_dict_gives_identical_tensors(jvm, uri):
    write_stream(uri, world_size=2, steps=10, micro_batch=3, seq_len=5, lz4=True)
    _, full = _read_all(uri, 1, 2)
    ds = lakestream.TorchDataset(uri, rank=1, world_size=2, timeout_s=0.5, end_on_idle=True)
    it = iter(DataLoader(ds, batch_size=None))
    first = [next(it) for _ in range(4)]
    state = ds.state_dict()
    assert state == {"next_step": 4}
    del it, first
    ds2 = lakestream.TorchDataset(uri, rank=1, world_size=2, timeout_s=0.5, end_on_idle=True)
    ds2.load_state_dict(state)
    rest = list(DataLoader(ds2, batch_size=None))
    assert [b["step"] for b in rest] == list(range(4, 10))
    for b in rest:
        ref = full[b["step"]]
        assert ref.keys() == b.keys()
        for k in ("tokens", "record_id"):
            assert b[k].dtype == ref[k].dtype and bytes(b[k].numpy().tobytes()) == bytes(ref[k].numpy().tobytes())
    assert ds2.state_dict() == {"next_step": 10}


def test_steps_limit_and_start_step(jvm, uri):
    write_stream(uri, world_size=1, steps=5)
    # step 5 never comes: had steps= waited for it, the iteration would raise StreamIdleError (a
    # behaviour, not a wall-clock bound) instead of ending after the third step
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, start_step=2, steps=3, timeout_s=0.5)
    assert [b["step"] for b in ds] == [2, 3, 4]
    assert ds.state_dict() == {"next_step": 5}
    it = iter(ds)  # the next iteration continues at step 5, which was never written
    with pytest.raises(lakestream.StepTimeoutError, match="step 5"):
        next(it)

def test_timeout_ends_iteration_without_steps_and_raises_with_steps(jvm, uri):
    write_stream(uri, world_size=1, steps=2)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=0.3, end_on_idle=True)
    t0 = time.monotonic()
    assert len(list(ds)) == 2
    assert time.monotonic() - t0 < 5
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=3, timeout_s=0.3)
    it = iter(ds)
    next(it), next(it)
    with pytest.raises(lakestream.StepTimeoutError, match="step 2"):
        next(it)


def test_rank_and_world_size_from_env(jvm, uri, monkeypatch):
    write_stream(uri, world_size=2, steps=1, micro_batch=2)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    ds = lakestream.TorchDataset(uri, timeout_s=0.3, end_on_idle=True)
    assert ds.rank_and_world_size() == (1, 2)
    assert [b["record_id"].tolist() for b in ds] == [[2, 3]]
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    assert lakestream.TorchDataset(uri).rank_and_world_size() == (0, 1)
    with pytest.raises(ValueError, match="outside world size"):
        lakestream.TorchDataset(uri, rank=2, world_size=2).rank_and_world_size()


def test_reader_follows_a_live_producer(jvm, uri):
    write_stream(uri, world_size=1, steps=1)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=5)
    it = iter(ds)
    assert next(it)["step"] == 0
    write_stream(uri, world_size=1, steps=1, producer="late", first_record=100)
    b = next(it)
    assert b["step"] == 1 and b["record_id"].tolist() == [100, 101, 102, 103]


def test_holding_too_many_steps_raises_instead_of_ending_early(jvm, uri):
    write_stream(uri, world_size=1, steps=8, micro_batch=1)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=1.0, prefetch=1)  # pool of 4 slabs
    held = []
    t0 = time.monotonic()
    with pytest.raises(lakestream.PoolExhaustedError, match="committed but could not be fetched") as ei:
        for b in ds:
            held.append(b)  # never released: every step keeps its slab
    assert ei.value.committed and isinstance(ei.value, lakestream.StepTimeoutError)
    assert ei.value.held_steps == [b["step"] for b in held]
    assert "drop every tensor of the step" in str(ei.value)
    assert 3 <= len(held) <= 5
    held.clear()
    assert time.monotonic() - t0 < 30


def test_a_closed_stream_ends_iteration_at_once_and_refuses_more_batches(jvm, uri):
    write_stream(uri, world_size=1, steps=3)
    assert lakestream.close_stream(uri) == 3
    assert lakestream.close_stream(uri) == 3  # idempotent
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=600)  # only the end can stop it early
    t0 = time.monotonic()
    assert [b["step"] for b in ds] == [0, 1, 2]
    with pytest.raises(lakestream.EndOfStreamError, match="read once"):  # resumes at the end: says so, at once
        next(iter(ds))
    assert time.monotonic() - t0 < 60
    with lakestream.Reader(uri, 0, 1, start_step=3) as r:
        with pytest.raises(lakestream.EndOfStreamError, match="ended at step 3") as ei:
            r.next(600)
        assert ei.value.end_step == 3
    with pytest.raises(lakestream.StreamClosedError, match="is closed: it ended at step 3"):
        with lakestream.Producer(uri, "late", 1):
            pass
