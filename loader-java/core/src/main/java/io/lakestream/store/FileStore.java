package io.lakestream.store;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The embedded {@code file://} store: a directory on a local or shared POSIX file system.
 *
 * <p>Every write goes to a hidden temporary file in the target's directory, is fsynced, and then
 * published atomically: {@code link(2)} for put-if-absent (fails if the name exists, atomic across
 * processes), {@code rename(2)} for put. The directory is fsynced after publishing so the name
 * survives a power loss. Readers therefore only ever see whole objects. Temporary names start
 * with '.', which {@link Keys} forbids for real keys, so listing skips them. On Linux the system
 * calls of a write are made through {@link PosixWrites} (no channel, descriptor or {@code Path}
 * on the heap per write), elsewhere through the JDK's channels; the steps are the same.
 *
 * <p>I/O errors are reported as retryable {@link StoreException}s (on a shared file system they
 * can be transient); {@link ObjectStores#open} puts a {@link RetryingStore} in front of it.
 */
public final class FileStore implements ObjectStore {
    private final Path root;
    private final String describe;
    /** The root's bytes and a '/', as the kernel takes a path (for {@link PosixReads} and {@link PosixWrites}). */
    private final byte[] rootSlash;
    /** Null: writes go through {@link #channels} (no such calls here, or a test's choice). */
    private final PosixWrites posix;
    /** The same steps through the JDK's channels, where {@link #posix} is null or a path is too long for it. */
    private final ChannelWrites channels;
    /**
     * Whether large objects from aligned native memory (the producer's batch objects) are written
     * with {@code O_DIRECT}; turned off for good when the file system refuses it.
     */
    private volatile boolean directWrites;
    /** Smaller objects go through the page cache even with direct writes: the copy they save is small. */
    private static final long DIRECT_MIN_BYTES = 128 << 10;

    public FileStore(Path root) {
        this(root, true, false);
    }

    /**
     * With {@code nativeWrites} false, writes through the JDK's channels even where
     * {@link PosixWrites} is bound (tests compare the two); {@code directWrites} as
     * {@link #open(Path, boolean, boolean)}'s.
     */
    FileStore(Path root, boolean nativeWrites, boolean directWrites) {
        this.posix = nativeWrites ? PosixWrites.get() : null;
        this.directWrites = directWrites && posix != null;
        this.root = root.toAbsolutePath().normalize();
        this.describe = "file://" + this.root;
        this.rootSlash = (this.root.toString() + "/").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        this.channels = new ChannelWrites(this.root, describe);
    }

    /**
     * Opens a store at an existing or new directory.
     *
     * @throws StreamNotFoundException if the directory does not exist and {@code create} is false
     */
    public static FileStore open(Path root, boolean create) {
        return open(root, create, false);
    }

    /**
     * As {@link #open(Path, boolean)}; with {@code directWrites}, batch objects (128 KiB or more,
     * from page-aligned native memory, as the producer encodes them) are written with direct I/O
     * ({@code O_DIRECT}, Linux): from the producer's buffer to the device, without a copy into
     * the page cache or its write-back, which roughly halves the producer's CPU per GB on a local
     * disk. The price: the written data is not in this machine's page cache, so a reader on the
     * same machine reads a fresh step from the device. Worth it where readers run on other
     * machines (a shared file system) or the producer's CPU is scarce. Where the file system has
     * no direct I/O (tmpfs on older kernels, some network file systems), or refuses the
     * alignment, objects are written through the page cache as without the option. The bytes,
     * names and durability (fdatasync before publishing) are the same either way.
     */
    public static FileStore open(Path root, boolean create, boolean directWrites) {
        Path r = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(r)) {
            if (!create) {
                // Readers open with create=false: a mistyped path is an error, never a new empty directory.
                throw new StreamNotFoundException("file://" + r, "directory " + r + " does not exist");
            }
            try {
                Files.createDirectories(r);
            } catch (IOException e) {
                throw new StoreException("cannot create store directory " + r + ": " + e, null, e);
            }
        }
        return new FileStore(r, true, directWrites);
    }

    /** Whether batch objects are now written with direct I/O (false once the file system refused it). */
    public boolean directWrites() {
        return directWrites;
    }

    public Path root() {
        return root;
    }

    @Override
    public String describe() {
        return describe;
    }

    private Path path(String key) {
        Keys.validate(key); // no '.', '..' or empty segments, not absolute: the resolved path is normal
        Path p = root.resolve(key);
        if (!p.startsWith(root)) { // defence in depth: Keys already forbids this
            throw new IllegalArgumentException("invalid object key '" + key + "': escapes the store root");
        }
        return p;
    }

    @Override
    public byte[] get(String key) {
        Path p = path(key);
        try {
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new NoSuchKeyException(describe(), key);
        } catch (IOException e) {
            throw new StoreException("read of " + key + " in " + describe() + " failed: " + e, key, e);
        }
    }

    /**
     * Without exceptions for an absent key (the common answer to a follower's or committer's look
     * for the next version): {@code access(2)} through {@link PosixWrites} (else
     * {@code Files.exists}) answers without a {@code Path}, and only a file deleted in between
     * costs the exception path.
     */
    @Override
    public Optional<byte[]> getIfPresent(String key) {
        PosixWrites.Names names = posix == null ? null : posix.names(rootSlash, Keys.validate(key));
        if (names != null && !posix.exists(names)) { // access(2): no Path, no attributes
            return Optional.empty();
        }
        Path p = path(key);
        if (names == null && !Files.exists(p)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.readAllBytes(p));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new StoreException("read of " + key + " in " + describe() + " failed: " + e, key, e);
        }
    }

    /**
     * Into the buffer's array through a {@code FileChannel}: its size, then the bytes. An object
     * is replaced by rename(2), so the open descriptor reads one version of it whole; fewer
     * bytes than its size (truncated under us, not by this store) is a failure.
     */
    @Override
    public boolean getIfPresent(String key, ReadBuffer into) {
        Path p = path(key);
        try (FileChannel ch = FileChannel.open(p, java.nio.file.StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE - 8) {
                throw new StoreException("read of " + key + " in " + describe() + " failed: " + size + " bytes do not fit an array",
                        key, null, false);
            }
            int n = (int) size;
            ByteBuffer to = ByteBuffer.wrap(into.fill(n), 0, n);
            while (to.hasRemaining() && ch.read(to) >= 0) {
                // read until full or the end of the file
            }
            if (to.hasRemaining()) {
                throw new StoreException("read of " + key + " in " + describe() + " failed: ended after " + to.position() + " of "
                        + n + " bytes", key, null);
            }
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            throw new StoreException("read of " + key + " in " + describe() + " failed: " + e, key, e);
        }
    }

    /** inotify on a local file system ({@link FileWatch}); null on a shared one, where another host's writes raise no event. */
    @Override
    public ChangeWatch watch(String prefix) {
        if (!prefix.endsWith("/")) {
            throw new IllegalArgumentException("watch prefix must name a directory (end in '/'): '" + prefix + "'");
        }
        return FileWatch.open(path(prefix.substring(0, prefix.length() - 1)));
    }

    /**
     * Into native memory through {@link PosixReads} (no heap garbage per read); anything else,
     * or a path too long for its buffer, through a {@code FileChannel}.
     */
    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        PosixReads posix = PosixReads.get();
        if (posix != null && dst.isNative()) {
            Keys.validate(key); // ASCII segments, no '.' or '..': the path stays under the root
            long r = posix.read(rootSlash, key, offset, dst, describe);
            if (r >= 0) {
                return;
            } else if (r == PosixReads.NO_SUCH_FILE) {
                throw new NoSuchKeyException(describe(), key);
            } else if (r == PosixReads.SHRANK) {
                throw new StoreException("object " + key + " shrank while reading", key);
            } else if (r == PosixReads.OUT_OF_RANGE) {
                readByChannel(key, offset, dst); // reads the size again and says what it is
                return;
            }
        }
        readByChannel(key, offset, dst);
    }

    private void readByChannel(String key, long offset, MemorySegment dst) {
        Path p = path(key);
        long want = dst.byteSize();
        try (FileChannel ch = FileChannel.open(p, ChannelWrites.READ, ChannelWrites.NO_ATTRIBUTES)) {
            long size = ch.size();
            if (offset < 0 || offset + want > size) {
                throw new StoreException("range [" + offset + ", " + (offset + want) + ") is outside object "
                        + key + " of " + size + " bytes in " + describe(), key, null, false);
            }
            ByteBuffer buf = dst.asByteBuffer();
            long pos = offset;
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new StoreException("object " + key + " shrank while reading", key);
                }
                pos += n;
            }
        } catch (NoSuchFileException e) {
            throw new NoSuchKeyException(describe(), key);
        } catch (IOException e) {
            throw new StoreException("ranged read of " + key + " in " + describe() + " failed: " + e, key, e);
        }
    }

    /**
     * As {@link ChannelWrites}'s temporary file, through {@link PosixWrites}: the same calls
     * ({@code open} with {@code O_CREAT | O_EXCL}, {@code write}, {@code fdatasync},
     * {@code close}) on the temporary name in {@code names}, without a channel or a {@code Path}.
     * Exactly one of {@code heap} and {@code memory} is given. A temporary file whose write
     * failed is removed.
     */
    private void writeTemp(PosixWrites.Names names, String key, byte[] heap, MemorySegment memory)
            throws IOException {
        boolean direct = directWrites && memory != null && isDirectWritable(memory);
        int fd;
        try {
            fd = direct ? createTempDirect(names) : posix.createTemp(names);
        } catch (NoSuchFileException e) {
            channels.makeDirectories(path(key).getParent()); // the first object of its directory
            fd = direct ? createTempDirect(names) : posix.createTemp(names);
        }
        try {
            if (heap != null) {
                posix.writeFully(names, fd, heap);
            } else if (!direct || !posix.writeDirect(names, fd, memory)) {
                if (direct) {
                    directWrites = false; // refused: this file system's direct I/O wants another alignment
                }
                posix.writeFully(names, fd, memory);
            }
            posix.syncData(names, fd);
        } catch (IOException | RuntimeException | Error e) {
            try {
                posix.close(names, fd);
            } catch (IOException closing) {
                e.addSuppressed(closing);
            }
            posix.unlinkTemp(names);
            throw e;
        }
        try {
            posix.close(names, fd);
        } catch (IOException e) {
            posix.unlinkTemp(names);
            throw e;
        }
    }

    /**
     * Whether a batch object goes to the device without the page cache: native memory aligned
     * as direct I/O asks, and large enough that the copy it saves outweighs the wait.
     */
    private static boolean isDirectWritable(MemorySegment memory) {
        return memory.isNative() && memory.byteSize() >= DIRECT_MIN_BYTES
                && memory.address() % PosixWrites.DIRECT_ALIGNMENT == 0;
    }

    /** A direct temporary file, or a cached one where the file system has no direct I/O (then never asked again). */
    private int createTempDirect(PosixWrites.Names names) throws IOException {
        int fd = posix.createTempDirect(names);
        if (fd >= 0) {
            return fd;
        }
        directWrites = false;
        posix.unlinkTemp(names); // some kernels create the file before they refuse the flag
        return posix.createTemp(names);
    }

    @Override
    public void put(String key, byte[] data) {
        PosixWrites.Names names = posix == null ? null : posix.names(rootSlash, Keys.validate(key));
        if (names != null) {
            put(names, key, data);
            return;
        }
        channels.put(key, path(key), data);
    }

    /** {@link #put(String, byte[])}'s steps through {@link PosixWrites}: temporary file, {@code rename(2)}, directory fsync. */
    private void put(PosixWrites.Names names, String key, byte[] data) {
        boolean tmp = false;
        try {
            writeTemp(names, key, data, null);
            tmp = true;
            try {
                posix.rename(names);
            } catch (AtomicMoveNotSupportedException e) {
                throw new StoreException("file system of " + describe() + " has no atomic rename", key, e, false);
            }
            tmp = false;
            posix.syncDirectory(names);
        } catch (IOException e) {
            throw new StoreException("write of " + key + " in " + describe() + " failed: " + e, key, e);
        } finally {
            if (tmp) {
                posix.unlinkTemp(names);
            }
        }
    }

    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        PosixWrites.Names names = posix == null ? null : posix.names(rootSlash, Keys.validate(key));
        return names != null ? putIfAbsent(names, key, data, null, true, null)
                : channels.putIfAbsent(key, path(key), ByteBuffer.wrap(data), true);
    }

    /**
     * From off-heap memory: {@code write(2)} of the segment itself through {@link PosixWrites}
     * (else {@code FileChannel.write}), no heap or temporary copy.
     */
    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        return putSegmentIfAbsent(key, data, syncName, null);
    }

    /**
     * {@code beforePublish} runs after the temporary file's fdatasync and before the {@code link(2)}
     * (through {@link PosixWrites}; the channel fallback runs it first): a commit's directory sync of
     * its batch objects overlaps the version's own write and fdatasync.
     */
    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName, Runnable beforePublish) {
        return putSegmentIfAbsent(key, data, syncName, java.util.Objects.requireNonNull(beforePublish, "beforePublish"));
    }

    private boolean putSegmentIfAbsent(String key, MemorySegment data, boolean syncName, Runnable beforePublish) {
        PosixWrites.Names names = posix == null ? null : posix.names(rootSlash, Keys.validate(key));
        if (names != null) {
            return putIfAbsent(names, key, null, data, syncName, beforePublish);
        }
        if (beforePublish != null) {
            beforePublish.run();
        }
        return channels.putIfAbsent(key, path(key), data.asByteBuffer(), syncName);
    }

    /**
     * The steps of {@link ChannelWrites#putIfAbsent} through {@link PosixWrites}:
     * an early look ({@code access(2)}), the temporary file, the caller's barrier (if any),
     * {@code link(2)} as the arbiter, the directory's fsync, and the temporary name removed in every case.
     */
    private boolean putIfAbsent(PosixWrites.Names names, String key, byte[] heap, MemorySegment memory,
                                boolean syncName, Runnable beforePublish) {
        if (posix.exists(names)) { // cheap early exit; the link below is the real arbiter
            return false;
        }
        boolean tmp = false;
        try {
            writeTemp(names, key, heap, memory);
            tmp = true;
            if (beforePublish != null) {
                beforePublish.run(); // a throw leaves nothing published: the temporary name goes below
            }
            if (!posix.link(names)) {
                return false;
            }
            if (syncName) {
                posix.syncDirectory(names);
            }
            return true;
        } catch (IOException e) {
            throw new StoreException("conditional write of " + key + " in " + describe() + " failed: " + e, key, e);
        } finally {
            if (tmp) {
                posix.unlinkTemp(names);
            }
        }
    }

    /** One directory fsync per distinct directory of {@code keys}. */
    @Override
    public void syncNames(Collection<String> keys) {
        Path last = null;
        String lastKey = null;
        for (String key : keys) {
            if (lastKey != null && sameDirectory(key, lastKey)) {
                Keys.validate(key);
                continue; // a producer's batch objects share one directory: the usual case is one sync (and one path)
            }
            PosixWrites.Names names = posix == null ? null : posix.names(rootSlash, Keys.validate(key));
            if (names != null) {
                lastKey = key;
                try {
                    posix.syncDirectory(names);
                } catch (IOException e) {
                    throw new StoreException("directory sync of " + path(key).getParent() + " in " + describe() + " failed: " + e,
                            key, e);
                }
                continue;
            }
            Path dir = path(key).getParent();
            lastKey = key;
            if (dir.equals(last)) {
                continue;
            }
            try {
                ChannelWrites.fsyncDir(dir);
            } catch (IOException e) {
                throw new StoreException("directory sync of " + dir + " in " + describe() + " failed: " + e, key, e);
            }
            last = dir;
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        Path p = path(key);
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return Optional.of(new ObjectInfo(key, a.size(), a.lastModifiedTime().toMillis()));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new StoreException("stat of " + key + " in " + describe() + " failed: " + e, key, e);
        }
    }

    @Override
    public void delete(String key) {
        Path p = path(key);
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new StoreException("delete of " + key + " in " + describe() + " failed: " + e, key, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        String pre = Keys.validatePrefix(prefix);
        int slash = pre.lastIndexOf('/');
        String dirKey = slash < 0 ? "" : pre.substring(0, slash);
        Path dir = dirKey.isEmpty() ? root : root.resolve(dirKey);
        List<ObjectInfo> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try {
            walk(dir, dirKey, pre, startAfter, out);
        } catch (IOException e) {
            throw new StoreException("list of " + prefix + " in " + describe() + " failed: " + e, prefix, e);
        }
        // Keys use an ASCII alphabet, so String order is the binary UTF-8 order S3 uses.
        out.sort((a, b) -> a.key().compareTo(b.key()));
        return out.size() > limit ? new ArrayList<>(out.subList(0, limit)) : out;
    }

    private void walk(Path dir, String dirKey, String prefix, String startAfter, List<ObjectInfo> out) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path child : ds) {
                String name = child.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                String key = dirKey.isEmpty() ? name : dirKey + "/" + name;
                BasicFileAttributes a;
                try {
                    a = Files.readAttributes(child, BasicFileAttributes.class);
                } catch (NoSuchFileException gone) {
                    continue; // deleted concurrently
                }
                if (a.isDirectory()) {
                    // descend only where keys below could still match the prefix
                    String sub = key + "/";
                    if (sub.startsWith(prefix) || prefix.startsWith(sub)) {
                        walk(child, key, prefix, startAfter, out);
                    }
                } else if (key.startsWith(prefix) && (startAfter == null || key.compareTo(startAfter) > 0)) {
                    out.add(new ObjectInfo(key, a.size(), a.lastModifiedTime().toMillis()));
                }
            }
        } catch (NoSuchFileException gone) {
            // directory removed concurrently: nothing below it
        }
    }

    /** Whether two keys name objects of one directory (the same text up to the last '/'), compared in place. */
    private static boolean sameDirectory(String a, String b) {
        int slash = a.lastIndexOf('/');
        return slash == b.lastIndexOf('/') && a.regionMatches(0, b, 0, Math.max(0, slash));
    }

    @Override
    public void close() {}
}
