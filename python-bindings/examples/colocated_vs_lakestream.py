#!/usr/bin/env python3
"""Colocated DataLoader workers vs Lakestream producers: the same CPU-heavy preprocessing, the same
trainer, side by side; then failure isolation both ways.

The preprocessing is a text pipeline real LLM training runs: read raw documents (the copyright
and licence texts every Debian system ships under /usr/share/doc and /usr/share/common-licenses;
generated text if they are missing), Unicode NFKC normalisation, line-level boilerplate
filtering, GPT-2-style byte-level BPE tokenisation (the original algorithm, pure Python, merges
learned from the corpus at start-up), a CCNet-style quality filter (a document is kept only if its
per-token perplexity under a unigram model of the corpus is in the lowest third, CCNet's "head":
two thirds of the tokenised text is thrown away, as such filters do), and packing into fixed-length sequences
with an end-of-document token between documents. The trainer is a small next-token model (embedding +
MLP) with a fixed amount of compute per step, one thread.

Setups, each in a fresh trainer process, under two CPU budgets:
* colocated, num_workers 0, 1, 2 (``--workers``): the pipeline runs in ``torch.utils.data.DataLoader``
  workers (or in the trainer itself for 0), on the trainer node's CPUs: budget (a) *trainer node
  fixed*, the paper's setting;
* colocated on every CPU, num_workers ``--workers-all`` (default 1 2 3): the DataLoader gets the
  trainer node's and the producer node's CPUs together, all that Lakestream's trainer and
  producers use: budget (b) *equal CPUs*;
* lakestream: one ``lakestream.produce`` host on the producer node's CPUs runs the same pipeline
  (an IterableDataset with ``state_dict``) in ``--producers`` worker processes and commits to a
  file:// stream; the trainer reads it with ``lakestream.Reader`` and records a checkpoint every
  ``--checkpoint-every`` steps (as it would after each durable checkpoint; the benchmark skips
  writing the model), so the stream's flow control keeps producers at most ``--max-lag`` steps
  ahead. Warm-up lasts at least ``--warmup`` steps and until the start-up backlog is drained: the
  first step at which at most one step is committed ahead of the trainer (or, if the producers
  stay ahead for ``--max-warmup`` more steps, they are faster than training and the run is
  trainer-bound); the backlog at the start of measuring is reported.
Placement: the trainer node is ``--trainer-cpus`` (default: the first half of this machine's
CPUs), the producer node ``--producer-cpus`` (the rest); processes are pinned with
sched_setaffinity. On one machine the two "nodes" are cores of the same box, standing in for a
GPU node whose CPUs are scarce and separate preprocessing machines.

Measured per setup, after the warm-up, over ``--steps`` steps: steps/s, data-stall share
(time the trainer waited for the next batch / wall time), trainer-process CPU (cores) and peak
RSS, and the CPU and RSS of colocated workers or of producers.

Failure isolation: SIGKILL one DataLoader worker mid-run (PyTorch fails the whole training loop);
SIGKILL the Lakestream producer host mid-run (its workers die with it) and restart it
``--restart-after`` seconds later, as a supervisor would: training goes on; the longest stall is reported and every trained record is
checked against a re-run of the pipeline (none lost, none repeated, none altered).

Run: /usr/bin/python3 python-bindings/examples/colocated_vs_lakestream.py [--quick]
It writes results.json, results.md and (with matplotlib, from Debian's python3-matplotlib)
colocated_vs_lakestream.png to ``--out``. The last line is the summary.
"""
import argparse
import collections
import concurrent.futures
import glob
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))

EOS = 0  # token id between documents; byte b is id b + 1, merge m is id 257 + m


# ---------------------------------------------------------------------------------------------
# The preprocessing pipeline: documents -> normalised text -> byte-level BPE -> packed sequences.

PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


def _bytes_to_unicode():
    """GPT-2's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = _bytes_to_unicode()


def corpus_files():
    """The raw documents: Debian's copyright and licence texts, sorted (same order everywhere)."""
    files = sorted(glob.glob("/usr/share/doc/*/copyright") + glob.glob("/usr/share/common-licenses/*"))
    return [f for f in files if os.path.isfile(f)]


def generated_document(i):
    """Text for document ``i`` when the machine has no Debian docs: deterministic pseudo-prose."""
    import random
    rnd = random.Random(i)
    words = ["data", "training", "model", "stream", "batch", "object", "store", "commit", "reader", "producer",
             "licence", "software", "permission", "copyright", "notice", "warranty", "distribution", "source"]
    return "\n".join(" ".join(rnd.choice(words) for _ in range(rnd.randint(5, 15))) + "." for _ in range(200))


def clean(text):
    """NFKC, then drop boilerplate lines (mostly punctuation or very short), collapse spaces."""
    text = unicodedata.normalize("NFKC", text)
    keep = []
    for line in text.splitlines():
        line = " ".join(line.split())
        letters = sum(c.isalpha() for c in line)
        if len(line) >= 8 and letters >= 0.5 * len(line):
            keep.append(line)
    return "\n".join(keep)


def learn_merges(texts, n_merges, top_words=1500):
    """Byte-level BPE merges learned from the most frequent pre-tokens of ``texts``."""
    counts = collections.Counter()
    for t in texts:
        counts.update("".join(B2U[b] for b in w.encode()) for w in PRETOKENIZE.findall(t))
    vocab = {tuple(w): c for w, c in counts.most_common(top_words)}
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in vocab.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        a, b = max(pairs, key=lambda p: (pairs[p], p))
        merges.append((a, b))
        merged = {}
        for w, c in vocab.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + c
        vocab = merged
    return merges


class Tokenizer:
    """GPT-2's byte-level BPE (encoder.py's algorithm), without its per-word cache."""

    def __init__(self, merges, unigram_nll=None, max_nll=None):
        self.nll = unigram_nll  # per token id: -log p under the corpus' unigram model
        self.max_nll = max_nll
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.ids = {chr_: b + 1 for b, chr_ in B2U.items()}
        for i, (a, b) in enumerate(merges):
            self.ids.setdefault(a + b, 257 + i)
        self.vocab_size = 257 + len(merges)

    def _bpe(self, token):
        word = tuple(token)
        pairs = set(zip(word, word[1:]))
        ranks = self.ranks
        while pairs:
            bigram = min(pairs, key=lambda p: ranks.get(p, 1 << 30))
            if bigram not in ranks:
                break
            first, second = bigram
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
            if len(word) == 1:
                break
            pairs = set(zip(word, word[1:]))
        return word

    def keep(self, tokens):
        """The quality filter: mean per-token NLL at most the threshold (and some text at all)."""
        if len(tokens) < 64:
            return False
        if self.nll is None:
            return True
        import numpy as np
        return float(self.nll[np.asarray(tokens)].mean()) <= self.max_nll

    def encode(self, text):
        ids = self.ids
        out = []
        for w in PRETOKENIZE.findall(text):
            out.extend(ids[p] for p in self._bpe("".join(B2U[b] for b in w.encode())))
        return out


