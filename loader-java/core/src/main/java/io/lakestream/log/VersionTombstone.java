package io.lakestream.log;

import java.nio.charset.StandardCharsets;

/**
 * What log GC leaves at the key of a reclaimed manifest version: {@code {"reclaimed":true,"version":v}}
 * in place of the version's content (a PUT that replaces it), never nothing.
 *
 * <p>Why not delete: a version key is created by put-if-absent, so a deleted key can be created
 * again, and a committer that froze (a GC pause, SIGSTOP) between checking the head and sending
 * its put would then re-create an old version out of the stream's history, with a batch that is
 * in no reader's history. A tombstone keeps the key taken forever: such a put finds it present,
 * reads back a tombstone, and the committer re-reads the log. A follower that finds a tombstone
 * knows its state was reclaimed and reloads from a snapshot, with no clock involved. A tombstone
 * costs one small object per reclaimed version; every version file is larger than
 * {@link #MAX_BYTES}, so a listing tells them apart by size.
 */
public final class VersionTombstone {
    /** A tombstone is at most this long; a version file is always longer. */
    public static final int MAX_BYTES = 64;
    private static final byte[] PREFIX = "{\"reclaimed\":true,".getBytes(StandardCharsets.US_ASCII);

    private VersionTombstone() {}

    /** The tombstone of version {@code v}. */
    public static byte[] bytes(long v) {
        return ("{\"reclaimed\":true,\"version\":" + v + "}").getBytes(StandardCharsets.US_ASCII);
    }

    /** Whether {@code b} (a version key's content) is a tombstone. */
    public static boolean is(byte[] b) {
        if (b.length > MAX_BYTES || b.length < PREFIX.length) {
            return false;
        }
        for (int i = 0; i < PREFIX.length; i++) {
            if (b[i] != PREFIX[i]) {
                return false;
            }
        }
        return true;
    }
}
