"""Lakestream for Python: a PyTorch IterableDataset and a producer API over the Java library.

The Java library runs in this process (JPype); tensors reach Python without a copy. See the
"Python (PyTorch)" section of the repository README.

    import lakestream
    with lakestream.Producer("file:///tmp/s", "tokenizer-0", world_size=2) as p:
        p.append([{"tokens": t0, "record_id": ids0}, {"tokens": t1, "record_id": ids1}], cursor="42")
    ds = lakestream.TorchDataset("file:///tmp/s", rank=0, world_size=2)
    for batch in torch.utils.data.DataLoader(ds, batch_size=None):
        ...
"""
from ._errors import (BelowFloorError, CheckpointError, CommitTimeoutError, CommitUnknownError, DataError, EndOfStreamError,
                      FencedError, InvalidArgumentError, LakestreamError, PoolExhaustedError, StepTimeoutError, StoreError,
                      StreamClosedError, StreamIdleError, StreamNotFoundError, StreamURIError, WorldSizeMismatchError)
from ._jvm import JvmError, ensure_jvm
from .checkpoint import close_stream, consumers, record_checkpoint, register_consumer, remove_consumer, run_gc
from .control import control, set_control
from .lineage import StepReclaimedError, blame, find
from .producer import Producer
from ._produce import ProduceError, WorkerDiedError, WorkerInfo, get_worker_info, produce
from .reader import Batch, Reader
from ._tensors import record_stream
from ._jobfeed import LeaderFailedError

__version__ = "0.1.0"

__all__ = ["TorchDataset", "Producer", "Reader", "Batch", "record_checkpoint", "record_stream", "close_stream", "ensure_jvm",
           "LakestreamError", "FencedError", "StreamURIError", "StreamNotFoundError", "WorldSizeMismatchError",
           "StepTimeoutError", "StreamIdleError", "PoolExhaustedError", "EndOfStreamError", "StreamClosedError", "DataError",
           "CheckpointError", "InvalidArgumentError", "JvmError", "blame", "find", "StepReclaimedError", "control",
           "set_control", "LeaderFailedError", "BelowFloorError", "register_consumer", "remove_consumer", "consumers",
           "produce", "get_worker_info", "WorkerInfo", "ProduceError", "WorkerDiedError", "StoreError", "CommitUnknownError", "CommitTimeoutError", "run_gc"]


def __getattr__(name):
    # torch is optional at import time: only the dataset class needs it.
    if name == "TorchDataset":
        from .dataset import TorchDataset
        return TorchDataset
    raise AttributeError("module 'lakestream' has no attribute %r" % name)