class Packer:
    """Partition ``part`` of ``parts`` of the document sequence, packed into sequences of
    ``seq_len`` tokens. Document ``i`` (i = part, part + parts, ...) is file ``i % len(files)``.
    Sequence ``j`` of the partition is record ``j * parts + part``. The cursor
    ``"doc,offset,j"`` (next document, tokens of it already used, next sequence) resumes exactly.
    """

    def __init__(self, files, tokenizer, part, parts, seq_len, cursor=None):
        self.files, self.tok, self.part, self.parts, self.seq_len = files, tokenizer, part, parts, seq_len
        self.dropped = 0
        doc, offset, j = (int(x) for x in cursor.split(",")) if cursor else (part, 0, 0)
        self.doc, self.offset, self.j = doc, offset, j
        self.tokens = None

    def _document(self, i):
        if self.files:
            with open(self.files[i % len(self.files)], "rb") as f:
                text = f.read().decode("utf-8", errors="replace")
        else:
            text = generated_document(i)
        tokens = self.tok.encode(clean(text))
        return tokens + [EOS] if self.tok.keep(tokens) else None

    def sequence(self):
        """(record id, seq_len tokens)."""
        out = []
        while len(out) < self.seq_len:
            while self.tokens is None:
                self.tokens = self._document(self.doc)
                if self.tokens is None:  # filtered out
                    self.dropped += 1
                    if self.dropped > 2 * max(1, len(self.files)) and self.j == 0:
                        raise RuntimeError("the quality filter drops every document of partition %d" % self.part)
                    self.doc += self.parts
            take = self.tokens[self.offset:self.offset + self.seq_len - len(out)]
            out += take
            self.offset += len(take)
            if self.offset >= len(self.tokens):
                self.doc += self.parts
                self.offset = 0
                self.tokens = None
        rid = self.j * self.parts + self.part
        self.j += 1
        return rid, out

    def batch(self, micro_batch):
        """(tokens int32 [micro_batch, seq_len], record ids int64 [micro_batch], cursor after them)."""
        import numpy as np
        ids, rows = zip(*(self.sequence() for _ in range(micro_batch)))
        return (np.asarray(rows, dtype=np.int32), np.asarray(ids, dtype=np.int64),
                "%d,%d,%d" % (self.doc, self.offset, self.j))


def load_pipeline(workdir):
    import numpy as np
    with open(os.path.join(workdir, "pipeline.json")) as f:
        p = json.load(f)
    return p["files"], Tokenizer(p["merges"], np.asarray(p["unigram_nll"]), p["max_nll"])


def digest(row):
    return hashlib.sha1(row.tobytes()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# The trainer: a fixed amount of compute per step.

def make_model(vocab, d):
    import torch
    torch.manual_seed(0)
    # Next-token model over the previous token: embedding -> MLP -> logits (real, small, CPU).
    model = torch.nn.Sequential(torch.nn.Embedding(vocab, d), torch.nn.Linear(d, 2 * d), torch.nn.GELU(),
                                torch.nn.Linear(2 * d, vocab))
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def train_step(model, opt, tokens, vocab):
    import torch
    x = tokens[:, :-1].long()
    y = tokens[:, 1:].long()
    loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss)


def proc_cpu_s(pid):
    """User + system CPU seconds of process ``pid`` (all its threads)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def family(pid):
    """``pid`` and its descendants (a producer host and its worker processes)."""
    children = collections.defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    children[int(f.read().rsplit(")", 1)[1].split()[1])].append(int(d))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def proc_rss_mb(pid, key="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def name_thread(name):
    """Names the calling OS thread (what /proc shows, so the thread table can say what it is)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def thread_cpu_s(pid=None):
    """CPU seconds of each thread of process ``pid`` (default: this one), summed per thread name (a
    trailing number dropped, so "GC Thread#0" and "GC Thread#1" are one entry; the main thread is
    "python (main)")."""
    me = pid is None
    pid = os.getpid() if me else pid
    tick = os.sysconf("SC_CLK_TCK")
    out = collections.Counter()
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:  # the process is gone
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:  # the thread ended
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        # a thread's name is cut at 15 characters ("C2 CompilerThre"); numbered ones are summed
        key = "python (main)" if int(tid) == pid else re.sub(r"[#-]?r?[0-9]+$", "", name).strip() or name
        out[key] += (int(fields[11]) + int(fields[12])) / tick
    if me:
        # threads that ended are gone from /proc but not from the total
        out["threads ended"] = time.process_time() - sum(out.values())
    return out


def producer_node_cpu_s(hosts):
    """The producer node's CPU by where it went: each host process's threads (its JVM's and its
    Python main thread: hand-off, encode, commit calls) and its workers (JVM-free processes) summed."""
    out = collections.Counter()
    for host in hosts:
        out.update(thread_cpu_s(host))
        for pid in family(host):
            if pid != host:
                out["workers"] += proc_cpu_s(pid)
    return out


# The trainer JVM's JIT counts as warmed up when the last JIT_QUIET_STEPS steps compiled for less
# than JIT_QUIET_MS in all (0.1 ms per step, against 0.5-1 ms per step in the first few hundred).
JIT_QUIET_STEPS = 20
JIT_QUIET_MS = 2.0


