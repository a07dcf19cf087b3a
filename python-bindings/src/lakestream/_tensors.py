"""Zero-copy views of Java pool memory as NumPy arrays and torch tensors.

Lifetime rule: a delivered step (a Java ``StepBatch``) holds one pool slab. Every array or
tensor built on it keeps a small owner object alive through its base chain
(torch tensor -> NumPy array -> ctypes buffer -> owner); when the last of them is garbage,
the owner's finalizer releases the step and the slab goes back to the reader's pool for a
later step (in CUDA pin mode only once the CUDA copies queued from it have run). So: keep a tensor as long as you like, but each step you keep pins one slab, and
the pool has ``2 * prefetch + 2`` slabs: keeping more steps alive than that stalls the reader
(``.clone()`` what you want to keep for long).
"""
from __future__ import annotations

import ctypes
import sys
import weakref

import numpy as np

# Java DType name -> NumPy dtype (little-endian). BF16 has no NumPy type: raw bits as uint16.
NUMPY_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U16": np.dtype("<u2"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

# NumPy dtype -> Java DType name, for producers.
_FROM_NUMPY = {
    ("f", 8): "F64",
    ("f", 4): "F32",
    ("f", 2): "F16",
    ("i", 8): "I64",
    ("i", 4): "I32",
    ("i", 2): "I16",
    ("i", 1): "I8",
    ("u", 2): "U16",
    ("u", 1): "U8",
    ("b", 1): "BOOL",
}


class BatchOwner:
    """Owns one delivered step (a handle of the Java ``PyReader``); releases it when garbage,
    i.e. when no view of its memory is left.

    In CUDA pin mode the release waits (on the Java side, through CUDA events) for every copy
    queued from the step's memory on the streams recorded with :func:`record_stream`, and on
    torch's current CUDA stream at the time of release: a ``.cuda(non_blocking=True)`` copy from
    a CUDA-registered slab runs later, and PyTorch records no event for memory it did not allocate.
    """

    __slots__ = ("_reader", "_handle", "address", "nbytes", "cuda", "streams", "__weakref__")

    def __init__(self, reader, handle: int, address: int, nbytes: int, cuda: bool):
        self._reader = reader
        self._handle = handle
        self.address = address
        self.nbytes = nbytes
        self.cuda = cuda
        self.streams = None  # CUDA stream handles copies from this step may be queued on
        if cuda:
            _cuda_owners.add(self)

    def java_batch(self):
        """The Java ``StepBatch`` (None once released): for diagnostics and tests."""
        return None if self._reader is None else self._reader.batch(self._handle)

    def release(self):
        r, self._reader = self._reader, None
        if r is None:
            return
        import jpype
        from . import _jvm
        if not (jpype.isJVMStarted() and _jvm.owns_jvm()):
            return  # interpreter exit, or a forked child that must not call Java
        streams = set(self.streams or ())
        if self.cuda:
            cur = _current_torch_stream()
            if cur is not None:
                streams.add(cur)
        if streams:
            r.releaseAfter(self._handle, jpype.JArray(jpype.JLong)(sorted(streams)))
        else:
            r.release(self._handle)

    def __del__(self):
        try:
            self.release()
        except Exception:  # noqa: BLE001 - never raise from a finalizer (e.g. at interpreter exit)
            pass


# Owners of CUDA-mode steps still alive (record_stream looks tensors up here by address).
_cuda_owners = weakref.WeakSet()


def _current_torch_stream():
    """torch's current CUDA stream handle if torch has initialised CUDA in this process, else None."""
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_initialized():
            return int(torch.cuda.current_stream().cuda_stream)
    except Exception:  # noqa: BLE001 - a CPU-only or partial torch build
        pass
    return None


def _stream_handle(stream) -> int:
    if stream is None:
        cur = _current_torch_stream()
        if cur is None:
            raise ValueError("lakestream: record_stream(x) without a stream needs torch with CUDA initialised")
        return cur
    if isinstance(stream, int):
        return stream
    handle = getattr(stream, "cuda_stream", None)  # torch.cuda.Stream
    if handle is None:
        raise TypeError("lakestream: stream must be a torch.cuda.Stream or a CUDA stream handle (int), got %s"
                        % type(stream).__name__)
    return int(handle)


def _pointers(obj):
    """Data addresses of the tensors/arrays in ``obj`` (a tensor, array, Batch, dict or sequence)."""
    if isinstance(obj, np.ndarray):
        yield obj.__array_interface__["data"][0]
        return
    ptr = getattr(obj, "data_ptr", None)  # torch.Tensor
    if callable(ptr):
        yield int(ptr())
        return
    arrays = getattr(obj, "arrays", None)  # lakestream Batch
    if isinstance(arrays, dict):
        obj = arrays
    if isinstance(obj, dict):
        obj = obj.values()
    if isinstance(obj, (list, tuple)) or hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes)):
        for x in obj:
            yield from _pointers(x)


