"""``lakestream.produce``: a PyTorch ``Dataset`` + ``collate_fn`` as an exactly-once producer.

Process layout (one producing host):

* ``num_workers`` worker processes run the user's dataset and ``collate_fn``. They never start a
  JVM (a JVM does not survive ``fork()``): they are forked before this process starts its JVM,
  or started with ``spawn`` when the JVM already runs here. Each collated rank shard (one
  micro-batch) is written once into one of the worker's shared-memory slots (files in
  ``/dev/shm``, a bounded ring of ``prefetch`` slots per worker, reused) and announced over the
  worker's pipe with its layout.
* This process (one JVM) takes the shards in a fixed order, hands their memory to Java by address
  and appends each global batch (``world_size`` shards) through the exactly-once ``TgbProducer``
  with a cursor saying exactly where the run is. Freed slots go back to their worker.

Which samples form which global batch never depends on worker timing (DataLoader's in-order
mode). Map-style: epoch ``e`` permutes the indices as ``DistributedSampler.set_epoch(e)`` does
(``torch.randperm(len, generator seeded with seed + e)``, or ``range(len)`` without shuffle);
global batch ``g`` holds positions ``[g*W*B, (g+1)*W*B)`` of it and rank ``r`` its ``B``
contiguous ones; the last ``len % (W*B)`` positions of an epoch are dropped (DataLoader's
``drop_last``: with ``shuffle`` different samples each epoch). Shard ``k`` of the run (counted
from the cursor) is made by worker ``k % num_workers``. Iterable: worker ``w`` iterates its own
copy with ``get_worker_info()`` set as DataLoader sets it; micro-batches are taken round-robin
from the workers still running (a worker that runs out leaves the rotation), ``world_size``
consecutive ones form a global batch; an incomplete micro-batch or global batch at the end of an
epoch is dropped.

The cursor committed with each global batch is JSON: the arguments that fix the assignment, and
the position after the batch (map-style: epoch and next global batch; iterable: epoch, the
rotation and per worker the number of micro-batches taken this epoch and its ``state_dict()``).
"""
from __future__ import annotations

import glob
import json
import mmap
import os
import signal
import sys
import time
import traceback

import numpy as np

from ._errors import InvalidArgumentError, LakestreamError, java_errors
from ._tensors import as_numpy

CURSOR_FORMAT = "lakestream.produce/1"
SHM_DIR = "/dev/shm"
SHM_PREFIX = "lakestream-produce-"
_ALIGN = 64
# JVM options of a producing host when produce() starts its JVM (LAKESTREAM_JAVA_OPTS overrides):
# the host's Java work per step is small and steady (encode ~16-100 KB, write, commit), so C1 code
# is fast enough while C2's compiler threads cost ~1 ms CPU per step for minutes; the serial GC and
# a small initial heap and code cache keep the host's RSS low. Measured: bench_produce.py.
PRODUCER_JAVA_OPTS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xms16m", "-XX:ReservedCodeCacheSize=32m")
last_run_cpu = {}  # the host thread's CPU seconds per phase in the last (or current) produce() call


class ProduceError(LakestreamError):
    """The dataset or ``collate_fn`` raised in a worker (the cause is chained and quoted).

    ``index``: the sample index (map-style) or the sample's position in the worker's iteration
    of the epoch (iterable), None when ``collate_fn`` failed; ``epoch``, ``step`` (the global batch
    of the epoch, map-style), ``rank``, ``worker``. Global batches before the failing one are
    committed, the failing one and later ones are not: run again (same arguments) once fixed.
    """

    def __init__(self, message, worker=None, index=None, epoch=None, step=None, rank=None):
        super().__init__(message)
        self.worker = worker
        self.index = index
        self.epoch = epoch
        self.step = step
        self.rank = rank


class WorkerDiedError(ProduceError):
    """A worker process died (killed, crashed); everything before the batch it owed is committed."""


# ---------------------------------------------------------------------------------------------
# Assignment of samples to global batches (pure functions; the tests use them as the reference)

def permutation(n: int, epoch: int, shuffle: bool, seed: int):
    """Indices of epoch ``epoch`` in order: DistributedSampler's seeded permutation, or range(n)."""
    if not shuffle:
        return np.arange(n, dtype=np.int64)
    import torch
    g = torch.Generator()
    g.manual_seed(int(seed) + int(epoch))
    return torch.randperm(n, generator=g).numpy()


def global_batches_per_epoch(n: int, world_size: int, micro_batch: int) -> int:
    return n // (world_size * micro_batch)


