"""One log follower per job for :class:`TorchDataset` (docs: README, "One log follower per job").

When ``torch.distributed`` is initialised, one rank (global rank 0, or each node's first rank)
follows the stream's log; every step it broadcasts a message with the entries of the steps
committed since its last one over a dedicated **gloo** process group (the trainer's own NCCL
group is untouched), and the other ranks feed it to their reader (a Java ``HandoffFeed``), which
validates each entry as a log entry and still checks every shard's CRC32C. Every rank calls the
same two broadcasts once per step, in the same order, so they stay in lock step with the
trainer's own collectives. Without a process group each rank follows the log on its own.
"""
from __future__ import annotations

import datetime
import os
import struct

from . import _jvm
from ._errors import LakestreamError, StepTimeoutError, java_errors
from ._dist import initialized as _dist
from .reader import Reader

_HEADER = struct.Struct(">iBqqi")  # magic, version, first step, end step, entries (Java JobFeed.encode)
MODES = ("auto", "job", "node", "off")
_groups = {}  # (mode, world size, ranks per node, timeout) -> (group, leader rank): made once per process


class LeaderFailedError(LakestreamError):
    """The rank that follows the log for this rank's group reported a failure instead of the next step."""




def choose(mode, rank, world_size, workers):
    """The job follower's mode for this iteration, or None (every rank follows the log itself)."""
    if mode not in MODES:
        raise ValueError("lakestream: job_follower must be one of %s, got %r" % (", ".join(MODES), mode))
    if mode == "off" or workers > 1:
        return None  # DataLoader workers each read a stride of steps: they follow on their own
    dist = _dist()
    if dist is None or dist.get_world_size() < 2:
        return None
    if (rank, world_size) != (dist.get_rank(), dist.get_world_size()):
        return None  # this dataset reads as another rank than the process group's: no shared plan
    if mode == "auto":
        return "job"
    return mode


def _group(mode, timeout_s):
    """(gloo group of this rank's leader and members, leader's global rank); created by every rank alike."""
    dist = _dist()
    ws = dist.get_world_size()
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", ws)) if mode == "node" else ws
    per_node = max(1, min(per_node, ws))
    timeout = datetime.timedelta(seconds=max(30.0, 2 * timeout_s))
    key = (mode, ws, per_node, timeout)
    if key not in _groups:
        mine = None
        for first in range(0, ws, per_node):
            ranks = list(range(first, min(ws, first + per_node)))
            g = dist.new_group(ranks, backend="gloo", timeout=timeout)  # collective: every rank makes every group
            if dist.get_rank() in ranks:
                mine = (g, first)
        _groups[key] = mine
    return _groups[key]


class JobFollower:
    """This rank's end of the job follower: the leader (follows the log) or a member (fed by it)."""

    def __init__(self, mode, uri, rank, world_size, start_step, prefetch, elastic, timeout_s, node=None):
        import torch
        self._torch = torch
        self._dist = _dist()
        self.group, self.leader_rank = _group(mode, timeout_s)
        self.is_leader = self._dist.get_rank() == self.leader_rank
        self.window = max(2, prefetch + 1)
        self.timeout_ms = int(timeout_s * 1000)
        self.sent = start_step  # the next step whose entry the leader hands over
        self.end_step = -1
        self._leader = None
        self.reader = Reader(uri, rank, world_size, start_step, prefetch, elastic=elastic, fed=not self.is_leader,
                             node=node)
        if self.is_leader:
            try:
                RO = _jvm.jclass("io.lakestream.reader.ReaderOptions")
                with java_errors("stream '%s': cannot lead the job's log follower" % uri):
                    # from the leader's reader's handle: shares its follower, no extra log reads
                    self._leader = self.reader._stream.jobLeader(int(start_step), RO.defaults())
            except BaseException:
                self.reader.close()
                raise

    def before_next(self, step):
        """One exchange round before this rank reads ``step``. Returns False when no step was
        committed within the timeout (the caller's iteration treats it as its own timeout)."""
        torch, dist = self._torch, self._dist
        if self.is_leader:
            wait = self.timeout_ms if self.sent <= step and self.end_step < 0 else 0
            msg = bytes(self._leader.next(self.window, wait))
            size = torch.tensor([len(msg)], dtype=torch.int64)
        else:
            size = torch.zeros(1, dtype=torch.int64)
        dist.broadcast(size, src=self.leader_rank, group=self.group)
        if self.is_leader:
            payload = torch.frombuffer(bytearray(msg), dtype=torch.uint8)
        else:
            payload = torch.empty(int(size.item()), dtype=torch.uint8)
        dist.broadcast(payload, src=self.leader_rank, group=self.group)
        if not self.is_leader:
            msg = payload.numpy().tobytes()
            import jpype
            JB = jpype.JArray(jpype.JByte)
            with java_errors("stream '%s': hand-over from rank %d" % (self.reader.uri, self.leader_rank)):
                self.reader.feed.accept(JB(msg))
        magic, _v, first, end, count = _HEADER.unpack_from(msg)
        err = None
        if len(msg) >= _HEADER.size + 4:
            # the error text follows the entries: only the leader's failure sets it
            at = _HEADER.size
            for _ in range(count):
                (n,) = struct.unpack_from(">i", msg, at)
                at += 4 + n
            (elen,) = struct.unpack_from(">i", msg, at)
            if elen >= 0:
                err = msg[at + 4:at + 4 + elen].decode("utf-8", "replace")
        if err is not None:
            raise LeaderFailedError("lakestream: stream '%s': rank %d, which follows the log for this rank, failed: %s"
                                    % (self.reader.uri, self.leader_rank, err))
        self.sent = first + count
        if end >= 0:
            self.end_step = end
        return not (self.sent <= step and self.end_step < 0)

    def close(self):
        if self._leader is not None:
            self._leader.close()
            self._leader = None
        self.reader.close()


def timeout_error(uri, step, timeout_s):
    return StepTimeoutError("lakestream: stream '%s': step %d was not committed within %.1f s (seen by the job's log "
                            "follower)" % (uri, step, timeout_s), committed=False)
