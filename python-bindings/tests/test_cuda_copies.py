"""Asynchronous CUDA copies from pool memory: a slab is not lent again while a copy from it may be queued.

PyTorch records no CUDA event for memory it did not allocate, so once a step's tensors are
garbage its slab could be refilled with a later step while a ``.cuda(non_blocking=True)`` copy
from it still waits in a stream. In CUDA pin mode a step is released after CUDA events on the
streams recorded with ``lakestream.record_stream`` (and torch's current stream).

The first test (the Python side of the bookkeeping) runs everywhere; the others need a CUDA
device the native shim can use (pin mode CUDA) and are skipped elsewhere. On a GPU machine run
this file on its own:

    /usr/bin/python3 -m pytest -q -rs python-bindings/tests/test_cuda_copies.py
"""
import gc

import numpy as np
import pytest
import torch

import lakestream
from lakestream import _tensors
from conftest import write_stream

SLAB = 4 << 20  # bytes of the "fill" tensor of each step


def _write_fill_steps(uri, steps):
    """Step s carries a uint8 tensor of SLAB bytes, every byte s + 1."""
    with lakestream.Producer(uri, "fill", 1) as p:
        for s in range(steps):
            p.append([{"fill": np.full((1, SLAB), s + 1, dtype=np.uint8), "record_id": np.array([s])}],
                     cursor=str(s + 1))


def _shims(jvm):
    s = jvm.JClass("io.lakestream.memory.NativeShims").require()
    if not s.cudaAvailable():
        pytest.skip("no CUDA device for the native shim here: %s" % s.modeReason())
    return s


def _segment(jvm, address, nbytes):
    return jvm.JClass("io.lakestream.python.PyBridge").segment(address, nbytes)


def test_record_stream_marks_the_steps_whose_memory_a_tensor_uses(jvm, uri):
    """The lookup behind record_stream (CPU): tensors, views, dicts and Batches find their step."""
    write_stream(uri, world_size=1, steps=3, micro_batch=4, seq_len=16)
    with lakestream.Reader(uri, 0, 1) as r:
        b0, b1 = r.next(10), r.next(10)
        if b0.pin_mode != "CUDA":
            # What CUDA mode does at delivery, done by hand on this machine's MLOCK/NONE steps.
            for o in (b0._owner, b1._owner):
                o.cuda = True
                _tensors._cuda_owners.add(o)
            del o
        t0, t1 = b0.torch(), b1.torch()
        assert lakestream.record_stream(t0["tokens"][2:, 3:], 7) == 1  # a view inside step 0
        assert b0._owner.streams == {7} and not b1._owner.streams
        assert lakestream.record_stream({"a": t0["record_id"], "b": [t1["tokens"]], "step": 3}, 9) == 2
        assert b0._owner.streams == {7, 9} and b1._owner.streams == {9}
        assert b1.record_stream(11) == 1 and b1._owner.streams == {9, 11}
        assert lakestream.record_stream(t0["tokens"].clone(), 5) == 0  # torch's own memory: nothing to do
        with pytest.raises(TypeError, match="torch.cuda.Stream"):
            lakestream.record_stream(t0["tokens"], "stream 1")
        b2 = r.next(10)
        if b2.pin_mode != "CUDA":
            assert lakestream.record_stream(b2.torch()["tokens"], 7) == 0, "MLOCK/NONE steps need no fence"
        b0._owner.streams = None  # streams 7, 9, 11 are not real: never record events on them
        if b1.pin_mode == "CUDA":
            b1._owner.streams = None
        jb = b1.java_batch()
        del b0, b1, t0, t1
        gc.collect()
        # Released through releaseAfter(handle, streams) on a CPU machine: a host slab is freed at once.
        assert jb.lease().isClosed()


def _queue_delayed_copy(jvm, shims, batch, micros):
    """Queues a copy of the step's fill tensor to the device behind a host sleep of ``micros``."""
    arr = batch.arrays["fill"]
    stream = int(shims.cudaStreamCreate())
    dev = int(shims.cudaMalloc(arr.nbytes))
    shims.cudaStreamSleep(stream, micros)
    shims.copyToDeviceAsync(dev, _segment(jvm, arr.ctypes.data, arr.nbytes), stream)
    return stream, dev, arr.nbytes


