package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The file store's change signal: a put under the watched prefix wakes a waiter (also one that
 * starts waiting after the put), a write's hidden temporary file and other directories do not,
 * closing releases a waiter, and shared file systems get no watch (their other hosts' writes
 * raise no local event). The negative cases wait a bounded 200 ms for an event that must not come.
 * Each case runs on both kinds of watch: {@link InotifyWatch} (what {@code FileStore.watch} gives
 * on Linux) and the JDK's {@code WatchService} ({@link FileWatch}, the fallback).
 */
class FileWatchTest {
    private static final long LONG = TimeUnit.SECONDS.toNanos(20); // only a broken watch waits this long
    private static final long SHORT = TimeUnit.MILLISECONDS.toNanos(200);

    @TempDir
    Path dir;

    private FileStore store() throws Exception {
        FileStore fs = FileStore.open(dir.resolve("s"), true);
        Files.createDirectories(fs.root().resolve("_log"));
        Files.createDirectories(fs.root().resolve("data"));
        return fs;
    }

    /** The watch of {@code _log/} of the kind a case runs on. */
    private static ChangeWatch watch(FileStore fs, String kind) {
        Function<java.nio.file.Path, ChangeWatch> open = kind.equals("inotify") ? InotifyWatch::open : FileWatch::openService;
        return open.apply(fs.root().resolve("_log"));
    }

    @Test
    void theStoresWatchReadsInotifyItselfOnLinux() throws Exception {
        FileStore fs = store();
        try (ChangeWatch w = fs.watch("_log/")) {
            assertTrue(InotifyWatch.available(), "libc binds on this Linux machine");
            assertTrue(w instanceof InotifyWatch, "no service thread between inotify and the follower: " + w);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"inotify", "service"})
    void aPutUnderThePrefixWakesAWaiter(String kind) throws Exception {
        FileStore fs = store();
        try (ChangeWatch w = watch(fs, kind)) {
            assertNotNull(w, "a temp directory on this machine is a local file system");
            assertFalse(w.await(0), "nothing created yet");
            CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
                try {
                    return w.await(LONG);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(fs.putIfAbsent("_log/00000000000000000001.json", new byte[] {'{', '}'}));
            assertTrue(waiter.get(30, TimeUnit.SECONDS), "the link(2) of the new name woke it");
            fs.put("_log/00000000000000000002.json", new byte[] {'{', '}'});
            assertTrue(w.await(LONG), "a put before the wait counts at once");
            assertFalse(w.await(0), "and only once");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"inotify", "service"})
    void hiddenTemporaryFilesAndOtherDirectoriesDoNotCount(String kind) throws Exception {
        FileStore fs = store();
        try (ChangeWatch w = watch(fs, kind)) {
            Files.write(fs.root().resolve("_log/.00000000000000000001.json.1f.tmp"), new byte[1]);
            fs.put("data/p/00000001-000000000001.tgb", new byte[16]);
            assertFalse(w.await(SHORT), "a write's temporary file and a batch object are no new log file");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"inotify", "service"})
    void closingReleasesAWaiterAndEndsTheWatch(String kind) throws Exception {
        FileStore fs = store();
        ChangeWatch w = watch(fs, kind);
        CompletableFuture<Boolean> waiter = CompletableFuture.supplyAsync(() -> {
            try {
                return w.await(LONG);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        w.close();
        assertFalse(waiter.get(30, TimeUnit.SECONDS));
        assertTrue(w.broken());
        fs.put("_log/00000000000000000001.json", new byte[] {'{', '}'});
        assertFalse(w.await(LONG), "a closed watch returns at once");
        w.close(); // idempotent
    }

    @ParameterizedTest
    @ValueSource(strings = {"inotify", "service"})
    void aRemovedDirectoryBreaksTheWatchSoTheFollowerPolls(String kind) throws Exception {
        FileStore fs = store();
        try (ChangeWatch w = watch(fs, kind)) {
            assertFalse(w.broken());
            Files.delete(fs.root().resolve("_log"));
            // the kernel's last events for the watch (self deleted, watch ignored) end a wait; the
            // JDK's service reads them on its own thread, so a waiter may need a few rounds
            for (int i = 0; i < 100 && !w.broken(); i++) {
                w.await(SHORT);
            }
            assertTrue(w.broken(), "a vanished directory raises no more events: the caller must poll");
        }
    }

    @Test
    void aWatchOfNoDirectoryIsNone() throws Exception {
        FileStore fs = store();
        assertNull(InotifyWatch.open(fs.root().resolve("missing")));
        Files.write(fs.root().resolve("plain"), new byte[1]);
        assertNull(InotifyWatch.open(fs.root().resolve("plain")), "a file is no directory to watch");
    }

    @Test
    void noWatchWhereEventsWouldBeIncomplete() throws Exception {
        FileStore fs = store();
        assertNull(fs.watch("missing/"), "no such directory: poll");
        assertThrows(IllegalArgumentException.class, () -> fs.watch("_log"));
        for (String shared : new String[] {"nfs", "nfs4", "lustre", "cifs", "smb3", "fuse.sshfs", "ceph", "9p"}) {
            assertFalse(FileWatch.local(shared), shared + ": another host's writes raise no event here");
        }
        for (String local : new String[] {"ext4", "xfs", "tmpfs", "btrfs"}) {
            assertTrue(FileWatch.local(local), local);
        }
    }
}
