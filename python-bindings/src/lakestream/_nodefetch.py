"""One ranged GET per node per step for :class:`TorchDataset` (docs: README, "One ranged GET per node").

The ranks of a node hold adjacent shards of every step. With a process group and
``LOCAL_RANK``/``LOCAL_WORLD_SIZE`` set (torchrun sets both), the node's local rank 0 fetches the
node's contiguous byte range of each step with one ranged GET into a file under ``/dev/shm``
(``node_fetch_dir``, or ``LAKESTREAM_NODE_DIR``), and every local rank maps it (Java
``NodeFetch``): its tensors are views of that shared memory, its shard CRC32C-checked against its
own manifest entry. A rank whose node copy is missing (the fetching process died, was late, or
its copy does not match) reads its shard itself with its own ranged GET; never wrong bytes.
"""
from __future__ import annotations

import collections
import os

from ._errors import InvalidArgumentError
from ._dist import initialized as _dist

MODES = ("auto", "off")
DEFAULT_DIR = "/dev/shm"

Node = collections.namedtuple("Node", "local_rank local_world_size dir job_key wait_s fallback")




def choose(mode, rank, world_size, workers, elastic, node_dir=None, wait_s=30.0):
    """This rank's place on its node for node fetch, or None (the rank reads its own shard)."""
    if mode not in MODES:
        raise InvalidArgumentError("lakestream: node_fetch must be one of %s, got %r" % (", ".join(MODES), mode))
    if mode == "off" or workers > 1 or elastic:
        return None  # workers read strides of steps; an elastic rank's range is not a node's shard run
    dist = _dist()
    if dist is None or (rank, world_size) != (dist.get_rank(), dist.get_world_size()):
        return None
    try:
        local, local_ws = int(os.environ["LOCAL_RANK"]), int(os.environ["LOCAL_WORLD_SIZE"])
    except (KeyError, ValueError):
        return None
    if local_ws < 2 or not 0 <= local < local_ws or rank < local:
        return None
    d = node_dir or os.environ.get("LAKESTREAM_NODE_DIR") or DEFAULT_DIR
    if not os.path.isdir(d):
        return None
    # the ranks of one job agree on it; another job on the node reading the same stream does not
    key = "%s|%s:%s" % (os.environ.get("TORCHELASTIC_RUN_ID", ""), os.environ.get("MASTER_ADDR", ""),
                        os.environ.get("MASTER_PORT", ""))
    # half the step timeout: a late fetcher makes this rank read itself before its own next() times out
    return Node(local, local_ws, d, key, max(1.0, float(wait_s) / 2), True)
