package io.lakestream.store;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@link ChangeWatch} of one directory of a {@link FileStore}: inotify, so a waiting follower
 * sleeps in the kernel until a name is linked into the directory instead of waking every few
 * milliseconds to look. {@link #open} picks {@link InotifyWatch} (the waiter reads inotify itself)
 * where libc binds, and this class, the JDK's {@link WatchService} (inotify read on a service
 * thread), elsewhere.
 *
 * <p>Only for file systems whose changes this kernel sees as they happen: a local one. On a
 * shared file system (NFS, Lustre, CIFS, FUSE mounts) another host's writes raise no event here,
 * so {@link #open} returns null there and the follower keeps polling. Hidden names (a write's
 * temporary file, '.'-prefixed) are not objects and do not count.
 */
final class FileWatch implements ChangeWatch {
    /** File system types (as {@link java.nio.file.FileStore#type} names them) whose every change is local. */
    private static final Set<String> LOCAL = Set.of("ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "zfs",
            "f2fs", "ramfs");
    /**
     * Only Linux's WatchService is the kernel's (inotify); elsewhere the JDK may scan the
     * directory every couple of seconds, later than the follower's own fallback look.
     */
    private static final boolean KERNEL_EVENTS = System.getProperty("os.name", "").startsWith("Linux");

    private final WatchService service;
    private final WatchKey key;
    private volatile boolean closed;

    private FileWatch(WatchService service, WatchKey key) {
        this.service = service;
        this.key = key;
    }

    /**
     * A watch of {@code dir}, or null where events would not be complete (not a local file
     * system, or no such directory): {@link InotifyWatch} where it binds, else the JDK's service.
     */
    static ChangeWatch open(Path dir) {
        try {
            if (!KERNEL_EVENTS || !Files.isDirectory(dir) || !local(Files.getFileStore(dir).type())) {
                return null;
            }
            ChangeWatch own = InotifyWatch.open(dir);
            return own != null ? own : openService(dir);
        } catch (IOException | UnsupportedOperationException e) {
            return null; // no watch: the caller polls, as it would on any other store
        }
    }

    /** The JDK's {@link WatchService} on {@code dir} (a local directory), or null (package-private for tests). */
    static FileWatch openService(Path dir) {
        try {
            WatchService s = FileSystems.getDefault().newWatchService();
            try {
                return new FileWatch(s, dir.register(s, StandardWatchEventKinds.ENTRY_CREATE));
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        } catch (IOException | UnsupportedOperationException e) {
            return null; // no watch: the caller polls, as it would on any other store
        }
    }

    /** Whether a file system of this type sees every change as it happens (package-private for tests). */
    static boolean local(String type) {
        return LOCAL.contains(type);
    }

    @Override
    public boolean await(long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, nanos);
        try {
            while (!closed) {
                long left = deadline - System.nanoTime();
                WatchKey k = left > 0 ? service.poll(left, TimeUnit.NANOSECONDS) : service.poll();
                if (k == null) {
                    return false;
                }
                boolean created = false;
                for (WatchEvent<?> e : k.pollEvents()) {
                    // OVERFLOW: the kernel dropped events, so something may have been created
                    created |= e.kind() == StandardWatchEventKinds.OVERFLOW
                            || !(e.context() instanceof Path p && p.getFileName().toString().startsWith("."));
                }
                k.reset();
                if (created) {
                    return true;
                }
                if (left <= 0) {
                    return false;
                }
            }
        } catch (ClosedWatchServiceException e) {
            // closed while waiting
        }
        return false;
    }

    @Override
    public boolean broken() {
        return closed || !key.isValid();
    }

    @Override
    public void close() {
        closed = true;
        try {
            service.close();
        } catch (IOException e) {
            // nothing was written: closing the inotify descriptor cannot lose anything
        }
    }
}