def map_tasks(n, world_size, micro_batch, epochs, start_epoch, start_batch):
    """(epoch, global batch, rank) of each shard from the cursor on, in commit order."""
    gpe = global_batches_per_epoch(n, world_size, micro_batch)
    for e in range(start_epoch, epochs):
        for g in range(start_batch if e == start_epoch else 0, gpe):
            for r in range(world_size):
                yield e, g, r


def default_collate(samples):
    """Stacks each key of a list of dict samples along a new dimension 0 (DataLoader's default_collate
    for dicts of tensors/arrays/numbers); torch tensors stay tensors, the rest become NumPy arrays."""
    first = samples[0]
    if not isinstance(first, dict):
        raise TypeError("lakestream.produce: a sample must be a dict of name -> tensor/array/number (or pass a "
                        "collate_fn that returns one), got %s" % type(first).__name__)
    out = {}
    for key in first:
        vals = [s[key] for s in samples]
        v0 = vals[0]
        if type(v0).__module__ == "torch" or type(v0).__name__ == "Tensor":
            import torch
            out[key] = torch.stack(vals)
        else:
            out[key] = np.stack([np.asarray(v) for v in vals])
    return out


# ---------------------------------------------------------------------------------------------
# Workers (no JVM here)

class _Fail(Exception):
    def __init__(self, index, where, exc):
        super().__init__(str(exc))
        self.index = index
        self.where = where
        self.exc = exc


def _set_epoch(dataset, e):
    f = getattr(dataset, "set_epoch", None)
    if callable(f):
        f(e)


def _map_items(dataset, collate, plan, worker_id, num_workers):
    """Yields ("ok", k, batch, None) for the shards this worker owes, in order."""
    n, ws, b = plan["n"], plan["world_size"], plan["micro_batch"]
    perm, perm_epoch = None, None
    for k, (e, g, r) in enumerate(map_tasks(n, ws, b, plan["epochs"], plan["epoch"], plan["batch"])):
        if k % num_workers != worker_id:
            continue
        if e != perm_epoch:
            _set_epoch(dataset, e)
            perm, perm_epoch = permutation(n, e, plan["shuffle"], plan["seed"]), e
        start = (g * ws + r) * b
        samples = []
        for i in perm[start:start + b]:
            i = int(i)
            try:
                samples.append(dataset[i])
            except Exception as ex:  # noqa: BLE001 - reported with its index
                raise _Fail(i, (e, g, r), ex) from ex
        try:
            batch = collate(samples)
        except Exception as ex:  # noqa: BLE001
            raise _Fail(None, (e, g, r), ex) from ex
        yield "ok", k, batch, None


def _iter_items(dataset, collate, plan, worker_id, has_state):
    """Yields ("ok", epoch, batch, {"n": taken, "state": ...}) and ("end", epoch, None, None)."""
    b = plan["micro_batch"]
    start = plan["start"].get(str(worker_id))  # {"epoch": e, "n": taken, "state": s} or None
    for e in range(plan["epoch"], plan["epochs"]):
        if start is not None and e < start["epoch"]:
            continue
        _set_epoch(dataset, e)
        taken = 0
        skip = 0
        if start is not None and e == start["epoch"]:
            taken = start["n"]
            if has_state and start.get("state") is not None:
                dataset.load_state_dict(start["state"])
            else:
                skip = taken * b  # re-iterate the epoch and skip what the cursor says is committed
        pos = 0
        it = iter(dataset)
        while True:
            samples = []
            while len(samples) < b:
                try:
                    s = next(it)
                except StopIteration:
                    break
                except Exception as ex:  # noqa: BLE001
                    raise _Fail(pos, (e, None, None), ex) from ex
                pos += 1
                if skip > 0:
                    skip -= 1
                    continue
                samples.append(s)
            if len(samples) < b:
                break  # an incomplete micro-batch at the end of the epoch is dropped
            try:
                batch = collate(samples)
            except Exception as ex:  # noqa: BLE001
                raise _Fail(None, (e, None, None), ex) from ex
            taken += 1
            extra = {"n": taken}
            if has_state:
                extra["state"] = dataset.state_dict()
            yield "ok", e, batch, extra
        yield "end", e, None, None
        start = None


def _items(dataset, collate, plan, worker_id, num_workers):
    if plan["kind"] == "map":
        return _map_items(dataset, collate, plan, worker_id, num_workers)
    return _iter_items(dataset, collate, plan, worker_id, _has_state(dataset))