def _device_bytes(jvm, shims, stream, dev, nbytes):
    shims.cudaStreamSynchronize(stream)
    back = np.empty(nbytes, dtype=np.uint8)
    shims.copyToHost(_segment(jvm, back.ctypes.data, nbytes), dev)
    shims.cudaFree(dev)
    shims.cudaStreamDestroy(stream)
    return back


def _refill_every_slab(reader, steps):
    for _ in range(steps):
        b = reader.next(30)
        del b
        gc.collect()


def test_a_slab_is_not_refilled_while_a_copy_from_it_is_queued(jvm, uri):
    shims = _shims(jvm)
    _write_fill_steps(uri, 10)
    with lakestream.Reader(uri, 0, 1, prefetch=1) as r:  # 4 slabs
        b = r.next(30)
        assert b.pin_mode == "CUDA", b.pin_mode
        stream, dev, n = _queue_delayed_copy(jvm, shims, b, 500_000)
        assert b.record_stream(stream) == 1
        del b
        gc.collect()  # the step is garbage: released with a CUDA event on `stream`
        _refill_every_slab(r, 8)  # more steps than slabs: step 0's slab would be refilled at once
        got = _device_bytes(jvm, shims, stream, dev, n)
    assert (got == 1).all(), "the queued copy read bytes of step %d, not step 0" % (int(got[got != 1][0]) - 1)


def test_without_the_fence_the_copy_reads_a_later_step(jvm, uri):
    """The hazard the fence prevents, shown on this GPU: a plain release lets the slab be refilled."""
    shims = _shims(jvm)
    _write_fill_steps(uri, 10)
    with lakestream.Reader(uri, 0, 1, prefetch=1) as r:
        b = r.next(30)
        stream, dev, n = _queue_delayed_copy(jvm, shims, b, 500_000)
        b._owner.cuda = False  # release the old way: no event, no wait
        del b
        gc.collect()
        _refill_every_slab(r, 8)
        got = _device_bytes(jvm, shims, stream, dev, n)
    assert not (got == 1).all(), "slab not refilled within 0.5 s: this control proves nothing here"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA build of torch with a device")
def test_torch_non_blocking_copies_on_the_current_and_another_stream(jvm, uri):
    shims = _shims(jvm)
    _write_fill_steps(uri, 20)
    with lakestream.Reader(uri, 0, 1, prefetch=1) as r:
        # On torch's current stream: waited for without any call.
        t = r.next(30).torch()["fill"]
        assert t.is_pinned(), "CUDA-registered pool memory must look pinned to torch"
        assert t.pin_memory().data_ptr() == t.data_ptr(), "pin_memory() of pinned memory must not copy"
        torch.cuda._sleep(int(5e8))
        g_current = t.cuda(non_blocking=True)
        del t
        gc.collect()
        _refill_every_slab(r, 8)
        # On another stream: record_stream says so.
        t = r.next(30).torch()["fill"]
        value = int(t[0, 0])
        side = torch.cuda.Stream()
        with torch.cuda.stream(side):
            torch.cuda._sleep(int(5e8))
            g_side = t.cuda(non_blocking=True)
        assert lakestream.record_stream(t, side) == 1
        del t
        gc.collect()
        _refill_every_slab(r, 8)
        torch.cuda.synchronize()
    assert bool((g_current == 1).all()), "copy on the current stream read a refilled slab"
    assert bool((g_side == value).all()), "copy on a recorded side stream read a refilled slab"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA build of torch with a device")
def test_pool_memory_is_pinned_for_torch_and_copies_asynchronously(jvm, uri):
    write_stream(uri, world_size=1, steps=1, micro_batch=4, seq_len=1024)
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        t = b.torch()["tokens"]
        registered_here = b.pin_mode != "CUDA"
        if registered_here:  # the shim found no CUDA runtime of its own: register the slab as it would
            cudart = torch.cuda.cudart()
            assert not t.is_pinned()
            assert int(cudart.cudaHostRegister(b.address, b.bytes_delivered, 0)) == 0
        try:
            assert t.is_pinned()
            g = t.cuda(non_blocking=True)
            torch.cuda.synchronize()
            assert torch.equal(g.cpu(), t)
        finally:
            if registered_here:
                cudart.cudaHostUnregister(b.address)
