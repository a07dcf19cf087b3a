import os
import gc

import numpy as np
import pytest
import torch

import lakestream
from conftest import write_stream


def _java_batch(batch):
    return batch.java_batch()


def test_tensor_data_ptr_is_the_java_segment_address(jvm, uri):
    write_stream(uri, world_size=1, steps=2, micro_batch=4, seq_len=8)
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        jb = _java_batch(b)
        t = b.torch()
        for name in ("tokens", "record_id"):
            seg = jb.tensor(name).data()
            assert t[name].data_ptr() == int(seg.address())
            assert t[name].numel() * t[name].element_size() == int(seg.byteSize())
        assert b.arrays["tokens"].ctypes.data == int(jb.tensor("tokens").data().address())


def test_mutation_is_seen_on_both_sides(jvm, uri):
    write_stream(uri, world_size=1, steps=1, micro_batch=4, seq_len=8)
    ValueLayout = jvm.JClass("java.lang.foreign.ValueLayout")
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        jt = _java_batch(b).tensor("tokens")
        t = b.torch()["tokens"]
        t[0, 0] = 123456  # Python writes, Java reads
        assert int(jt.toIntArray()[0]) == 123456
        jt.data().set(ValueLayout.JAVA_INT_UNALIGNED, 4, 777)  # Java writes, Python reads
        assert int(t[0, 1]) == 777
        assert int(b.arrays["tokens"][0, 1]) == 777


def test_batch_is_closed_only_when_every_tensor_is_gone(jvm, uri):
    write_stream(uri, world_size=1, steps=1)
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        lease = _java_batch(b).lease()  # the reader's slab; the binding reads unchecked, so no scope dies with it
        kept = b.torch()["record_id"]
        del b
        gc.collect()
        assert not lease.isClosed(), "batch closed while a tensor still uses it"
        assert kept.tolist() == [0, 1, 2, 3]
        view = kept[1:]  # a torch view keeps it alive too
        del kept
        gc.collect()
        assert not lease.isClosed()
        del view
        gc.collect()
        assert lease.isClosed(), "batch not closed after its last tensor died"


def test_every_dtype_round_trips(jvm, uri):
    rng = np.random.default_rng(1)
    n = 3
    shard = {
        "i8": rng.integers(-128, 127, size=(n, 5), dtype=np.int8),  # odd sizes: later tensors unaligned
        "i64": rng.integers(-2**62, 2**62, size=(n,), dtype=np.int64),
        "u8": rng.integers(0, 255, size=(n, 3), dtype=np.uint8),
        "i16": rng.integers(-2**15, 2**15 - 1, size=(n, 1), dtype=np.int16),
        "i32": rng.integers(-2**31, 2**31 - 1, size=(n, 2, 2), dtype=np.int32),
        "f64": rng.standard_normal((n,)),
        "f32": rng.standard_normal((n, 4)).astype(np.float32),
        "f16": rng.standard_normal((n,)).astype(np.float16),
        "bool": rng.integers(0, 2, size=(n, 7)).astype(bool),
        "bf16": torch.randn(n, 3).to(torch.bfloat16),
        "big_endian": np.arange(n, dtype=">i4"),
        "empty": np.zeros((n, 0), dtype=np.float32),
    }
    with lakestream.Producer(uri, "p", 1) as p:
        p.append([shard], cursor="c")
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        t = b.torch()
    for name, want in shard.items():
        got = t[name]
        if isinstance(want, torch.Tensor):
            assert got.dtype == torch.bfloat16
            assert torch.equal(got, want), name
        else:
            assert tuple(got.shape) == want.shape, name
            assert np.array_equal(got.numpy(), want.astype(want.dtype.newbyteorder("="))), name
    assert b.dtypes["bf16"] == "BF16" and b.arrays["bf16"].dtype == np.uint16


def test_u16_tokens_round_trip_without_a_copy(jvm, uri):
    # Token ids of a vocabulary under 65,536, including ids >= 32768 (the sign bit of int16).
    want = np.array([[0, 1, 32767, 32768], [50256, 65535, 12345, 40000]], dtype=np.uint16)
    with lakestream.Producer(uri, "p", 1) as p:
        p.append([{"tokens": want}], cursor="c")
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        assert b.dtypes["tokens"] == "U16"
        arr = b.arrays["tokens"]
        assert arr.dtype == np.uint16 and np.array_equal(arr, want)  # NumPy: exact
        t = b.torch()["tokens"]
        seg = _java_batch(b).tensor("tokens").data()
        assert t.data_ptr() == int(seg.address())  # torch: a view of the pool slab, no copy
        assert t.element_size() == 2
        if hasattr(torch, "uint16"):
            assert t.dtype == torch.uint16
        else:  # torch 1.13: int16 view of the same bits, documented in to_torch
            assert t.dtype == torch.int16
        assert (t.long() & 0xFFFF).tolist() == want.astype(np.int64).tolist()
        assert list(_java_batch(b).tensor("tokens").toIntArray()) == want.ravel().tolist()


def test_unsupported_inputs_are_refused(jvm, uri):
    with lakestream.Producer(uri, "p", 1) as p:
        with pytest.raises(TypeError, match="complex"):
            p.append([{"x": np.zeros(2, dtype=np.complex64)}])
        with pytest.raises(ValueError, match="sample dimension"):
            p.append([{"x": np.array(3)}])
        with pytest.raises(ValueError, match="samples"):
            p.append([{"x": np.zeros(2), "y": np.zeros(3)}])
        with pytest.raises(TypeError, match="NumPy array or a torch tensor"):
            p.append([{"x": [1, 2]}])
        assert p.pending == 0


def test_pin_mode_is_reported(jvm, uri):
    write_stream(uri, world_size=1, steps=1)
    with lakestream.Reader(uri, 0, 1) as r:
        b = r.next(10)
        assert b.pin_mode in ("CUDA", "MLOCK", "NONE")
        if os.geteuid() == 0 and not os.environ.get("LS_SHIMS_DISABLE_MLOCK"):
            # root has CAP_IPC_LOCK: the native shim pins the reader's slabs at least with mlock
            assert b.pin_mode in ("CUDA", "MLOCK"), b.pin_mode
        t = b.torch()["tokens"]
        if b.pin_mode == "CUDA" and torch.cuda.is_available():
            assert t.is_pinned()
