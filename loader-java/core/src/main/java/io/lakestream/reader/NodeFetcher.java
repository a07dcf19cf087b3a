package io.lakestream.reader;

import io.lakestream.StreamEnv;
import io.lakestream.fail.FailPoints;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The node's fetcher (its first local rank's process): one ranged GET per step of the node's
 * contiguous byte range, into a step file every local rank maps ({@link NodeSlices}).
 *
 * <p>Lifetime rules. The fetcher owns the node directory's files: it wipes a predecessor's files
 * when it opens (their owner is gone; readers holding mappings of them keep their pages), writes
 * each step to a temporary file and renames it into place when complete, and is the only one to
 * delete a step file: once every local rank set its bit of the release word, or once the step is
 * {@link NodeFetch#keepSteps()} behind the newest step it fetched (a local rank that died never
 * releases). Unlinking a mapped file keeps its pages for whoever still maps it, so removal never
 * pulls bytes from under a reader. The control file tells readers the fetcher's pid and start
 * time (so they see it die), and the step below which every step was published or given up (so
 * a missing file below it means "gone", not "not yet"). On {@link #close()} it waits (at most
 * 2 s) for its local ranks to release what it published, then marks itself closed and removes its
 * files.
 *
 * <p>Thread-safe: a reader's fetch threads publish several steps at once.
 */
public final class NodeFetcher implements AutoCloseable {
    /** Fail point: the step's bytes are in the temporary file, not yet renamed into place. */
    public static final String BEFORE_PUBLISH = "node.fetcher.before_publish";

    private final ObjectStore store;
    private final NodeFetch nf;
    private final int firstRank;
    private final int ranks; // local ranks whose shards the node range covers
    private final Path dir;
    private final FailPoints failPoints;
    private final io.lakestream.time.Clock clock;
    private final Arena ctlArena; // the control file's mapping lives in it
    private final MemorySegment ctl;
    private final Object ctlKey; // the control file's identity: a later fetcher's is not ours to remove
    private final long allReleased;
    private final AtomicLong tmpSeq = new AtomicLong();
    private final LongAdder gets = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    // guarded by this
    private final TreeMap<Long, Published> published = new TreeMap<>();
    private final TreeSet<Long> doneAbove = new TreeSet<>();
    private long doneBelow;
    private long newest = -1;
    private boolean closed;

    /**
     * A step file this fetcher published and has not removed: its path, its identity (a later
     * fetcher of the same node may have replaced the path: that file is not ours to remove) and
     * its header mapping.
     */
    private record Published(Path file, Object fileKey, Arena arena, MemorySegment header) {}

    private NodeFetcher(ObjectStore store, NodeFetch nf, int firstRank, int ranks, Path dir, long startStep, FailPoints fp,
                        io.lakestream.time.Clock clock, Arena ctlArena, MemorySegment ctl, Object ctlKey) {
        this.ctlArena = ctlArena;
        this.ctlKey = ctlKey;
        this.store = store;
        this.nf = nf;
        this.firstRank = firstRank;
        this.ranks = ranks;
        this.dir = dir;
        this.doneBelow = startStep;
        this.failPoints = fp;
        this.clock = clock;
        this.ctl = ctl;
        this.allReleased = ranks == 64 ? -1L : (1L << ranks) - 1;
    }