def _has_state(dataset):
    return callable(getattr(dataset, "state_dict", None)) and callable(getattr(dataset, "load_state_dict", None))


def _die_with_parent(parent_pid):
    """SIGKILL this worker when the host dies (PR_SET_PDEATHSIG), so a killed host leaves no workers."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: the pipe's EOF still ends the worker
        pass
    if os.getppid() != parent_pid:
        os._exit(1)


class _Slot:
    __slots__ = ("path", "gen", "size", "mm", "fd")

    def __init__(self):
        self.path, self.gen, self.size, self.mm, self.fd = None, 0, 0, None, -1


def _layout(batch):
    """[(name, dtype name, shape, offset, nbytes, array)] and the total size of a collated shard."""
    if not isinstance(batch, dict) or not batch:
        raise TypeError("lakestream.produce: collate_fn must return a non-empty dict of name -> tensor/array, got %s"
                        % type(batch).__name__)
    out = []
    off = 0
    for name, value in batch.items():
        dtype_name, a = as_numpy(value, str(name))
        out.append((str(name), dtype_name, tuple(int(d) for d in a.shape), off, int(a.nbytes), a))
        off += (int(a.nbytes) + _ALIGN - 1) // _ALIGN * _ALIGN
    return out, off


def _write_slot(slot, host_pid, worker_id, index, batch):
    """Copies a collated shard into ``slot`` (growing it into a new file if needed): (new file or None, layout)."""
    layout, total = _layout(batch)
    new_path = None
    if total > slot.size:
        if slot.mm is not None:
            slot.mm.close()
            os.close(slot.fd)
        slot.gen += 1
        size = max(4096, (total + total // 4 + 4095) // 4096 * 4096)
        path = os.path.join(SHM_DIR, "%s%d-%d-%d-%d" % (SHM_PREFIX, host_pid, worker_id, index, slot.gen))
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.ftruncate(fd, size)
        slot.path, slot.size, slot.fd = path, size, fd
        slot.mm = mmap.mmap(fd, size)
        new_path = path
    buf = np.frombuffer(slot.mm, dtype=np.uint8)
    for _name, _dt, _shape, off, nbytes, a in layout:
        if nbytes:
            buf[off:off + nbytes] = a.reshape(-1).view(np.uint8)
    del buf
    return new_path, [(n, d, s, o, nb) for n, d, s, o, nb, _a in layout]


class WorkerInfo:
    """What ``lakestream.get_worker_info()`` returns in a ``produce`` worker: the attributes of
    torch's ``WorkerInfo`` (``id``, ``num_workers``, ``seed``, ``dataset``)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):  # noqa: A002 - torch's name
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return "WorkerInfo(id=%d, num_workers=%d, seed=%d)" % (self.id, self.num_workers, self.seed)


_worker_info = None


def get_worker_info():
    """In a ``lakestream.produce`` worker: its ``WorkerInfo`` (``id``, ``num_workers``, ``seed``,
    ``dataset``); elsewhere None. The same as ``torch.utils.data.get_worker_info()`` there, without
    importing torch: a dataset that needs no torch keeps its workers free of it (importing torch
    costs a process about 190 MB of RSS)."""
    return _worker_info


class _AfterImport:
    """Loader of one module that runs ``after`` once the module is executed; then steps aside."""

    def __init__(self, loader, after):
        self.loader, self.after = loader, after

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.after(module)


class _WhenTorchLoads:
    """A meta-path finder that sets a worker's torch state the moment the dataset imports torch."""

    def __init__(self, setup):
        self.setup = setup

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)  # find the real spec with the other finders, once
        import importlib.util
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _AfterImport(spec.loader, self.setup)
        return spec


def _enter_worker(worker_id, num_workers, seed, dataset):
    """What DataLoader does in a worker (one compute thread, torch seeded, ``get_worker_info()``),
    without importing torch here: when the worker already has torch (a torch Dataset, forked from a
    host that imported it) it is set now; else when the dataset first imports torch, if ever."""
    global _worker_info
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)

    def setup(torch):
        torch.set_num_threads(1)
        torch.manual_seed(seed)
        from torch.utils.data._utils import worker as _w
        _w._worker_info = _w.WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)

    if "torch" in sys.modules:
        setup(sys.modules["torch"])
    else:
        sys.meta_path.insert(0, _WhenTorchLoads(setup))


