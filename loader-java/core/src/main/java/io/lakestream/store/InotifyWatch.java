package io.lakestream.store;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * {@link ChangeWatch} of one directory through inotify(7) itself, read by the thread that waits.
 *
 * <p>Why not the JDK's {@code WatchService} ({@link FileWatch}, still used where this cannot
 * bind): that service reads inotify on a thread of its own and hands each event to the waiter
 * through a queue, so every new log file wakes two threads, and every write's hidden temporary
 * file wakes them too. On the 2-core machines this project measures on, each wake-up costs about
 * 0.1 ms of CPU, and the service thread was 0.2–0.5 ms of a trainer's CPU per step (issue 20).
 * Here the follower polls the inotify descriptor and reads the events itself: one wake-up per
 * event, none on another thread.
 *
 * <p>Lifecycle: {@link #close} may come from another thread while one waits. It marks the watch
 * closed and writes to an eventfd the waiter polls with the inotify descriptor, so the waiter
 * returns at once; the descriptors are closed by whichever of the two leaves last, so a waiter
 * never polls or reads a descriptor number the process may already have reused. Only one thread
 * waits at a time (the follower's); the buffers are that waiter's.
 */
final class InotifyWatch implements ChangeWatch {
    // asm-generic values: the same on x86-64 and aarch64, the ports Libc.onLinuxX64OrAarch64 binds on
    private static final int IN_NONBLOCK = 0x800;
    private static final int IN_CLOEXEC = 0x80000;
    private static final int IN_MOVED_TO = 0x80;
    private static final int IN_CREATE = 0x100;
    private static final int IN_DELETE_SELF = 0x400;
    private static final int IN_MOVE_SELF = 0x800;
    private static final int IN_Q_OVERFLOW = 0x4000;
    private static final int IN_IGNORED = 0x8000;
    private static final int IN_ONLYDIR = 0x1000000;
    private static final int EAGAIN = 11;
    private static final short POLLIN = 1;
    /** struct inotify_event without its name: wd, mask, cookie, len. */
    private static final int EVENT_HEADER = 16;
    private static final int EVENT_BUFFER = 16 * 1024;

    private static final MethodHandle INOTIFY_INIT1;
    private static final MethodHandle INOTIFY_ADD_WATCH;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle POLL;
    private static final MethodHandle READ;
    private static final MethodHandle WRITE;
    private static final MethodHandle CLOSE;
    private static final boolean BOUND;

    static {
        Libc libc = Libc.onLinuxX64OrAarch64();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfLong l = ValueLayout.JAVA_LONG;
        INOTIFY_INIT1 = libc.find("inotify_init1", FunctionDescriptor.of(i, i));
        INOTIFY_ADD_WATCH = libc.find("inotify_add_watch", FunctionDescriptor.of(i, i, ValueLayout.ADDRESS, i));
        EVENTFD = libc.find("eventfd", FunctionDescriptor.of(i, i, i));
        POLL = libc.find("poll", FunctionDescriptor.of(i, ValueLayout.ADDRESS, l, i));
        READ = libc.find("read", FunctionDescriptor.of(l, i, ValueLayout.ADDRESS, l));
        WRITE = libc.findIgnoringErrno("write", FunctionDescriptor.of(l, i, ValueLayout.ADDRESS, l));
        CLOSE = libc.findIgnoringErrno("close", FunctionDescriptor.of(i, i));
        BOUND = libc.bound();
    }

    private final Arena arena = Arena.ofShared();
    private final int inotify;
    private final int wake;
    /** Two struct pollfd: the inotify descriptor, then the eventfd. */
    private final MemorySegment pollFds;
    private final MemorySegment events;
    private final MemorySegment state;
    private final MemorySegment one;
    private volatile boolean closed; // written holding this
    private boolean waiting; // guarded by this
    private boolean fdsClosed; // guarded by this
    private volatile boolean broken;

    private InotifyWatch(int inotify, int wake) {
        this.inotify = inotify;
        this.wake = wake;
        pollFds = arena.allocate(16, 4);
        pollFds.set(ValueLayout.JAVA_INT, 0, inotify);
        pollFds.set(ValueLayout.JAVA_SHORT, 4, POLLIN);
        pollFds.set(ValueLayout.JAVA_INT, 8, wake);
        pollFds.set(ValueLayout.JAVA_SHORT, 12, POLLIN);
        events = arena.allocate(EVENT_BUFFER, 8);
        state = arena.allocate(Libc.STATE);
        one = arena.allocate(ValueLayout.JAVA_LONG);
        one.set(ValueLayout.JAVA_LONG, 0, 1L);
    }

    /** Whether this platform's libc bound (Linux on x86-64 or aarch64, native access granted). */
    static boolean available() {
        return BOUND;
    }

    /** A watch of the directory {@code dir} for new names, or null if inotify cannot watch it (then the caller falls back). */
    static InotifyWatch open(Path dir) {
        if (!BOUND) {
            return null;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment st = a.allocate(Libc.STATE);
            int in = (int) INOTIFY_INIT1.invokeExact(st, IN_NONBLOCK | IN_CLOEXEC);
            if (in < 0) {
                return null;
            }
            int ev = (int) EVENTFD.invokeExact(st, 0, IN_NONBLOCK | IN_CLOEXEC); // EFD_* equal IN_* (O_NONBLOCK, O_CLOEXEC)
            if (ev < 0) {
                int ignored = (int) CLOSE.invokeExact(in);
                return null;
            }
            byte[] name = dir.toString().getBytes(StandardCharsets.UTF_8);
            MemorySegment path = a.allocate(name.length + 1L);
            MemorySegment.copy(name, 0, path, ValueLayout.JAVA_BYTE, 0, name.length);
            int wd = (int) INOTIFY_ADD_WATCH.invokeExact(st, in, path,
                    IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
            if (wd < 0) {
                int ignored = (int) CLOSE.invokeExact(in);
                ignored = (int) CLOSE.invokeExact(ev);
                return null; // no such directory, not a directory, no permission: poll
            }
            return new InotifyWatch(in, ev);
        } catch (Throwable t) {
            return null;
        }
    }

    @Override
    public boolean await(long nanos) throws InterruptedException {
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (waiting) {
                throw new IllegalStateException("one thread waits on a watch at a time");
            }
            waiting = true;
        }
        try {
            return awaitEvents(nanos);
        } finally {
            synchronized (this) {
                waiting = false;
                if (closed) {
                    closeFds();
                }
            }
        }
    }

    private boolean awaitEvents(long nanos) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, nanos);
        try {
            while (true) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (drain()) {
                    return true;
                }
                long left = deadline - System.nanoTime();
                if (closed || broken || left <= 0) {
                    return false;
                }
                // whole milliseconds, rounded up (poll's unit), at most ~1 s so an interrupt is seen
                int ms = (int) Math.min(1_000, (left + 999_999) / 1_000_000);
                int n = (int) POLL.invokeExact(state, pollFds, 2L, ms);
                if (n < 0 && (int) Libc.ERRNO.get(state, 0L) != Libc.EINTR) {
                    broken = true;
                    return false;
                }
            }
        } catch (InterruptedException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Reads every queued event; true if one names a visible new entry or events were lost. */
    private boolean drain() throws Throwable {
        boolean created = false;
        while (true) {
            long n = (long) READ.invokeExact(state, inotify, events, (long) EVENT_BUFFER);
            if (n <= 0) {
                if (n < 0) {
                    int errno = (int) Libc.ERRNO.get(state, 0L);
                    if (errno == Libc.EINTR) {
                        continue;
                    }
                    if (errno != EAGAIN) {
                        broken = true;
                    }
                }
                return created;
            }
            for (long at = 0; at + EVENT_HEADER <= n; ) {
                int mask = events.get(ValueLayout.JAVA_INT, at + 4);
                int len = events.get(ValueLayout.JAVA_INT, at + 12);
                if ((mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
                    broken = true; // the directory went away or moved: the caller polls from now on
                }
                // IN_Q_OVERFLOW: the kernel dropped events, so something may have been created.
                // A name starting with '.' is a write's temporary file, not an object.
                created |= (mask & IN_Q_OVERFLOW) != 0
                        || ((mask & (IN_CREATE | IN_MOVED_TO)) != 0 && len > 0 && events.get(ValueLayout.JAVA_BYTE, at + EVENT_HEADER) != '.');
                at += EVENT_HEADER + len;
            }
        }
    }

    @Override
    public boolean broken() {
        return closed || broken;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            if (waiting) {
                try {
                    long ignored = (long) WRITE.invokeExact(wake, one, 8L); // the waiter's poll returns; it closes the descriptors
                } catch (Throwable t) {
                    // the waiter's poll returns within a second anyway
                }
            } else {
                closeFds();
            }
        }
    }

    /** Closes both descriptors and the buffers, once, when nobody waits (holds this). */
    private void closeFds() {
        if (fdsClosed) {
            return;
        }
        fdsClosed = true;
        try {
            int ignored = (int) CLOSE.invokeExact(inotify);
            ignored = (int) CLOSE.invokeExact(wake);
        } catch (Throwable t) {
            // nothing was written: closing a watch's descriptors cannot lose anything
        }
        arena.close();
    }
}