    /**
     * Opens the fetcher of the node whose first rank is {@code firstRank}, for a stream written for
     * {@code streamWorldSize} ranks, publishing steps from {@code startStep} on.
     */
    public static NodeFetcher open(ObjectStore store, NodeFetch nf, int firstRank, int streamWorldSize, long startStep,
                                   StreamEnv env) {
        int ranks = Math.min(nf.localWorldSize(), streamWorldSize - firstRank);
        if (ranks < 1) {
            throw new IllegalArgumentException("node's first rank " + firstRank + " is outside world size " + streamWorldSize);
        }
        Path dir = NodeFiles.nodeDir(nf, store.describe(), firstRank);
        Arena arena = Arena.ofShared();
        try {
            Files.createDirectories(dir);
            wipe(dir);
            // the control file appears complete (rename), so a reader never maps a half-written one
            Path tmp = dir.resolve("fetcher.ctl.tmp-" + ProcessHandle.current().pid());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate((int) NodeFiles.HEADER), 0);
                MemorySegment c = ch.map(FileChannel.MapMode.READ_WRITE, 0, NodeFiles.HEADER, arena);
                ProcessHandle me = ProcessHandle.current();
                NodeFiles.set(c, NodeFiles.C_PID, me.pid());
                NodeFiles.set(c, NodeFiles.C_START_MILLIS, me.info().startInstant().map(i -> i.toEpochMilli()).orElse(0L));
                NodeFiles.set(c, NodeFiles.C_DONE_BELOW, startStep);
                NodeFiles.set(c, NodeFiles.C_CLOSED, 0);
                NodeFiles.set(c, NodeFiles.C_MAGIC, NodeFiles.CTL_MAGIC);
                Object key = Files.readAttributes(tmp, BasicFileAttributes.class).fileKey();
                Files.move(tmp, NodeFiles.ctlFile(dir), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return new NodeFetcher(store, nf, firstRank, ranks, dir, startStep, env.failPoints(), env.clock(), arena, c, key);
            }
        } catch (IOException | RuntimeException e) {
            arena.close();
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new UncheckedIOException("node fetch: cannot set up " + dir, (IOException) e);
        }
    }

    /** Removes a predecessor's step and temporary files (its process is gone; mappings of them stay valid). */
    private static void wipe(Path dir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (n.endsWith(".step") || n.contains(".tmp-")) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** The node's directory. */
    public Path dir() {
        return dir;
    }

    /** Ranged GETs this fetcher issued. */
    public long gets() {
        return gets.sum();
    }

    /** Bytes those GETs read. */
    public long bytesRead() {
        return bytes.sum();
    }

    /** Step files present now (published, not yet removed). */
    public synchronized int filesKept() {
        return published.size();
    }

    /**
     * Fetches the node's byte range of {@code step} with one ranged GET and publishes it. A store
     * failure is thrown as the store threw it (after its retries); the step is then given up, and
     * the node's other ranks fall back at once. Returns the bytes read.
     */
    public long publish(long step, TgbEntry entry) {
        return publish(store, step, entry);
    }

    /**
     * As {@link #publish(long, TgbEntry)}, reading through {@code via} (the same store as seen by
     * the calling actor of a simulation, which charges the request to it).
     */
    public long publish(ObjectStore via, long step, TgbEntry entry) {
        NodeFiles.Range r = NodeFiles.range(entry, firstRank, ranks);
        Path fin = NodeFiles.stepFile(dir, step);
        Path tmp = dir.resolve(step + ".step.tmp-" + ProcessHandle.current().pid() + "-" + tmpSeq.incrementAndGet());
        Arena header = Arena.ofShared();
        boolean ok = false;
        try {
            MemorySegment h;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                NodeFiles.reserve(tmp, ch, r.fileSize());
                h = ch.map(FileChannel.MapMode.READ_WRITE, 0, NodeFiles.HEADER, header);
                try (Arena data = Arena.ofConfined()) {
                    MemorySegment d = ch.map(FileChannel.MapMode.READ_WRITE, NodeFiles.HEADER + r.pad(), r.length(), data);
                    via.readRange(entry.object(), r.offset(), d);
                }
            }
            gets.increment();
            bytes.add(r.length());
            NodeFiles.set(h, NodeFiles.H_STEP, step);
            NodeFiles.set(h, NodeFiles.H_OFFSET, r.offset());
            NodeFiles.set(h, NodeFiles.H_LENGTH, r.length());
            NodeFiles.set(h, NodeFiles.H_KEY, NodeFiles.hash(entry.object()));
            NodeFiles.set(h, NodeFiles.H_RANKS, ranks);
            NodeFiles.set(h, NodeFiles.H_RELEASED, 0);
            NodeFiles.set(h, NodeFiles.H_MAGIC, NodeFiles.STEP_MAGIC);
            failPoints.hit(BEFORE_PUBLISH);
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("node fetcher of " + dir + " is closed");
                }
                Object key = Files.readAttributes(tmp, BasicFileAttributes.class).fileKey();
                Files.move(tmp, fin, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                Published old = published.put(step, new Published(fin, key, header, h));
                if (old != null) {
                    old.arena().close();
                }
                newest = Math.max(newest, step);
                sweep(); // at once: never more than keepSteps files
            }
            ok = true;
            return r.length();
        } catch (IOException e) {
            throw new StoreException("node fetch of step " + step + " into " + tmp + " failed: " + e.getMessage(), entry.object(), e,
                    false);
        } finally {
            if (!ok) {
                header.close();
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the next fetcher's wipe removes it
                }
            }
            done(step);
        }
    }

    /** Step {@code step} was published or given up: advance the control file's watermark; sweep. */
    private synchronized void done(long step) {
        if (step >= doneBelow) {
            doneAbove.add(step);
            while (doneAbove.remove(doneBelow)) {
                doneBelow++;
            }
            if (!closed) {
                NodeFiles.set(ctl, NodeFiles.C_DONE_BELOW, doneBelow);
            }
        }
        sweep();
    }

    /** Removes the step files every local rank released, and those out of the window. */
    public synchronized void sweep() {
        Iterator<Map.Entry<Long, Published>> it = published.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<Long, Published> e = it.next();
            boolean released = (NodeFiles.get(e.getValue().header(), NodeFiles.H_RELEASED) & allReleased) == allReleased;
            if (released || e.getKey() <= newest - nf.keepSteps()) {
                remove(e.getValue());
                it.remove();
            }
        }
    }

    private static void remove(Published p) {
        try {
            Object now = Files.readAttributes(p.file(), BasicFileAttributes.class).fileKey();
            if (p.fileKey() == null || p.fileKey().equals(now)) {
                Files.deleteIfExists(p.file());
            }
        } catch (NoSuchFileException gone) {
            // removed already (a later fetcher's wipe)
        } catch (IOException ignored) {
            // the next fetcher's wipe removes it
        }
        p.arena().close();
    }

    @Override
    public void close() {
        // The other local ranks may not have mapped the last steps yet (this rank may finish its
        // iteration a moment before them): give them a short grace before the files go.
        long grace = Math.min(nf.waitMillis(), CLOSE_GRACE_MILLIS);
        long deadline = clock.monotonicNanos() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(grace);
        try {
            while (!allReleased() && clock.monotonicNanos() - deadline < 0) {
                clock.sleep(1);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeNow();
    }

    /** The longest a closing fetcher waits for its local ranks to release the steps it published. */
    static final long CLOSE_GRACE_MILLIS = 2_000;

    private synchronized boolean allReleased() {
        for (Published p : published.values()) {
            if ((NodeFiles.get(p.header(), NodeFiles.H_RELEASED) & allReleased) != allReleased) {
                return false;
            }
        }
        return true;
    }

    private synchronized void closeNow() {
        if (closed) {
            return;
        }
        closed = true;
        NodeFiles.set(ctl, NodeFiles.C_CLOSED, 1);
        for (Published p : published.values()) {
            remove(p);
        }
        published.clear();
        try {
            Path c = NodeFiles.ctlFile(dir);
            if (ctlKey == null || ctlKey.equals(Files.readAttributes(c, BasicFileAttributes.class).fileKey())) {
                Files.deleteIfExists(c);
            }
        } catch (IOException ignored) {
            // gone already, or a later fetcher's
        }
        try {
            Files.deleteIfExists(dir); // only if empty: a later fetcher's files are none of ours
        } catch (IOException ignored) {
            // not empty: a later fetcher's, or a file being written; left for the next wipe
        }
        ctlArena.close();
    }

    @Override
    public String toString() {
        return "NodeFetcher[" + dir + ", ranks " + firstRank + ".." + (firstRank + ranks - 1) + "]";
    }
}