def _worker_main(conn, dataset, collate_fn, plan, worker_id, num_workers, parent_pid, seed):
    """Entry point of a worker process: produce this worker's shards into its slots, in order."""
    _die_with_parent(parent_pid)
    try:
        if plan is None:  # forked before the host read its cursor: the plan comes through the pipe
            plan = conn.recv()
            if plan is None:
                os._exit(0)
        _enter_worker(worker_id, num_workers, seed, dataset)
        collate = collate_fn or default_collate
        prefetch = plan["prefetch"]
        slots = [_Slot() for _ in range(prefetch)]
        in_flight = 0
        produced = 0
        try:
            for kind, key, batch, extra in _items(dataset, collate, plan, worker_id, num_workers):
                if kind == "end":
                    conn.send(("end", key, None, None, None, None))
                    continue
                while in_flight >= prefetch:
                    conn.recv()  # the host freed our oldest slot
                    in_flight -= 1
                i = produced % prefetch
                new_path, layout = _write_slot(slots[i], parent_pid, worker_id, i, batch)
                conn.send(("ok", key, i, new_path, layout, extra))
                in_flight += 1
                produced += 1
            conn.send(("done", None, None, None, None, None))
        except _Fail as f:
            conn.send(_fail_message(f, pickled=True))
        finally:
            for s in slots:
                if s.mm is not None:
                    s.mm.close()
                    os.close(s.fd)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass  # the host is gone or stopping us
    except BaseException as ex:  # noqa: BLE001 - e.g. a collated shard the format cannot take
        try:
            conn.send(_fail_message(_Fail(None, None, ex), pickled=True))
        except Exception:  # noqa: BLE001
            pass
    # os._exit: nothing inherited from the host (atexit hooks, JPype) may run here
    os._exit(0)


def _fail_message(f, pickled):
    tb = "".join(traceback.format_exception(type(f.exc), f.exc, f.exc.__traceback__))
    exc = f.exc
    if pickled:
        try:
            import pickle
            exc = pickle.dumps(f.exc)
        except Exception:  # noqa: BLE001 - an unpicklable exception is quoted only
            exc = None
    return ("err", f.index, f.where, "%s: %s" % (type(f.exc).__name__, f.exc), tb, exc)


# ---------------------------------------------------------------------------------------------
# Host side

