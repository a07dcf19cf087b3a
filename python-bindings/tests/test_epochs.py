"""Epochs and batching, PyTorch-shaped: a stream is read once (a second iteration continues,
and says so at the end), len() where the number of steps is known, a DataLoader that would
stack steps is refused at the first batch, and a pool held by the consumer is reported at once."""
import time

import pytest
from torch.utils.data import DataLoader

import lakestream
from conftest import write_stream


def test_a_second_iteration_continues_and_at_the_end_says_the_stream_is_read_once(jvm, uri):
    write_stream(uri, world_size=1, steps=5)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=3, timeout_s=30)
    assert [b["step"] for b in ds.loader()] == [0, 1, 2]
    ds.steps = None
    lakestream.close_stream(uri)
    assert [b["step"] for b in ds.loader()] == [3, 4], "the next epoch of the loop continues where the last ended"
    with pytest.raises(lakestream.EndOfStreamError, match="read to its end \\(step 5\\).*read once") as ei:
        list(ds.loader())
    assert ei.value.end_step == 5
    assert [b["step"] for b in lakestream.TorchDataset(uri, rank=0, world_size=1)] == [0, 1, 2, 3, 4]


def test_len_where_the_number_of_steps_is_known(jvm, uri):
    write_stream(uri, world_size=1, steps=6)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, steps=4, timeout_s=30)
    assert len(ds) == 4 and len(ds.loader()) == 4
    open_ended = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=0.3, end_on_idle=True)
    with pytest.raises(TypeError, match="pass steps=N"):
        len(open_ended)  # not closed: unknown
    assert [b["step"] for b in open_ended.loader()] == list(range(6)), "list() does without a length"
    lakestream.close_stream(uri)
    closed = lakestream.TorchDataset(uri, rank=0, world_size=1, start_step=2)
    assert len(closed) == 4 and len(closed.loader()) == 4
    assert len([b for b in closed.loader()]) == 4


def test_a_dataloader_that_would_stack_steps_is_refused_at_the_first_batch(jvm, uri):
    write_stream(uri, world_size=1, steps=3)
    lakestream.close_stream(uri)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1)
    with pytest.raises(lakestream.InvalidArgumentError, match="batch_size=None"):
        next(iter(DataLoader(ds)))  # PyTorch's default batch_size=1 would add a dimension
    with pytest.raises(lakestream.InvalidArgumentError, match="no batch_size"):
        ds.loader(batch_size=4)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1)
    b = next(iter(ds.loader(pin_memory=False)))
    assert tuple(b["tokens"].shape) == (4, 8) and b["step"] == 0


def test_a_pool_held_by_the_consumer_is_reported_without_waiting_the_timeout(jvm, uri):
    write_stream(uri, world_size=1, steps=40, micro_batch=1)
    ds = lakestream.TorchDataset(uri, rank=0, world_size=1, timeout_s=120)
    t0 = time.monotonic()
    with pytest.raises(lakestream.PoolExhaustedError, match="batch_size=None") as ei:
        next(iter(DataLoader(ds, batch_size=16)))  # holds 16 steps before collating them
    assert time.monotonic() - t0 < 60, "not the 120 s timeout"
    assert len(ei.value.held_steps) >= 4