def record_stream(obj, stream=None) -> int:
    """Marks the steps whose memory ``obj`` uses as read by copies queued on ``stream``.

    Like ``torch.Tensor.record_stream`` for lakestream's pool memory: when the step's tensors
    are garbage, its pool slab is lent again only after every copy queued on ``stream`` up to
    then has run. Needed in CUDA pin mode when ``.cuda(non_blocking=True)`` copies run on a
    stream other than torch's current one at release time (that one is always waited for).
    ``obj``: a tensor, NumPy array, :class:`Batch`, dict or sequence of them; ``stream``: a
    ``torch.cuda.Stream`` or a raw handle (None: torch's current stream). Tensors not on a
    CUDA-mode step (copies, MLOCK/NONE pools, whose copies CUDA stages synchronously) are
    ignored. Returns how many steps were marked.
    """
    handle = _stream_handle(stream)
    owners = list(_cuda_owners)
    marked = set()
    for p in _pointers(obj):
        for o in owners:
            if o.address <= p < o.address + max(o.nbytes, 1) and id(o) not in marked:
                if o.streams is None:
                    o.streams = set()
                o.streams.add(handle)
                marked.add(id(o))
    return len(marked)


def views(owner: BatchOwner, layout, words, base: int) -> dict:
    """NumPy arrays on a step's tensor bytes, one buffer object for all of them, keeping ``owner`` alive.

    ``layout``: [(name, numpy dtype, shape)] per tensor; ``words``: the descriptor, whose
    words 12 + 2i and 13 + 2i are tensor i's offset from the tensor bytes and its length.
    """
    out = {}
    buf = None
    if owner.nbytes > 0:
        buf = (ctypes.c_char * owner.nbytes).from_address(owner.address)
        buf._lakestream_owner = owner  # the base chain ends here: owner lives as long as any view
    for i, (name, dt, shape) in enumerate(layout):
        nbytes = words[base + 2 * i + 1]
        if nbytes == 0:
            out[name] = np.empty(shape, dtype=dt)
        else:
            out[name] = np.frombuffer(buf, dtype=dt, count=nbytes // dt.itemsize,
                                      offset=words[base + 2 * i]).reshape(shape)
    return out


def to_torch(arr: np.ndarray, dtype_name: str):
    """Zero-copy torch tensor on a view made by :func:`view`.

    BF16 is reinterpreted as ``torch.bfloat16``. U16 (token ids under 65,536) becomes
    ``torch.uint16`` where torch has it (2.3+); older torch (1.13 here) has no unsigned 16-bit
    type, so U16 arrives as a zero-copy ``torch.int16`` view of the same bits: ids >= 32768 read
    negative, and ``t.long() & 0xFFFF`` (or ``t.int() & 0xFFFF``) gives the ids, e.g. for an
    embedding lookup, which needs a widening copy anyway. Widening here instead would copy every
    step and double its bytes, which is what U16 exists to avoid. NumPy arrays stay ``uint16``.
    """
    import torch
    if dtype_name == "BF16":  # raw bits: reinterpret, still no copy
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    if dtype_name == "U16":  # same bits, no copy
        t = torch.from_numpy(arr.view(np.int16))
        return t.view(torch.uint16) if hasattr(torch, "uint16") else t
    return torch.from_numpy(arr)  # shares the array's memory (and keeps the array alive)


def to_java_dtype(a: np.ndarray) -> str:
    dt = a.dtype
    name = _FROM_NUMPY.get((dt.kind, dt.itemsize))
    if name is None:
        raise TypeError("lakestream: dtype %s is not supported (supported: float64, float32, float16, bfloat16 "
                        "(torch), int64, int32, int16, int8, uint16, uint8, bool)" % dt)
    return name


def as_numpy(value, name: str):
    """(Java dtype name, C-contiguous little-endian NumPy array) for a NumPy array or torch tensor."""
    # A tensor exists only where torch is loaded: never import it here (a producer's workers and
    # host stay free of torch's ~190 MB when the pipeline does not use it).
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            return "BF16", t.view(torch.int16).numpy().view(np.uint16)
        if getattr(torch, "uint16", None) is not None and t.dtype == torch.uint16:
            return "U16", t.view(torch.int16).numpy().view(np.uint16)
        value = t.numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError("lakestream: tensor '%s' must be a NumPy array or a torch tensor, got %s"
                        % (name, type(value).__name__))
    if value.ndim == 0:
        raise ValueError("lakestream: tensor '%s' has no dimensions; dimension 0 must be the sample dimension" % name)
    dtype_name = to_java_dtype(value)
    a = np.ascontiguousarray(value)
    if a.dtype.itemsize > 1 and not (a.dtype.byteorder == "<" or (a.dtype.byteorder == "=" and np.little_endian)):
        a = a.astype(a.dtype.newbyteorder("<"))  # the format is little-endian
    return dtype_name, a