def _remove_stale_slots():
    """Removes slot files of hosts that no longer run (a SIGKILLed host cannot unlink its last slots)."""
    for path in glob.glob(os.path.join(SHM_DIR, SHM_PREFIX + "*")):
        try:
            pid = int(os.path.basename(path)[len(SHM_PREFIX):].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            try:
                os.unlink(path)
            except OSError:
                pass
        except (ValueError, PermissionError):
            pass


class _ProcessSource:
    """The host's end of one worker process: its messages in order, its slots mapped here."""

    def __init__(self, ctx, dataset, collate_fn, plan, worker_id, num_workers, seed):
        parent, child = ctx.Pipe(duplex=True)
        self.worker_id = worker_id
        self.conn = parent
        self.proc = ctx.Process(target=_worker_main, name="lakestream-produce-%d" % worker_id, daemon=True,
                                args=(child, dataset, collate_fn, plan, worker_id, num_workers, os.getpid(), seed))
        self.proc.start()
        child.close()
        self.maps = {}  # slot -> (mmap, uint8 array on it)
        self.finished = False  # sent "done" (or "err"): its exit is expected

    def send_plan(self, plan):
        self.conn.send(plan)

    def recv(self, others):
        """The next message of this worker; raises WorkerDiedError if it (or another worker) died."""
        from multiprocessing.connection import wait
        while True:
            if self.conn.poll():
                try:
                    msg = self.conn.recv()
                except (EOFError, OSError):  # ConnectionResetError: the pipe is a socket pair
                    self._died()
                if msg[0] in ("done", "err"):
                    self.finished = True
                return msg
            if self.proc.exitcode is not None:
                self._died()
            # wake up for this worker's message or any worker's exit; a worker that exited cleanly
            # (all its shards sent) is not waited for again, one that was killed ends the run now
            live = [o for o in others if isinstance(o, _ProcessSource) and not o.finished and o.proc.exitcode is None]
            wait([self.conn] + [o.proc.sentinel for o in live])
            for o in live:
                if o is not self and o.proc.exitcode not in (None, 0):
                    o._died()

    def _died(self):
        self.proc.join()
        code = self.proc.exitcode
        how = ("killed by signal %d" % -code) if code is not None and code < 0 else "exited (code %s)" % code
        raise WorkerDiedError("lakestream.produce: worker %d (pid %d) %s before sending all its batches"
                              % (self.worker_id, self.proc.pid, how), worker=self.worker_id)

    def shard(self, msg):
        """[(name, dtype, shape, address, nbytes)] of an "ok" message's shard, in this process's memory."""
        _ok, _key, slot, new_path, layout, _extra = msg
        if new_path is not None:
            old = self.maps.pop(slot, None)
            if old is not None:
                _close_map(old)
            fd = os.open(new_path, os.O_RDONLY)
            try:
                mm = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
            finally:
                os.close(fd)
            os.unlink(new_path)  # mapped on both sides now: nothing is left in /dev/shm if either dies
            self.maps[slot] = (mm, np.frombuffer(mm, dtype=np.uint8))
        base = int(self.maps[slot][1].ctypes.data)
        return [(name, dt, shape, base + off, nbytes) for name, dt, shape, off, nbytes in layout]

    def free(self):
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass

    def stop(self):
        if self.proc.exitcode is None:
            self.proc.kill()
        self.proc.join()
        self.conn.close()
        for m in self.maps.values():
            _close_map(m)
        self.maps.clear()


def _close_map(m):
    mm, arr = m
    del arr
    try:
        mm.close()
    except BufferError:  # a view is still alive somewhere; the mapping goes with the process
        pass


class _LocalSource:
    """num_workers=0: the dataset runs in this process; shards need no shared memory."""

    def __init__(self, dataset, collate_fn, plan):
        self.worker_id = 0
        self.it = _items(dataset, collate_fn or default_collate, plan, 0, 1)
        self.keep = None

    def recv(self, others):
        try:
            kind, key, batch, extra = next(self.it)
        except StopIteration:
            return ("done", None, None, None, None, None)
        except _Fail as f:
            return _fail_message(f, pickled=False)
        if kind == "end":
            return ("end", key, None, None, None, None)
        try:
            layout, _ = _layout(batch)
        except Exception as ex:  # noqa: BLE001
            return _fail_message(_Fail(None, None, ex), pickled=False)
        return ("ok", key, None, None, layout, extra)

    def shard(self, msg):
        self.keep = msg[4]  # the arrays stay alive until the shard is appended (free)
        return [(name, dt, shape, int(a.ctypes.data), nbytes) for name, dt, shape, _off, nbytes, a in msg[4]]

    def free(self):
        self.keep = None

    def stop(self):
        pass


def _fingerprint(kind, dataset, world_size, micro_batch, shuffle, seed, num_workers):
    fp = {"kind": kind, "world_size": int(world_size), "micro_batch": int(micro_batch)}
    if kind == "map":
        fp.update(len=len(dataset), shuffle=bool(shuffle), seed=int(seed))
    else:
        fp.update(num_workers=int(num_workers))  # the sharding over workers fixes the order
    return fp


def _parse_cursor(cursor, fp, producer, uri):
    if cursor is None:
        return None
    try:
        c = json.loads(cursor)
        if not isinstance(c, dict) or c.get("format") != CURSOR_FORMAT:
            raise ValueError
    except ValueError:
        raise InvalidArgumentError("lakestream.produce: producer '%s' on stream '%s' has a committed cursor that "
                                   "lakestream.produce did not write (%.80r); use another producer id"
                                   % (producer, uri, cursor)) from None
    old = c.get("args", {})
    for k in sorted(set(old) | set(fp)):
        if old.get(k) != fp.get(k):
            raise InvalidArgumentError(
                "lakestream.produce: producer '%s' on stream '%s' was run with %s=%r, now %s=%r; the committed cursor "
                "only resumes the same assignment of samples to global batches (run with the same arguments, or use "
                "another producer id)" % (producer, uri, k, old.get(k), k, fp.get(k)))
    return c


class _Host:
    """The appending side: shards in, global batches out, through one ``Producer`` (one JVM)."""

    def __init__(self, p, sources, fp, producer, uri):
        self.p, self.sources, self.fp = p, sources, fp
        self.where = "producer '%s' on stream '%s'" % (producer, uri)
        self.appended = 0
        self.pending = []  # (source, java shard map) of the global batch being assembled
        # this thread's CPU seconds per phase (take: receive a shard's message; handoff: shard
        # memory -> Java tensors; append: encode + queue the write), for bench_produce.py
        self.cpu = {"take": 0.0, "handoff": 0.0, "append": 0.0}
        last_run_cpu.clear()
        last_run_cpu.update(self.cpu)

    def take(self, w):
        """The next message of worker ``w``. A worker's failure commits what is appended (whole global
        batches only) and raises."""
        src = self.sources[w]
        t0 = time.thread_time()
        try:
            msg = src.recv(self.sources)
        except WorkerDiedError as died:
            self._commit_unless_held(died)
            raise
        finally:
            self._count("take", t0)
        if msg[0] != "err":
            return msg
        _kind, index, where, what, tb, exc = msg
        if isinstance(exc, bytes):
            import pickle
            try:
                exc = pickle.loads(exc)
            except Exception:  # noqa: BLE001
                exc = None
        e, g, r = where if where is not None else (None, None, None)
        place = ("sample index %d" % index) if index is not None else "collate_fn"
        if g is not None:
            place += " (epoch %d, global batch %d of the epoch, rank %d)" % (e, g, r)
        elif e is not None:
            place = place.replace("sample index", "sample") + " of its iteration of epoch %d" % e
        err = ProduceError("lakestream.produce: %s: worker %d failed on %s: %s\n%s"
                           % (self.where, w, place, what, tb.rstrip()), worker=w, index=index, epoch=e, step=g,
                           rank=r)
        self.commit()
        if isinstance(exc, BaseException):
            raise err from exc
        raise err

    def add(self, w, msg):
        """Hands one rank shard to Java (one copy out of the slot, into the encoder's input)."""
        t0 = time.thread_time()
        src = self.sources[w]
        p = self.p
        m = p._LinkedHashMap()
        for name, dtype_name, shape, address, nbytes in src.shard(msg):
            m.put(name, p._PyBridge.tensorFromAddress(dtype_name, p._JLongArray(list(shape)), address, int(nbytes)))
        self.pending.append((src, m))
        self._count("handoff", t0)

    def _count(self, phase, t0):
        self.cpu[phase] += time.thread_time() - t0
        last_run_cpu[phase] = self.cpu[phase]

    def append(self, **position):
        jshards = self.p._ArrayList(len(self.pending))
        for _s, m in self.pending:
            jshards.add(m)
        try:
            cursor = json.dumps(dict(format=CURSOR_FORMAT, args=self.fp, **position), separators=(",", ":"),
                                sort_keys=True)
        except TypeError as ex:
            raise InvalidArgumentError("lakestream.produce: the IterableDataset's state_dict() must return "
                                       "JSON-serialisable data (it is stored in the stream's cursor): %s" % ex) from None
        t0 = time.thread_time()
        # waits in slices: Ctrl-C acts while flow control holds it, and a dead worker is noticed
        self.p._append_java(jshards, cursor, between_slices=self._check_workers)
        self._count("append", t0)
        self.appended += 1
        self.drop()

    def _check_workers(self):
        """Between slices of a wait for room: a worker that died meanwhile ends the run now. What
        is appended but held back by flow control is not committed (a commit would wait for the
        same room): the next run produces it again from the committed cursor."""
        for s in self.sources:
            # exit code 0: the worker sent all its shards and left (its "done" is not read yet)
            if isinstance(s, _ProcessSource) and not s.finished and s.proc.exitcode not in (None, 0):
                reason = self.p.waiting_reason  # read once: the committer may clear it any moment
                try:
                    s._died()
                except WorkerDiedError as e:
                    raise self._held_note(e, reason)

    @staticmethod
    def _held_note(e, reason):
        e.args = (e.args[0] + "; it died while flow control held the producer (%s): batches appended since "
                  "the last commit are dropped and produced again by the next run" % (reason or "waiting for room"),)
        return e

    def _commit_unless_held(self, died):
        """A worker died: commit the whole global batches appended so far, unless flow control
        holds them (a commit would wait for a checkpoint that may never come): then say so."""
        def held():
            reason = self.p.waiting_reason
            if reason is not None and reason.startswith("flow control"):
                raise self._held_note(died, reason)
        with java_errors(self.where):
            self.p.commit(between_slices=held)

    def drop(self):
        for s, _m in self.pending:
            s.free()  # the bytes were copied into Java (or dropped): the slot can be written again
        self.pending = []

    def commit(self):
        with java_errors(self.where):
            self.p.commit()


def _map_run(host, plan):
    n, ws, b = plan["n"], plan["world_size"], plan["micro_batch"]
    gpe = global_batches_per_epoch(n, ws, b)
    nw = len(host.sources)
    for k, (e, g, r) in enumerate(map_tasks(n, ws, b, plan["epochs"], plan["epoch"], plan["batch"])):
        w = k % nw
        msg = host.take(w)
        if msg[0] != "ok" or msg[1] != k:
            raise LakestreamError("lakestream.produce: worker %d sent %r where shard %d (epoch %d, global batch %d, "
                                  "rank %d) was due" % (w, msg[:2], k, e, g, r))
        host.add(w, msg)
        if r == ws - 1:
            host.append(epoch=e if g + 1 < gpe else e + 1, batch=g + 1 if g + 1 < gpe else 0)
    host.commit()


def _iter_run(host, plan):
    ws, nw = plan["world_size"], len(host.sources)
    for e in range(plan["epoch"], plan["epochs"]):
        if e == plan["epoch"] and plan["active"] is not None:
            active, ptr, workers = list(plan["active"]), plan["ptr"], dict(plan["start"])
        else:
            active, ptr, workers = list(range(nw)), 0, {}
        while active:
            ptr %= len(active)
            w = active[ptr]
            msg = host.take(w)
            if msg[0] == "end" and msg[1] == e:
                active.pop(ptr)  # the next worker slides into this place in the rotation
                continue
            if msg[0] != "ok" or msg[1] != e:
                raise LakestreamError("lakestream.produce: worker %d sent %r during epoch %d" % (w, msg[:2], e))
            ptr = (ptr + 1) % len(active)
            host.add(w, msg)
            workers[str(w)] = dict(msg[5], epoch=e)
            if len(host.pending) == ws:
                host.append(epoch=e, active=active, ptr=ptr, workers=workers)
        host.drop()  # an incomplete global batch at the end of an epoch is dropped
    host.commit()


def _iter_starts(plan, nw):
    """Where each worker begins: {"w": {"epoch", "n", "state"}} from the cursor (see _iter_items)."""
    starts = {}
    e = plan["epoch"]
    for w in range(nw):
        if plan["active"] is None:
            starts[str(w)] = {"epoch": e, "n": 0}
        elif w not in plan["active"]:
            starts[str(w)] = {"epoch": e + 1, "n": 0}  # it had run out of epoch e
        else:
            s = plan["start"].get(str(w))
            starts[str(w)] = s if s is not None and s.get("epoch") == e else {"epoch": e, "n": 0}
    return starts


def produce(uri, dataset, *, producer, world_size, micro_batch, collate_fn=None, num_workers=0, epochs=1,
            shuffle=False, seed=0, prefetch=2, lz4=False, group=4, max_lag_steps=0, keep_checkpoints=2,
            snapshot_interval=64, multiprocessing_context=None):
    """Produces ``dataset`` into the stream at ``uri`` as producer ``producer``, exactly once; returns the number
    of global batches this call committed.

    ``dataset``: a map-style ``torch.utils.data.Dataset`` (``__len__`` + ``__getitem__``) or an
    ``IterableDataset`` whose samples are dicts of tensors/arrays/numbers; ``collate_fn`` turns a
    list of ``micro_batch`` samples into one rank's dict of tensors (default: stack per key).
    Each global batch holds ``world_size`` rank shards of ``micro_batch`` samples. The dataset
    runs in ``num_workers`` worker processes without a JVM (0: in this process); this process
    encodes and commits. ``epochs`` / ``shuffle`` / ``seed``: DistributedSampler's
    ``set_epoch`` semantics (map-style; a dataset's own ``set_epoch(e)`` is called too, if it
    has one). The last ``len % (world_size * micro_batch)`` samples of an epoch's order are
    dropped (``drop_last``); see the module docs for iterable datasets. ``prefetch``: shared-memory
    slots per worker; ``lz4``, ``group``, ``max_lag_steps``, ``keep_checkpoints``,
    ``snapshot_interval``: as :class:`Producer`.

    Run again with the same arguments and it resumes at the committed cursor (or returns 0
    when everything is committed); a larger ``epochs`` extends the run. Arguments that change
    the assignment of samples (``world_size``, ``micro_batch``, ``shuffle``, ``seed``, the dataset's
    length; ``num_workers`` for iterable datasets) raise :class:`InvalidArgumentError` against an
    existing cursor. Iterable datasets resume from each worker's ``state_dict()`` (JSON-
    serialisable) when they have ``state_dict`` and ``load_state_dict``, else by iterating the
    epoch again and skipping the micro-batches already committed (so they must yield the same
    samples in the same order each time).

    A failing sample raises :class:`ProduceError` naming its index; a dead worker
    :class:`WorkerDiedError`; in both cases the global batches before the failed one are
    committed and none after it. Workers are forked before this process starts its JVM, or
    started with ``spawn`` once it runs (then ``dataset`` and ``collate_fn`` must pickle);
    ``multiprocessing_context`` overrides that choice.
    """
    import multiprocessing

    from .producer import Producer

    world_size, micro_batch, num_workers = int(world_size), int(micro_batch), int(num_workers)
    epochs, prefetch = int(epochs), int(prefetch)
    for name, v, lo in (("world_size", world_size, 1), ("micro_batch", micro_batch, 1), ("num_workers", num_workers, 0),
                        ("epochs", epochs, 0), ("prefetch", prefetch, 1)):
        if v < lo:
            raise InvalidArgumentError("lakestream.produce: %s must be >= %d, got %d" % (name, lo, v))
    if _is_iterable(dataset) or not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
        if not hasattr(dataset, "__iter__"):
            raise TypeError("lakestream.produce: dataset must be a map-style Dataset (__getitem__ and __len__) or an "
                            "IterableDataset, got %s" % type(dataset).__name__)
        kind = "iter"
    else:
        kind = "map"
    fp = _fingerprint(kind, dataset, world_size, micro_batch, shuffle, seed, num_workers)
    if kind == "map" and global_batches_per_epoch(fp["len"], world_size, micro_batch) == 0:
        raise InvalidArgumentError("lakestream.produce: the dataset has %d samples, fewer than one global batch "
                                   "(world_size %d x micro_batch %d)" % (fp["len"], world_size, micro_batch))
    if multiprocessing_context is None:
        multiprocessing_context = "spawn" if _jvm_started() else "fork"
    ctx = multiprocessing.get_context(multiprocessing_context) if isinstance(multiprocessing_context, str) \
        else multiprocessing_context
    forked = ctx.get_start_method() == "fork"
    _remove_stale_slots()
    sources = []
    p = None
    try:
        if num_workers > 0 and forked:
            # Forked before this process starts its JVM: they inherit none of it. Their plan
            # needs the committed cursor (which needs the JVM): it comes through their pipes.
            sources = [_ProcessSource(ctx, dataset, collate_fn, None, w, num_workers, int(seed) + w)
                       for w in range(num_workers)]
        from . import _jvm
        _jvm.ensure_jvm(PRODUCER_JAVA_OPTS)
        p = Producer(uri, producer, world_size, lz4=lz4, group=group, max_lag_steps=max_lag_steps,
                     keep_checkpoints=keep_checkpoints, snapshot_interval=snapshot_interval)
        cur = _parse_cursor(p.committed_cursor, fp, producer, uri)
        plan = dict(fp, epochs=epochs, prefetch=prefetch, epoch=0, batch=0, start={}, active=None, ptr=0,
                    shuffle=bool(shuffle), seed=int(seed), n=fp.get("len"))
        if cur is not None:
            plan.update(epoch=cur["epoch"], batch=cur.get("batch", 0), start=cur.get("workers", {}),
                        active=cur.get("active"), ptr=cur.get("ptr", 0))
        if plan["epoch"] >= epochs:
            for s in sources:
                s.send_plan(None)
            return 0
        worker_plan = dict(plan, start=_iter_starts(plan, max(num_workers, 1))) if kind == "iter" else plan
        if num_workers == 0:
            sources = [_LocalSource(dataset, collate_fn, worker_plan)]
        elif forked:
            for s in sources:
                s.send_plan(worker_plan)
        else:
            sources = [_ProcessSource(ctx, dataset, collate_fn, worker_plan, w, num_workers, int(seed) + w)
                       for w in range(num_workers)]
        host = _Host(p, sources, fp, producer, uri)
        (_map_run if kind == "map" else _iter_run)(host, plan)
        return host.appended
    except BaseException:
        if p is not None:
            p.close()  # drops batches appended but not committed: nothing half-done becomes visible
            p = None
        raise
    finally:
        for s in sources:
            s.stop()
        if p is not None:
            p.close()


def _jvm_started():
    try:
        import jpype
        return jpype.isJVMStarted()
    except ImportError:
        return False


def _is_iterable(dataset):
    # a torch IterableDataset means torch is imported already: do not import it into the host here
    # (an idle torch costs the JVM host ~100 MB RSS)
    data = sys.modules.get("torch.utils.data")
    return data is not None and isinstance(dataset, data.IterableDataset)
