package io.lakestream.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@link FileStore}'s write steps through the JDK's {@code FileChannel} and {@code Files}: where
 * {@link PosixWrites} is not bound (not Linux on x86-64 or aarch64), for a path too long for its
 * buffer, and in tests that compare the two. The protocol is FileStore's: a hidden temporary file
 * next to the target, its data made durable ({@code fdatasync}), then published atomically
 * ({@code link(2)} for put-if-absent, {@code rename(2)} for put) and the directory fsynced. Each
 * write leaves a channel, its descriptor and cleaner and a few {@code Path}s on the heap, which is
 * why Linux does without it.
 */
final class ChannelWrites {
    static final Set<StandardOpenOption> READ = Set.of(StandardOpenOption.READ);
    static final java.nio.file.attribute.FileAttribute<?>[] NO_ATTRIBUTES = {};
    private static final Set<StandardOpenOption> CREATE_NEW = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);

    private final Path root;
    private final String describe;

    ChannelWrites(Path root, String describe) {
        this.root = root;
        this.describe = describe;
    }

    /** Writes {@code data} at {@code p} (key {@code key}), replacing what is there: temporary file, atomic rename, directory fsync. */
    void put(String key, Path p, byte[] data) {
        Path tmp = null;
        try {
            tmp = writeTemp(p, ByteBuffer.wrap(data));
            try {
                Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new StoreException("file system of " + describe + " has no atomic rename", key, e, false);
            }
            tmp = null;
            fsyncDir(p.getParent());
        } catch (IOException e) {
            throw new StoreException("write of " + key + " in " + describe + " failed: " + e, key, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /**
     * Writes {@code data} at {@code p} only if nothing is there: a cheap early look, the
     * temporary file, {@code link(2)} as the arbiter (it fails if the name exists, atomically
     * across processes), the directory's fsync if {@code syncName}; the temporary name is removed
     * in every case.
     */
    boolean putIfAbsent(String key, Path p, ByteBuffer data, boolean syncName) {
        if (Files.exists(p)) { // cheap early exit; the link below is the real arbiter
            return false;
        }
        Path tmp = null;
        try {
            tmp = writeTemp(p, data);
            try {
                Files.createLink(p, tmp);
            } catch (FileAlreadyExistsException e) {
                return false;
            }
            if (syncName) {
                fsyncDir(p.getParent());
            }
            return true;
        } catch (IOException e) {
            throw new StoreException("conditional write of " + key + " in " + describe + " failed: " + e, key, e);
        } finally {
            deleteQuietly(tmp);
        }
    }

    /**
     * Writes {@code b} to a new hidden file next to {@code target} and makes its bytes durable
     * ({@code fdatasync}: the data and the size, which is what reading it back needs). A direct
     * buffer (an off-heap segment) goes to the kernel without the JDK's temporary copy.
     */
    private Path writeTemp(Path target, ByteBuffer b) throws IOException {
        Path dir = target.getParent();
        String name = target.getFileName().toString();
        Path tmp = dir.resolve(new StringBuilder(name.length() + 22).append('.').append(name).append('.')
                .append(Long.toHexString(ThreadLocalRandom.current().nextLong())).append(".tmp").toString());
        FileChannel opened;
        try {
            opened = FileChannel.open(tmp, CREATE_NEW, NO_ATTRIBUTES);
        } catch (NoSuchFileException e) {
            makeDirectories(dir); // the first object of its directory
            opened = FileChannel.open(tmp, CREATE_NEW);
        }
        try (FileChannel ch = opened) {
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(false);
        }
        return tmp;
    }

    /** Creates {@code dir} and its missing parents, and makes the new directories' names durable. */
    void makeDirectories(Path dir) throws IOException {
        Files.createDirectories(dir);
        for (Path d = dir.getParent(); d != null && d.startsWith(root); d = d.getParent()) {
            fsyncDir(d);
        }
    }

    /** Makes the names in {@code dir} durable. */
    static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, READ, NO_ATTRIBUTES)) { // no varargs option set per call
            ch.force(true);
        }
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover hidden temp file is invisible to readers and listing
            }
        }
    }
}