def run_trainer(a, it, setup, worker_pids=lambda: [], on_step=None, backlog=None, committed=None, jit_ms=None):
    """Trains from ``it`` through the warm-up, then ``a.steps`` measured steps; prints one JSON result line.

    ``backlog()``: steps committed ahead of the trainer (lakestream); the warm-up then goes on until
    it is at most 1 (the start-up backlog is drained) or for ``a.max_warmup`` more steps.
    ``jit_ms()``: the JVM's total compilation time so far (lakestream's trainer): whether the last
    ``JIT_QUIET_STEPS`` warm-up steps compiled for less than ``JIT_QUIET_MS`` (the JIT's start-up
    work was over) and the compile time inside the window are reported. The warm-up is not made
    longer for it: every setup should measure the same steps of the pipeline, whose cost per
    step depends on where in the corpus it is (trainer_cpu_probe.py: the producers' CPU per step
    over steps ~200-500 was a fifth of that over steps 20-320).
    ``committed()``: the steps the log holds now (read fresh), at the window's start and end."""
    import torch
    torch.set_num_threads(1)
    vocab = a.vocab
    model, opt = make_model(vocab, a.d_model)
    waits, computes, log = [], [], []
    t_start = cpu_start = None
    wcpu_start = {}
    measure_from = None
    ahead = None
    died = None
    step = 0
    jit_seen = collections.deque(maxlen=JIT_QUIET_STEPS + 1)  # compile time at the last steps
    jit_quiet = jit_ms is None
    while measure_from is None or step < measure_from + a.steps:
        if measure_from is None and jit_ms is not None:
            jit_seen.append(jit_ms())
            jit_quiet = len(jit_seen) > JIT_QUIET_STEPS and jit_seen[-1] - jit_seen[0] < JIT_QUIET_MS
        if measure_from is None and step >= a.warmup:
            ahead = backlog() if backlog else 0
            if ahead <= 1 or step >= a.warmup + a.max_warmup:
                measure_from = step
                print("MEASURE %d" % step, flush=True)
        if step == measure_from:
            # first: reading the log afresh (a reader of its own) is the measurement's cost, not the trainer's
            committed0 = committed() if committed else None
            t_start = time.perf_counter()
            cpu_start = time.process_time()
            threads_start = thread_cpu_s()
            jit_start = jit_ms() if jit_ms else 0.0
            wcpu_start = {p: proc_cpu_s(p) for p in worker_pids()}
        t0 = time.perf_counter()
        try:
            batch = next(it)
            t1 = time.perf_counter()
            train_step(model, opt, batch["tokens"], vocab)
        except Exception as e:  # noqa: BLE001 - e.g. a DataLoader worker killed: PyTorch raises in
            # next() or, from its SIGCHLD handler, wherever the training loop happens to be
            died = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            break
        if measure_from is not None:
            waits.append(t1 - t0)
            computes.append(time.perf_counter() - t1)
        log.append([int(x) for x in batch["record_id"]] + [digest(r.numpy()) for r in batch["tokens"]])
        del batch
        if on_step:
            try:
                on_step(step)
            except Exception as e:  # noqa: BLE001 - PyTorch's SIGCHLD handler can raise right in
                # the os.kill of the worker-kill check, before the loop's next() would
                died = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
                break
        step += 1
    if died is not None:
        # PyTorch's SIGCHLD handler raises again for each further worker that dies: the run is
        # over, so stop it from raising inside this report.
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        print(json.dumps({"setup": setup, "died": died, "steps_done": len(log)}), flush=True)
        return 3
    wall = time.perf_counter() - t_start
    cpu = time.process_time() - cpu_start
    threads = thread_cpu_s()
    jit_window = (jit_ms() - jit_start) if jit_ms else None
    threads.subtract(threads_start)  # where the trainer process's CPU went, ms per trained step
    thread_ms = {k: round(1000 * v / a.steps, 2) for k, v in threads.most_common() if v > 0}
    wcpu = sum(proc_cpu_s(p) - c for p, c in wcpu_start.items())
    # Producers run ahead of training (up to the flow-control bound): their CPU is per step they
    # committed in the window, not per step trained, or a growing backlog would count against them.
    produced = committed() - committed0 if committed else None
    res = {
        "setup": setup, "steps": a.steps, "warmup_steps": measure_from, "backlog_at_measure": ahead,
        "steps_per_s": a.steps / wall, "stall_share": sum(waits) / wall,
        "longest_stall_s": max(waits), "compute_ms": 1000 * sorted(computes)[len(computes) // 2],
        "trainer_cpu": cpu / wall, "workers_cpu": wcpu / wall, "produced_steps": produced,
        "trainer_thread_cpu_ms_per_step": thread_ms,
        "jit_quiet_at_measure": jit_quiet if jit_ms else None,
        "jit_compile_ms_per_step": None if jit_window is None else round(jit_window / a.steps, 3),
        "trainer_rss_mb": proc_rss_mb(os.getpid(), "VmHWM"),
        "workers_rss_mb": sum(proc_rss_mb(p) for p in worker_pids()), "load_avg": os.getloadavg()[0],
        "log": log,
    }
    print(json.dumps(res), flush=True)
    return 0


def pipeline_dataset(workdir, micro_batch, seq_len):
    """The colocated pipeline as a torch IterableDataset: worker k of n packs partition k of n.

    Built here so that producer processes, which import this file too, never import torch.
    The trainer starts its workers with fork (it has no JVM), so a local class is fine.
    """
    import torch
    from torch.utils.data import IterableDataset, get_worker_info

    class PipelineDataset(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            k, n = (0, 1) if info is None else (info.id, info.num_workers)
            files, tok = load_pipeline(workdir)
            packer = Packer(files, tok, k, n, seq_len + 1)
            while True:
                tokens, ids, _ = packer.batch(micro_batch)
                yield {"tokens": torch.from_numpy(tokens), "record_id": torch.from_numpy(ids)}

    return PipelineDataset()


def import_lakestream():
    try:
        import lakestream  # installed with pip
    except ImportError:  # running from a checkout without installing
        sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
        import lakestream
    return lakestream


def phase_colocated(a):
    import torch
    ds = pipeline_dataset(a.workdir, a.micro_batch, a.seq_len)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=a.num_workers)
    it = iter(loader)
    pids = (lambda: [w.pid for w in it._workers]) if a.num_workers else (lambda: [])

    def kill_worker(step):
        if a.kill_at is not None and step == a.kill_at:
            os.kill(it._workers[0].pid, signal.SIGKILL)
    return run_trainer(a, it, "colocated%s, num_workers=%d" % (" on all CPUs" if a.all_cpus else "", a.num_workers),
                       pids, kill_worker)


def phase_lakestream(a):
    import torch
    lakestream = import_lakestream()
    reader = lakestream.Reader(a.uri, 0, 1)
    it = (reader.next(120).torch() for _ in iter(int, 1))
    # What a trainer does once a checkpoint is durable, on its checkpoint writer thread (one that
    # lives as long as training, as torch.distributed.checkpoint's async_save keeps its executor);
    # in the background, as the write of a real checkpoint would be (JPype releases the GIL during
    # the Java call). A new thread per checkpoint cost ~1 ms CPU more per call (thread start and
    # JPype attaching it to the JVM).
    writer = concurrent.futures.ThreadPoolExecutor(1, initializer=name_thread, initargs=("checkpoint",))
    recorded = []

    def progress(step):
        if (step + 1) % a.checkpoint_every == 0:
            if recorded:
                recorded.pop().result()
            recorded.append(writer.submit(lakestream.record_checkpoint, a.uri, step + 1))
        print("STEP %d" % step, flush=True)
    def committed():
        # loads the log now (the reader above may not have looked lately), from the trainer's own
        # position: the floor follows the trainer's checkpoints, so earlier steps may be gone
        fresh = lakestream.Reader(a.uri, 0, 1, start_step=reader.next_step, prefetch=1)
        try:
            return fresh.committed_steps()
        finally:
            fresh.close()
    compilation = lakestream._jvm.jclass("java.lang.management.ManagementFactory").getCompilationMXBean()
    return run_trainer(a, it, "lakestream, produce(num_workers=%d)" % a.producers, on_step=progress,
                       backlog=lambda: reader.committed_steps() - reader.next_step, committed=committed,
                       jit_ms=lambda: float(compilation.getTotalCompilationTime()))


class PipelineSamples:
    """The same pipeline for ``lakestream.produce``: an iterable of samples (one packed sequence
    each), worker k of n packing partition k of n, with ``state_dict`` (the Packer's cursor) so a
    restarted producer resumes exactly. A plain class, not a torch IterableDataset: the pipeline
    (normalisation, BPE, filtering, packing) needs no torch, so neither the producer host nor its
    workers load it (``lakestream.get_worker_info()`` is torch's ``get_worker_info()`` without
    torch), as a preprocessing node would run it; DataLoader workers share the trainer's torch."""

    def __init__(self, workdir, seq_len):
        self.workdir, self.seq_len, self.cursor = workdir, seq_len, None
        self.packer = None

    def __iter__(self):
        info = import_lakestream().get_worker_info()
        k, n = (0, 1) if info is None else (info.id, info.num_workers)
        files, tok = load_pipeline(self.workdir)
        self.packer = Packer(files, tok, k, n, self.seq_len + 1, self.cursor)
        import numpy as np
        while True:
            rid, row = self.packer.sequence()
            yield {"tokens": np.asarray(row, dtype=np.int32), "record_id": np.int64(rid)}

    def state_dict(self):
        p = self.packer
        return {"cursor": "%d,%d,%d" % (p.doc, p.offset, p.j)}

    def load_state_dict(self, state):
        self.cursor = state["cursor"]


def phase_producer(a):
    lakestream = import_lakestream()
    # Runs until killed; flow control (max_lag_steps) keeps it close to the trainer, so the
    # measured steps are the steady state. The stream's settings are the defaults.
    lakestream.produce(a.uri, PipelineSamples(a.workdir, a.seq_len), producer="prep", world_size=1,
                       micro_batch=a.micro_batch, num_workers=a.producers, max_lag_steps=a.max_lag)


def pin(cpus):
    """Pins this process to ``cpus``. Called first thing in a child, while it has one thread:
    the affinity applies to the calling thread and is inherited by every thread and process
    started later (torch's, the JVM's, DataLoader workers)."""
    if cpus:
        os.sched_setaffinity(0, cpus)


# glibc's malloc hands large freed blocks (every step's activations and gradients) back to the
# kernel and faults them in again on the next step; on some VMs a page fault is slow enough that
# the tiny model's step took 41-72 ms instead of 11-13 ms (measured here, /usr/bin/python3, one
# thread). Keeping freed memory in the process, as jemalloc/tcmalloc-preloading operators do, is
# applied to every process of both setups alike; --glibc-malloc-defaults turns it off.
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
GLIBC_MALLOC_DEFAULTS = "--glibc-malloc-defaults" in sys.argv


def child_env():
    # One compute thread per process, and no OpenMP threads spinning on other CPUs.
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    if not GLIBC_MALLOC_DEFAULTS:
        env.update(MALLOC_TUNING)
    return env


# Every trainer and producer runs in a session of its own (start_new_session): with the kernel's
# autogroup scheduling, processes of one session share one scheduling weight, so busy producers
# on the producer node's CPUs would otherwise shrink the trainer's share of its own CPU whenever
# other work runs on the machine. Separate machines share nothing; separate sessions come closest.


# ---------------------------------------------------------------------------------------------
# The launcher.

def cpu_list(s):
    return sorted({int(x) for x in s.split(",") if x.strip()}) if s else []


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--quick", action="store_true", help="short runs (under 4 minutes on 2 cores)")
    ap.add_argument("--steps", type=int, help="measured steps per setup (default 100, --quick 30)")
    ap.add_argument("--warmup", type=int, help="minimum steps before measuring (default 20, --quick 8)")
    ap.add_argument("--max-warmup", type=int,
                    help="lakestream: more warm-up steps at most while waiting for the backlog to drain "
                         "(default 200, --quick 60)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2],
                    help="colocated num_workers on the trainer node's CPUs (default 0 1 2)")
    ap.add_argument("--workers-all", type=int, nargs="*", default=None,
                    help="colocated num_workers on every CPU, the equal-CPU budget (default 1 2 3, --quick 2 3)")
    ap.add_argument("--rounds", type=int, help="run every setup this many times, report the median (default 5, --quick 1)")
    ap.add_argument("--producers", type=int, default=2, help="worker processes of the Lakestream producer (default 2)")
    ap.add_argument("--micro-batch", type=int, default=16, help="sequences per step (default 16)")
    ap.add_argument("--seq-len", type=int, default=256, help="tokens per sequence (default 256)")
    ap.add_argument("--d-model", type=int, default=12, help="model width (default 12)")
    ap.add_argument("--checkpoint-every", type=int, default=4,
                    help="lakestream: record a checkpoint every N steps (default 4)")
    ap.add_argument("--max-lag", type=int, default=8, help="lakestream: flow-control bound in steps (default 8)")
    ap.add_argument("--merges", type=int, default=400, help="BPE merges learned at start-up (default 400)")
    ap.add_argument("--restart-after", type=float, default=1.0, help="seconds before the killed producer restarts")
    ap.add_argument("--trainer-cpus", help="CPUs of the trainer node, e.g. 0 (default: first half)")
    ap.add_argument("--producer-cpus", help="CPUs of the producer node, e.g. 1 (default: the rest)")
    ap.add_argument("--steady-rounds", type=int,
                    help="rounds of the trainer's steady-state CPU measurement (default 3, --quick 0: skipped)")
    ap.add_argument("--steady-only", type=int, metavar="NUM_WORKERS",
                    help="run only the steady-state trainer measurement, against colocated num_workers=NUM_WORKERS")
    ap.add_argument("--steady-warmup", type=int, default=400,
                    help="warm-up steps of the steady-state measurement, for both setups (default 400)")
    ap.add_argument("--no-isolation", action="store_true", help="skip the failure-isolation runs")
    ap.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    ap.add_argument("--glibc-malloc-defaults", action="store_true",
                    help="leave glibc's malloc thresholds alone (default: every process keeps freed memory, see MALLOC_TUNING)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="where results go (default examples/results)")
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=["all", "colocated", "lakestream", "producer"], default="all",
                    help=argparse.SUPPRESS)
    ap.add_argument("--uri", help=argparse.SUPPRESS)
    ap.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--kill-at", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--num-workers", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--all-cpus", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--vocab", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.steps is None:
        a.steps = 30 if a.quick else 100
    if a.rounds is None:
        a.rounds = 1 if a.quick else 5
    if a.max_warmup is None:
        a.max_warmup = 60 if a.quick else 200
    if a.steady_rounds is None:
        a.steady_rounds = 0 if a.quick else 3
    if a.workers_all is None:
        a.workers_all = [2, 3] if a.quick else [1, 2, 3]
    if a.warmup is None:
        a.warmup = 8 if a.quick else 20
    cpus = sorted(os.sched_getaffinity(0))
    half = max(1, len(cpus) // 2)
    a.trainer_cpus = cpu_list(a.trainer_cpus) if a.trainer_cpus else cpus[:half]
    a.producer_cpus = cpu_list(a.producer_cpus) if a.producer_cpus else (cpus[half:] or cpus)
    return a


def child_args(a, phase, **kw):
    args = [sys.executable, os.path.abspath(__file__), "--phase", phase, "--workdir", a.workdir, "--steps", str(a.steps),
            "--warmup", str(a.warmup), "--max-warmup", str(a.max_warmup), "--producers", str(a.producers), "--micro-batch", str(a.micro_batch),
            "--seq-len", str(a.seq_len), "--d-model", str(a.d_model), "--vocab", str(a.vocab),
            "--checkpoint-every", str(a.checkpoint_every), "--max-lag", str(a.max_lag),
            "--trainer-cpus", ",".join(map(str, a.trainer_cpus)), "--producer-cpus", ",".join(map(str, a.producer_cpus))]
    for k, v in kw.items():
        if v is True:
            args.append("--" + k.replace("_", "-"))
        elif v is not None and v is not False:
            args += ["--" + k.replace("_", "-"), str(v)]
    return args


def result_of(out, err=""):
    lines = [x for x in out.splitlines() if x.startswith("{")]
    if not lines:
        raise SystemExit("a trainer printed no result:\n" + out[-2000:] + err[-3000:])
    return json.loads(lines[-1])


def run_colocated(a, workers, kill_at=None, all_cpus=False):
    r = subprocess.run(child_args(a, "colocated", num_workers=workers, kill_at=kill_at, all_cpus=all_cpus),
                       capture_output=True,
                       text=True, timeout=600, env=child_env(), start_new_session=True)
    res = result_of(r.stdout, r.stderr)
    res["exit"] = r.returncode
    res["workers"] = workers
    res["budget"] = "equal CPUs" if all_cpus else "trainer node"
    if "steps_per_s" in res:  # preprocessing CPU per step: in the workers, or in the trainer itself
        res["prep_cpu_ms_per_step"] = 1000 * (res["workers_cpu"] if workers else res["trainer_cpu"]) / res["steps_per_s"]
    if kill_at is None and r.returncode != 0:
        raise SystemExit("colocated num_workers=%d failed (exit %d):\n%s" % (workers, r.returncode, r.stderr[-3000:]))
    return res


def trainer_steady_state(a, workers):
    """The trainer process's CPU per step once start-up is over, the issue's trainer-side figure:
    colocated ``num_workers=workers`` (the best trainer-node setup with workers: its trainer does no
    preprocessing) and lakestream, both warmed up ``--steady-warmup`` steps and measured over the
    next ``--steps``, alternated for ``--steady-rounds`` rounds. Why a separate measurement: the
    main rounds measure from step ~20, while the lakestream trainer's JVM is still compiling its
    per-step code (C1 compiles a method after ~200 calls, and most run once per step), a start-up
    cost a trainer pays once; and the main rounds cannot simply warm up longer, since the
    pipeline's cost per step depends on the corpus position, which all setups must share. Here both
    setups measure the same steps, where the preprocessing cost does not matter (the figure is the
    trainer's), and whether lakestream's JIT was quiet is reported per round."""
    b = argparse.Namespace(**vars(a))
    b.warmup = a.steady_warmup
    rounds = []
    for rnd in range(a.steady_rounds):
        c = run_colocated(b, workers)
        ls = run_lakestream(b, "stream-steady-%d" % rnd)
        r = {"colocated_ms": 1000 * c["trainer_cpu"] / c["steps_per_s"],
             "lakestream_ms": 1000 * ls["trainer_cpu"] / ls["steps_per_s"],
             "lakestream_from_step": ls.get("warmup_steps"), "jit_quiet": ls.get("jit_quiet_at_measure"),
             "jit_compile_ms_per_step": ls.get("jit_compile_ms_per_step"),
             "lakestream_threads": ls.get("trainer_thread_cpu_ms_per_step"),
             "colocated_threads": c.get("trainer_thread_cpu_ms_per_step")}
        r["ratio"] = r["lakestream_ms"] / r["colocated_ms"]
        rounds.append(r)
        print("  trainer steady state, round %d: lakestream %.1f ms CPU per step (from step %s, JIT %s), colocated "
              "num_workers=%d %.1f ms: %.2fx" % (rnd + 1, r["lakestream_ms"], r["lakestream_from_step"],
                                                "quiet" if r["jit_quiet"] else "NOT quiet", workers, r["colocated_ms"],
                                                r["ratio"]), flush=True)
    if not rounds:
        return None
    med = lambda xs: sorted(xs)[(len(xs) - 1) // 2]  # noqa: E731 - the lower median, as the rounds above
    ratios = [r["ratio"] for r in rounds]
    return {"workers": workers, "warmup": a.steady_warmup, "steps": a.steps, "rounds": rounds,
            "lakestream_ms": med([r["lakestream_ms"] for r in rounds]), "colocated_ms": med([r["colocated_ms"] for r in rounds]),
            "ratio": med(ratios), "ratio_spread": (min(ratios), max(ratios)),
            "jit_quiet_rounds": sum(1 for r in rounds if r["jit_quiet"])}


def start_producer(a, uri, part):
    return subprocess.Popen(child_args(a, "producer", uri=uri, part=part), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=child_env(), start_new_session=True)


def wait_for_stream(path, producers, timeout_s=120):
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(os.path.join(path, "_lakestream.json")):
        dead = [p for p in producers if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise SystemExit("no producer created the stream %s (%s)" % (
                path, "a producer exited: " + dead[0].stderr.read()[-2000:] if dead else "timed out"))
        time.sleep(0.02)


def run_lakestream(a, name, kill=False):
    """Producers + trainer on a fresh stream; with ``kill``, SIGKILL producer 1 a third of the way
    through the measured steps and restart it ``--restart-after`` s later (it resumes at its
    committed cursor). The producers' CPU over the measured steps is read from /proc."""
    uri = "file://" + os.path.join(a.workdir, name)
    started = []  # every process started here: none outlives this call
    try:
        return _run_lakestream(a, name, uri, kill, started)
    finally:
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait()


def _run_lakestream(a, name, uri, kill, started):
    def producer(part):
        p = start_producer(a, uri, part)
        started.append(p)
        return p

    producers = [producer(0)]  # one produce() host (one JVM) with --producers worker processes
    wait_for_stream(os.path.join(a.workdir, name), producers)  # a trainer on a stream not created yet fails
    trainer = subprocess.Popen(child_args(a, "lakestream", uri=uri), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=child_env(), start_new_session=True)
    started.append(trainer)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in trainer.stdout] + [lines.put(None)], daemon=True).start()
    victim = 0
    killed = restarted = None
    kill_at = measure_from = None
    out = []
    cpu = {}  # producer pid (host and workers) -> CPU seconds at the start of the measured steps
    prod_cpu = prod_rss = 0.0
    by_thread = collections.Counter()
    while True:
        try:
            line = lines.get(timeout=0.05)
        except queue.Empty:
            line = ""
        if line is None:
            break
        out.append(line)
        step = int(line.split()[1]) if line.startswith("STEP ") else None
        if line.startswith("MEASURE "):
            measure_from = int(line.split()[1])
            kill_at = measure_from + a.steps // 3
            cpu = {pid: proc_cpu_s(pid) for p in producers for pid in family(p.pid)}
            by_thread = producer_node_cpu_s([p.pid for p in producers])
        if measure_from is not None and step == measure_from + a.steps - 1:
            prod_cpu = sum(proc_cpu_s(pid) - c for pid, c in cpu.items())
            by_thread = producer_node_cpu_s([p.pid for p in producers]) - by_thread
            prod_rss = sum(proc_rss_mb(pid) for p in producers for pid in family(p.pid))
        if kill and killed is None and step is not None and kill_at is not None and step >= kill_at:
            # the producer host (its JVM); its workers die with it (PR_SET_PDEATHSIG)
            producers[victim].send_signal(signal.SIGKILL)
            producers[victim].wait()
            killed = (producers[victim].returncode, time.monotonic())
        if killed is not None and restarted is None and time.monotonic() - killed[1] >= a.restart_after:
            producers[victim] = producer(victim)
            restarted = time.monotonic()
    rc = trainer.wait()
    err = trainer.stderr.read()
    for p in producers:
        if p.poll() is not None and not (killed and restarted is None):
            # a producer runs until we stop it (the victim may still be down if training ended first)
            raise SystemExit("a producer exited early (exit %s):\n%s" % (p.returncode, p.stderr.read()[-3000:]))
    if rc != 0:
        raise SystemExit("lakestream trainer failed (exit %d):\n%s%s" % (rc, "".join(out)[-3000:], err[-3000:]))
    res = result_of("".join(out), err)
    res["exit"] = rc
    wall = a.steps / res["steps_per_s"]
    res["workers_cpu"] = prod_cpu / wall  # the producer node's CPU over the measured steps
    res["prep_cpu_ms_per_step"] = 1000 * prod_cpu / (res.get("produced_steps") or a.steps)
    res["workers_rss_mb"] = prod_rss
    if not kill:  # (with a restart, the killed host's threads are gone from the tally)
        res["producer_thread_cpu_ms_per_step"] = {k: round(1000 * v / (res.get("produced_steps") or a.steps), 2)
                                                  for k, v in by_thread.most_common() if v > 0}
    if kill:
        res["producer_killed"] = killed is not None and killed[0] == -signal.SIGKILL
        res["producer_restarted"] = restarted is not None
    return res


def verify_records(a, log):
    """Every trained record: ids unique, each partition a gap-free prefix, tokens as the pipeline makes them."""
    import numpy as np
    files, tok = load_pipeline(a.workdir)
    seen = {}
    for row in log:
        n = len(row) // 2
        for rid, dig in zip(row[:n], row[n:]):
            if rid in seen:
                return "record %d trained twice" % rid
            seen[rid] = dig
    for part in range(a.producers):
        mine = sorted(r for r in seen if r % a.producers == part)
        if mine != [j * a.producers + part for j in range(len(mine))]:
            return "partition %d has a gap: %s" % (part, mine[:20])
        packer = Packer(files, tok, part, a.producers, a.seq_len + 1)
        for rid in mine:
            want_id, row = packer.sequence()
            if want_id != rid or digest(np.asarray(row, dtype=np.int32)) != seen[rid]:
                return "record %d differs from what the pipeline produces" % rid
    return None


def prepare(a):
    files = corpus_files()
    texts = []
    if len(files) < 20:
        print("note: fewer than 20 Debian copyright/licence files here: using generated documents", flush=True)
        files = []
        texts = [generated_document(i) for i in range(50)]
    else:
        for f in files[:120]:
            with open(f, "rb") as fh:
                texts.append(clean(fh.read().decode("utf-8", errors="replace")))
    merges = learn_merges(texts, a.merges)
    # The quality filter's model: unigram token frequencies of the sample (add-one smoothed);
    # the threshold is the lower tercile of the documents' scores, so about a third pass.
    import numpy as np
    tok = Tokenizer(merges)
    docs = [tok.encode(t) for t in texts]
    counts = np.ones(tok.vocab_size)
    for d in docs:
        np.add.at(counts, d, 1)
    nll = -np.log(counts / counts.sum())
    max_nll = float(np.percentile([nll[d].mean() for d in docs if len(d) >= 64], 100 / 3))
    with open(os.path.join(a.workdir, "pipeline.json"), "w") as f:
        json.dump({"files": files, "merges": merges, "unigram_nll": nll.tolist(), "max_nll": max_nll}, f)
    a.vocab = tok.vocab_size
    return len(files)


def blas_library():
    """The BLAS library torch's matrix products run on in a fresh process (from /proc/<pid>/maps)."""
    code = ("import torch\ntorch.ones(64, 64) @ torch.ones(64, 64)\n"
            "print(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l.rsplit('/', 1)[-1]}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return (r.stdout.strip() or "unknown") if r.returncode == 0 else "unknown"


def ensure_fast_blas():
    """Debian's torch does its matrix products through whichever libblas.so.3 is installed; the
    reference one (libblas3) makes the trainer's fixed compute ~20x slower than OpenBLAS (a 512 x
    512 product 50 times: 2.2 s against 0.11 s on this project's machines), which would make every
    setup trainer-bound and measure the BLAS, not the data path. Installs Debian's OpenBLAS when
    the reference BLAS is in use (it takes over libblas.so.3 through update-alternatives);
    returns the library in use."""
    lib = blas_library()
    if "openblas" in lib or "mkl" in lib or os.environ.get("LAKESTREAM_EXAMPLE_KEEP_BLAS"):
        return lib
    print("torch's BLAS is %s (the reference BLAS, ~20x slower): installing Debian's libopenblas0-pthread "
          "with apt-get ..." % lib, flush=True)
    why = apt_install("libopenblas0-pthread")
    if why is not None:
        print("could not install libopenblas0-pthread (%s): the trainer's compute will dominate every setup" % why, flush=True)
    return blas_library()


def apt_install(package):
    """Installs a Debian package with apt-get (through sudo unless root); None, or why it failed."""
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    r = subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", package], capture_output=True, text=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["apt-get failed"])[-1]


def ensure_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        pass
    print("the plot needs matplotlib: installing Debian's python3-matplotlib with apt-get ...", flush=True)
    why = apt_install("python3-matplotlib")
    if why is not None:
        print("could not install python3-matplotlib (%s); no plot. Install it and rerun, or pass --no-plot" % why, flush=True)
        return False
    return True


def plot(rows, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [r["label"] for r in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = ["#8c8c8c" if r["setup"].startswith("colocated") else "#2a7ab9" for r in rows]
    ax1.bar(names, [r["steps_per_s"] for r in rows], color=colors)
    ax1.set_ylabel("trainer steps/s (higher is better)")
    ax2.bar(names, [100 * r["stall_share"] for r in rows], color=colors)
    ax2.set_ylabel("data stall, % of wall time (lower is better)")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelrotation=20)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    a = parse_args(argv)
    if a.phase != "all":
        pin(a.producer_cpus if a.phase == "producer" else
            sorted(set(a.trainer_cpus) | set(a.producer_cpus)) if a.all_cpus else a.trainer_cpus)
        return {"colocated": phase_colocated, "lakestream": phase_lakestream, "producer": phase_producer}[a.phase](a)

    t0 = time.monotonic()
    own_workdir = a.workdir is None
    a.workdir = a.workdir or tempfile.mkdtemp(prefix="lakestream-colocated-")
    os.makedirs(a.out, exist_ok=True)
    load0 = os.getloadavg()[0]
    try:
        blas = ensure_fast_blas()
        n_files = prepare(a)
        if a.steady_only is not None:
            steady = trainer_steady_state(a, a.steady_only)
            print("trainer CPU per step, steady state (steps %d-%d, median of %d rounds): lakestream %.1f ms, colocated "
                  "num_workers=%d %.1f ms, %.2fx (per-round %.2f-%.2f); load average %.2f at start, %.2f at end; BLAS %s"
                  % (a.steady_warmup, a.steady_warmup + a.steps, len(steady["rounds"]), steady["lakestream_ms"],
                     a.steady_only, steady["colocated_ms"], steady["ratio"], steady["ratio_spread"][0],
                     steady["ratio_spread"][1], load0, os.getloadavg()[0], blas))
            with open(os.path.join(a.out, "steady.json"), "w") as f:
                json.dump(steady, f, indent=1)
            return 0
        tokens_per_step = a.micro_batch * a.seq_len
        print("pipeline: %s -> NFKC + boilerplate filter -> byte-level BPE (%d merges, vocab %d) -> packed %d x %d "
              "tokens per step; trainer: embedding+MLP d=%d, 1 thread; trainer node CPUs %s, producer node CPUs %s; "
              "load average %.2f; malloc: %s; BLAS: %s"
              % ("%d Debian copyright/licence files" % n_files if n_files else "generated documents", a.merges,
                 a.vocab, a.micro_batch, a.seq_len, a.d_model, a.trainer_cpus, a.producer_cpus, load0,
                 "glibc defaults" if GLIBC_MALLOC_DEFAULTS else "freed memory kept (%s)"
                 % ", ".join("%s=%s" % kv for kv in MALLOC_TUNING.items()), blas), flush=True)
        # Rounds run every setup in turn, so a burst of other load on the machine hits all of
        # them alike; each setup reports its median round (by steps/s).
        runs = collections.defaultdict(list)
        keys = [("node", n) for n in a.workers] + [("all", n) for n in a.workers_all] + ["ls"]
        for rnd in range(a.rounds):
            for key in keys:
                if key == "ls":
                    runs[key].append(run_lakestream(a, "stream-%d" % rnd))
                else:
                    runs[key].append(run_colocated(a, key[1], all_cpus=key[0] == "all"))
                r = runs[key][-1]
                print("  %-44s %6.2f steps/s, stall %5.1f%%%s" % (r["setup"], r["steps_per_s"], 100 * r["stall_share"],
                                                                   " (round %d)" % (rnd + 1) if a.rounds > 1 else ""),
                      flush=True)
        rows = []
        for key in keys:
            by_rate = sorted(runs[key], key=lambda x: x["steps_per_s"])
            r = by_rate[(len(by_rate) - 1) // 2]
            r["rounds_steps_per_s"] = [x["steps_per_s"] for x in runs[key]]
            r["spread"] = (by_rate[0]["steps_per_s"], by_rate[-1]["steps_per_s"])
            r["label"] = ("lakestream\n%d workers" % a.producers if key == "ls" else
                          "colocated\nworkers=%d%s" % (key[1], ", all CPUs" if key[0] == "all" else ""))
            rows.append(r)

        with_workers = [r for r in rows if r.get("workers") and r.get("budget") == "trainer node"]
        steady = trainer_steady_state(a, max(with_workers, key=lambda r: r["steps_per_s"])["workers"]
                                      if with_workers else 2)

        iso = {}
        if not a.no_isolation:
            best_n = max(with_workers, key=lambda r: r["steps_per_s"])["workers"] if with_workers else 1
            c = run_colocated(a, best_n, kill_at=a.warmup + a.steps // 3)
            iso["worker_kill"] = {"num_workers": best_n, "died": c.get("died"), "exit": c["exit"],
                                  "steps_done": c.get("steps_done")}
            print("  SIGKILL of a DataLoader worker (num_workers=%d) at step %d: %s"
                  % (best_n, a.warmup + a.steps // 3, "training died: " + c["died"] if c.get("died")
                     else "training continued (unexpected)"), flush=True)
            k = run_lakestream(a, "stream-kill", kill=True)
            problem = verify_records(a, k["log"])
            iso["producer_kill"] = {"killed": k["producer_killed"], "restarted": k["producer_restarted"],
                                    "warmup_steps": k["warmup_steps"],
                                    "restart_after_s": a.restart_after, "steps": k["steps"],
                                    "longest_stall_s": k["longest_stall_s"], "steps_per_s": k["steps_per_s"],
                                    "records_ok": problem is None, "problem": problem,
                                    "records": sum(len(x) // 2 for x in k["log"])}
            print("  SIGKILL of the Lakestream producer at step %d, restarted %.1f s later: training %s %d "
                  "steps, longest stall %.2f s, %d records %s" % (k["warmup_steps"] + a.steps // 3, a.restart_after,
                                                   "continued for all" if k["exit"] == 0 else "failed after",
                                                   k["warmup_steps"] + a.steps, k["longest_stall_s"],
                                                   iso["producer_kill"]["records"],
                                                   "each trained exactly once, bytes as the pipeline makes them"
                                                   if problem is None else "BAD: " + problem), flush=True)

        load1 = os.getloadavg()[0]
        for r in rows:
            r.pop("log", None)
        best = max((r for r in rows if r.get("budget") == "trainer node"), key=lambda r: r["steps_per_s"])
        best_all = max((r for r in rows if r.get("budget") == "equal CPUs"), key=lambda r: r["steps_per_s"],
                       default=None)
        ls = rows[-1]
        # the DataLoader's preprocessing CPU per step: its workers', the best trainer-node setup with workers
        dl = max((r for r in rows if r.get("budget") == "trainer node" and r.get("workers")),
                 key=lambda r: r["steps_per_s"], default=None)
        table = ["| setup | steps/s (min-max) | data stall | longest stall s | train step ms (median) | trainer CPU (cores) "
                 "| workers/producers CPU (cores) | preprocessing CPU ms/step | trainer peak RSS MB "
                 "| workers/producers RSS MB |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            table.append("| %s | %.2f (%.2f-%.2f) | %.1f%% | %.3f | %.1f | %.2f | %.2f | %.0f%s | %.0f | %.0f |" % (
                r["setup"], r["steps_per_s"], r["spread"][0], r["spread"][1], 100 * r["stall_share"], r["longest_stall_s"], r["compute_ms"],
                r["trainer_cpu"],
                r["workers_cpu"], r["prep_cpu_ms_per_step"],
                " (producers)" if r["setup"].startswith("lakestream") else
                (" (workers)" if r.get("workers") else " (trainer)"), r["trainer_rss_mb"], r["workers_rss_mb"]))
        # where each trainer process's CPU went (the median round's), ms per trained step
        threads = ["", "Trainer-process CPU per trained step, by thread (ms; the median round's run):", "",
                   "| setup | total | python (main) | other threads, largest first |", "|---|---:|---:|---|"]
        for r in rows:
            t = dict(r.get("trainer_thread_cpu_ms_per_step") or {})
            main = t.pop("python (main)", 0.0)
            threads.append("| %s | %.1f | %.1f | %s |" % (
                r["setup"], 1000 * r["trainer_cpu"] / r["steps_per_s"], main,
                ", ".join("%s %.1f" % kv for kv in sorted(t.items(), key=lambda kv: -kv[1]) if kv[1] >= 0.05) or "-"))
        table += threads
        for r in rows:
            if r.get("jit_compile_ms_per_step") is not None:
                table += ["", "%s: the trainer JVM compiled for %.2f ms per measured step; its JIT was %s at the "
                          "start of the window (under %.0f ms in the last %d warm-up steps)."
                          % (r["setup"], r["jit_compile_ms_per_step"], "quiet" if r.get("jit_quiet_at_measure") else
                             "NOT yet quiet", JIT_QUIET_MS, JIT_QUIET_STEPS)]
        if steady:
            table += ["", "Trainer-process CPU per step in the steady state (after %d warm-up steps, the next %d; "
                      "%d alternated rounds, median (min-max)): lakestream %.1f ms, colocated num_workers=%d %.1f ms, "
                      "**%.2fx** (per-round ratios %.2f-%.2f); lakestream's JIT was quiet at the start of %d of %d windows."
                      % (steady["warmup"], steady["steps"], len(steady["rounds"]), steady["lakestream_ms"], steady["workers"],
                         steady["colocated_ms"], steady["ratio"], steady["ratio_spread"][0], steady["ratio_spread"][1],
                         steady["jit_quiet_rounds"], len(steady["rounds"]))]
            mid = sorted(steady["rounds"], key=lambda r: r["ratio"])[(len(steady["rounds"]) - 1) // 2]
            t = dict(mid["lakestream_threads"] or {})
            table += ["", "Its median round, by thread (ms per step): lakestream python (main) %.1f, %s; colocated python "
                      "(main) %.1f." % (t.pop("python (main)", 0.0), ", ".join(
                          "%s %.1f" % kv for kv in sorted(t.items(), key=lambda kv: -kv[1]) if kv[1] >= 0.05) or "-",
                          (mid["colocated_threads"] or {}).get("python (main)", 0.0))]
        prod = [r for r in rows if r.get("producer_thread_cpu_ms_per_step")]
        if prod:
            table += ["", "Producer-node CPU per committed step, by process and thread (ms; the median round's run; "
                      "workers: the JVM-free worker processes, python (main): the host's hand-off, encode and commit calls):",
                      "", "| setup | total | workers | host threads, largest first |", "|---|---:|---:|---|"]
            for r in prod:
                t = dict(r["producer_thread_cpu_ms_per_step"])
                w = t.pop("workers", 0.0)
                table.append("| %s | %.1f | %.1f | %s |" % (
                    r["setup"], r["prep_cpu_ms_per_step"], w,
                    ", ".join("%s %.1f" % kv for kv in sorted(t.items(), key=lambda kv: -kv[1]) if kv[1] >= 0.05) or "-"))
        header = ("%d measured steps per setup after at least %d warm-up steps (lakestream: until its backlog was "
                  "drained, %s steps, %s committed ahead at the start)%s; %d x %d tokens per step; trainer node CPUs %s, "
                  "producer node CPUs %s; load average %.2f at start, %.2f at end; BLAS %s"
                  % (a.steps, a.warmup, ls.get("warmup_steps"), ls.get("backlog_at_measure"),
                     ", median of %d interleaved rounds (min-max)" % a.rounds if a.rounds > 1 else "", a.micro_batch,
                     a.seq_len, a.trainer_cpus, a.producer_cpus, load0, load1, blas))
        print("\n" + header + "\n" + "\n".join(table))
        results = {"header": header, "rows": rows, "isolation": iso, "trainer_steady_state": steady, "args": {k: v for k, v in vars(a).items()
                                                                              if k not in ("workdir", "out")}}
        with open(os.path.join(a.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(a.out, "results.md"), "w") as f:
            f.write(header + "\n\n" + "\n".join(table) + "\n")
        if not a.no_plot and ensure_matplotlib():
            png = os.path.join(a.out, "colocated_vs_lakestream.png")
            plot(rows, png, "Colocated DataLoader vs Lakestream (%s; load average %.1f-%.1f)"
                 % ("2-core machine" if os.cpu_count() == 2 else "%d CPUs" % os.cpu_count(), load0, load1))
            print("plot: %s" % png)
        kept = iso.get("producer_kill", {})
        continued = bool(kept) and kept["killed"] and kept["records_ok"]
        died = bool(iso.get("worker_kill", {}).get("died"))
        print("(%.0f s)" % (time.monotonic() - t0))
        print("steps/s lakestream/colocated = %.2f (trainer node fixed), %s (equal CPUs), producer CPU per step "
              "lakestream/dataloader = %s, producer SIGKILL: training %s, worker SIGKILL: colocated run %s"
              % (ls["steps_per_s"] / best["steps_per_s"],
                 "%.2f" % (ls["steps_per_s"] / best_all["steps_per_s"]) if best_all else "n/a",
                 # n/a: too few steps for the workers' CPU to show in /proc's clock ticks
                 "%.2f" % (ls["prep_cpu_ms_per_step"] / dl["prep_cpu_ms_per_step"])
                 if dl and dl["prep_cpu_ms_per_step"] > 0 else "n/a",
                 "continued" if continued else ("not run" if not iso else "DID NOT continue cleanly"),
                 "died" if died else ("not run" if not iso else "did not die")))
        return 0
    finally:
        if own_workdir:
            shutil.rmtree(a.workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
