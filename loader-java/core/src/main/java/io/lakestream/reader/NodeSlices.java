package io.lakestream.reader;

import io.lakestream.format.Crc32c;
import io.lakestream.format.ShardEntry;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.FileMapping;
import io.lakestream.time.Clock;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Every local rank's side of the node fetch (see {@link NodeFetch}, {@link NodeFetcher}): waits
 * for the fetcher's file of a step, maps the rank's shard from it and checks it against the
 * rank's own manifest entry (the file's header must name the step, the object and the node's
 * range; the shard's CRC32C must match), so a wrong or stale hand-off is refused, never
 * delivered.
 *
 * <p>Failure rules: the wait for a step ends (with {@link NodeFetchFailedException}, which the
 * reader turns into its own ranged GET when {@link NodeFetch#fallback()} is on) when the control
 * file shows the fetching process dead (its pid gone, or reused by a process started at another
 * time) or closed, when the step is below the fetcher's watermark but its file is gone (removed
 * out of the window, or given up after a store failure), or after {@link NodeFetch#waitMillis()}
 * on the injected clock (a fetcher that is alive but stuck, or that never started). A fetcher
 * that is replaced (a restarted local rank 0) is found again by its new control file.
 */
public final class NodeSlices implements AutoCloseable {
    /** Between two looks at the node directory while waiting (on the injected clock). */
    private static final long POLL_MILLIS = 1;

    private final String stream;
    private final NodeFetch nf;
    private final int firstRank;
    private final int ranks;
    private final Path dir;
    private final Clock clock;
    // the control file as last opened, guarded by this
    private Arena ctlArena;
    private MemorySegment ctl;
    private Object ctlKey;

    /**
     * Local rank {@code nf.localRank()}'s side of the node whose first rank is {@code firstRank}, for
     * {@code stream} (the store's description, as the fetcher names its directory by it).
     */
    public NodeSlices(String stream, NodeFetch nf, int firstRank, int streamWorldSize, Clock clock) {
        this.stream = stream;
        this.nf = nf;
        this.firstRank = firstRank;
        this.ranks = Math.min(nf.localWorldSize(), streamWorldSize - firstRank);
        this.dir = NodeFiles.nodeDir(nf, stream, firstRank);
        this.clock = clock;
    }

    Path dir() {
        return dir;
    }

    /**
     * Rank {@code rank}'s shard of {@code step}, from the node's copy, waiting for it as the
     * failure rules say.
     *
     * @throws NodeFetchFailedException no usable copy (the reason names what happened)
     */
    public NodeSlice acquire(long step, TgbEntry entry, int rank) throws InterruptedException {
        return acquire(step, entry, rank, true);
    }

    /** As {@link #acquire(long, TgbEntry, int)}; {@code checked} as in {@link #tryAcquire(long, TgbEntry, int, boolean)}. */
    public NodeSlice acquire(long step, TgbEntry entry, int rank, boolean checked) throws InterruptedException {
        long deadline = clock.monotonicNanos() + TimeUnit.MILLISECONDS.toNanos(nf.waitMillis());
        while (true) {
            long doneBelow;
            String dead;
            synchronized (this) {
                dead = fetcherGone();
                doneBelow = ctl == null ? Long.MIN_VALUE : NodeFiles.get(ctl, NodeFiles.C_DONE_BELOW);
            }
            // the watermark was read before the file is looked for: a step below it was renamed into place before
            NodeSlice s = tryAcquire(step, entry, rank, checked);
            if (s != null) {
                return s;
            }
            if (step < doneBelow) {
                throw failed(step, rank, "the node's copy of the step is gone (released by every local rank, out of the fetcher's "
                        + nf.keepSteps() + "-step window, or given up after a store failure)");
            }
            if (dead != null) {
                throw failed(step, rank, dead);
            }
            if (clock.monotonicNanos() - deadline >= 0) {
                throw failed(step, rank, "the node's fetcher (local rank 0) published no copy within " + nf.waitMillis() + " ms"
                        + (ctl == null ? " (no fetcher has started in " + dir + ")" : ""));
            }
            clock.sleep(POLL_MILLIS);
        }
    }

    /**
     * Rank {@code rank}'s shard of {@code step} if the node's file is there now, else null.
     * {@code checked}: the mappings are an arena's, else {@link FileMapping}s (see {@link NodeSlice}).
     *
     * @throws NodeFetchFailedException the file is there but does not hold this step's bytes
     */
    public NodeSlice tryAcquire(long step, TgbEntry entry, int rank, boolean checked) {
        Path file = NodeFiles.stepFile(dir, step);
        NodeFiles.Range r = NodeFiles.range(entry, firstRank, ranks);
        ShardEntry shard = entry.shards().get(rank);
        if (!checked && FileMapping.available()) {
            return tryAcquireUnchecked(file, step, entry, r, shard, rank);
        }
        Arena arena = Arena.ofShared();
        boolean ok = false;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            checkSize(ch.size(), file, step, r, rank);
            MemorySegment h = ch.map(FileChannel.MapMode.READ_WRITE, 0, NodeFiles.HEADER, arena);
            checkHeader(h, file, step, entry, r, rank);
            // copy-on-write: the bytes stay the node's shared pages until this rank writes to them
            MemorySegment data = ch.map(FileChannel.MapMode.PRIVATE, r.filePosition(shard), shard.length(), arena);
            checkCrc(data, file, step, shard, rank);
            ok = true;
            return new NodeSlice(arena, h, data, rank - firstRank);
        } catch (NoSuchFileException absent) {
            return null;
        } catch (IOException e) {
            throw failed(step, rank, "cannot map " + file + ": " + e);
        } finally {
            if (!ok) {
                arena.close();
            }
        }
    }

    /** As {@link #tryAcquire} checked, for the default: readers' views are checked unless their options say otherwise. */
    public NodeSlice tryAcquire(long step, TgbEntry entry, int rank) {
        return tryAcquire(step, entry, rank, true);
    }

    /** The same steps through mmap(2) itself: no arena, so no handshake when the slice is closed. */
    private NodeSlice tryAcquireUnchecked(Path file, long step, TgbEntry entry, NodeFiles.Range r, ShardEntry shard, int rank) {
        FileMapping h = null;
        FileMapping data = null;
        boolean ok = false;
        try {
            checkSize(Files.size(file), file, step, r, rank);
            h = FileMapping.map(file, 0, NodeFiles.HEADER, true);
            checkHeader(h.segment(), file, step, entry, r, rank);
            data = FileMapping.map(file, r.filePosition(shard), shard.length(), false); // copy-on-write, as above
            checkCrc(data.segment(), file, step, shard, rank);
            ok = true;
            return new NodeSlice(h, data, rank - firstRank);
        } catch (NoSuchFileException absent) {
            return null;
        } catch (IOException e) {
            throw failed(step, rank, "cannot map " + file + ": " + e);
        } finally {
            if (!ok) {
                if (data != null) {
                    data.close();
                }
                if (h != null) {
                    h.close();
                }
            }
        }
    }

    private void checkSize(long size, Path file, long step, NodeFiles.Range r, int rank) {
        if (size < r.fileSize()) {
            throw failed(step, rank, "the node's file " + file + " has " + size + " bytes, the range needs " + r.fileSize());
        }
    }

    private void checkHeader(MemorySegment h, Path file, long step, TgbEntry entry, NodeFiles.Range r, int rank) {
        if (NodeFiles.get(h, NodeFiles.H_MAGIC) != NodeFiles.STEP_MAGIC || NodeFiles.get(h, NodeFiles.H_STEP) != step
                || NodeFiles.get(h, NodeFiles.H_OFFSET) != r.offset() || NodeFiles.get(h, NodeFiles.H_LENGTH) != r.length()
                || NodeFiles.get(h, NodeFiles.H_KEY) != NodeFiles.hash(entry.object())) {
            throw failed(step, rank, "the node's file " + file + " holds another range (step " + NodeFiles.get(h, NodeFiles.H_STEP)
                    + ", bytes " + NodeFiles.get(h, NodeFiles.H_OFFSET) + "+" + NodeFiles.get(h, NodeFiles.H_LENGTH)
                    + ") than this rank's entry (" + entry.object() + " bytes " + r.offset() + "+" + r.length() + ")");
        }
    }

    private void checkCrc(MemorySegment data, Path file, long step, ShardEntry shard, int rank) {
        long crc = Crc32c.of(data);
        if (crc != shard.crc32c()) {
            throw failed(step, rank, "checksum mismatch in the node's copy (" + file + "): manifest crc32c "
                    + Long.toHexString(shard.crc32c()) + ", copy " + Long.toHexString(crc));
        }
    }

    /**
     * Why the fetcher can no longer publish (null while it can, or while none ever started):
     * reopens the control file first if a new fetcher replaced it.
     */
    private String fetcherGone() {
        String why = ctl == null ? null : goneReason(ctl);
        if (ctl == null || why != null) {
            // a (new) fetcher may have written a control file since
            Path p = NodeFiles.ctlFile(dir);
            try {
                Object key = Files.readAttributes(p, BasicFileAttributes.class).fileKey();
                if (ctl == null || key == null || !key.equals(ctlKey)) {
                    Arena a = Arena.ofShared();
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        MemorySegment c = ch.map(FileChannel.MapMode.READ_ONLY, 0, NodeFiles.HEADER, a);
                        if (NodeFiles.get(c, NodeFiles.C_MAGIC) == NodeFiles.CTL_MAGIC) {
                            closeCtl();
                            ctlArena = a;
                            ctl = c;
                            ctlKey = key;
                            a = null;
                            why = goneReason(ctl);
                        }
                    } finally {
                        if (a != null) {
                            a.close();
                        }
                    }
                }
            } catch (IOException e) {
                // no control file (yet, or any more): keep what we know
            }
        }
        return why;
    }

    private static String goneReason(MemorySegment c) {
        long pid = NodeFiles.get(c, NodeFiles.C_PID);
        if (NodeFiles.get(c, NodeFiles.C_CLOSED) != 0) {
            return "the node's fetcher (process " + pid + ") closed";
        }
        long started = NodeFiles.get(c, NodeFiles.C_START_MILLIS);
        Optional<ProcessHandle> ph = ProcessHandle.of(pid);
        boolean alive = ph.isPresent() && ph.get().isAlive()
                && (started == 0 || ph.get().info().startInstant().map(i -> i.toEpochMilli() == started).orElse(true));
        return alive ? null : "the node's fetcher (process " + pid + ") died";
    }

    private NodeFetchFailedException failed(long step, int rank, String why) {
        return new NodeFetchFailedException(stream, step, rank, why);
    }

    private void closeCtl() {
        if (ctlArena != null) {
            ctlArena.close();
            ctlArena = null;
            ctl = null;
        }
    }

    @Override
    public synchronized void close() {
        closeCtl();
    }
}
