"""Zero-copy views of Java pool memory as NumPy arrays and torch tensors.

Lifetime rule: a delivered step (a Java ``StepBatch``) holds one pool slab. Every array or
tensor built on it keeps a small owner object alive through its base chain
(torch tensor -> NumPy array -> ctypes buffer -> owner); when the last of them is garbage,
the owner's finalizer closes the Java batch and the slab goes back to the reader's pool for a
later step. So: keep a tensor as long as you like, but each step you keep pins one slab, and
the pool has ``2 * prefetch + 2`` slabs: keeping more steps alive than that stalls the reader
(``.clone()`` what you want to keep for long).
"""
from __future__ import annotations

import ctypes

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
    """Owns one Java StepBatch; closes it when garbage (i.e. when no view of its memory is left)."""

    __slots__ = ("_jbatch", "__weakref__")

    def __init__(self, jbatch):
        self._jbatch = jbatch

    def __del__(self):
        b = self._jbatch
        self._jbatch = None
        if b is None:
            return
        try:
            import jpype
            from . import _jvm
            if jpype.isJVMStarted() and _jvm.owns_jvm():
                b.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer (e.g. at interpreter exit)
            pass


def view(owner: BatchOwner, address: int, nbytes: int, dtype_name: str, shape) -> np.ndarray:
    """A NumPy array on ``nbytes`` of native memory at ``address``, keeping ``owner`` alive."""
    dt = NUMPY_DTYPES.get(dtype_name)
    if dt is None:
        raise TypeError("lakestream: unsupported dtype %s" % dtype_name)
    shape = tuple(int(d) for d in shape)
    if nbytes == 0:
        return np.empty(shape, dtype=dt)
    buf = (ctypes.c_char * nbytes).from_address(address)
    buf._lakestream_owner = owner  # the base chain ends here: owner lives as long as any view
    return np.frombuffer(buf, dtype=dt).reshape(shape)


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
    try:
        import torch
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            if t.dtype == torch.bfloat16:
                return "BF16", t.view(torch.int16).numpy().view(np.uint16)
            if getattr(torch, "uint16", None) is not None and t.dtype == torch.uint16:
                return "U16", t.view(torch.int16).numpy().view(np.uint16)
            value = t.numpy()
    except ImportError:
        pass
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
