package io.lakestream.reader;

import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.ObjectSizeMismatchException;
import io.lakestream.format.ShardEntry;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Reading one stored shard: ranged read, CRC32C check against the manifest, decode. */
public final class ShardReads {
    private ShardReads() {}

    /**
     * The most bytes a reader sizes from a manifest entry's lengths without first asking the store
     * how long the object really is. Entry validation keeps every shard inside {@code object_size}
     * and every raw length within what the codec can produce from it, so once {@code object_size}
     * is confirmed, every buffer is bounded by the real object; below this bound a wrong size costs
     * at most this much memory and is caught by the short read ({@link #explainShortRead}).
     */
    static final long UNCHECKED_BYTES = 64L << 20;

    /**
     * Before sizing {@code need} bytes (negative: the sum overflowed) from {@code entry}'s lengths:
     * above {@link #UNCHECKED_BYTES}, one HEAD must show the object is exactly {@code object_size}
     * bytes long. Fails with {@link ObjectSizeMismatchException} naming stream, step, rank and key;
     * a missing object is {@link NoSuchKeyException}, as a read would say.
     */
    static void boundByObject(ObjectStore store, TgbEntry entry, long need, String stream, long step, int rank) {
        if (need >= 0 && need <= UNCHECKED_BYTES) {
            return;
        }
        ObjectInfo info = store.stat(entry.object()).orElseThrow(() -> new NoSuchKeyException(stream, entry.object()));
        if (info.size() != entry.objectSize() || need < 0) {
            throw mismatch(entry, info.size(), need, stream, step, rank);
        }
    }

    /**
     * A ranged read of {@code entry}'s object failed with {@code e} (not a missing object): if the
     * object is shorter than the entry says, that is the corrupt entry's fault, reported as such;
     * otherwise {@code e} itself.
     */
    static RuntimeException explainShortRead(ObjectStore store, TgbEntry entry, StoreException e, String stream, long step, int rank) {
        java.util.Optional<ObjectInfo> info;
        try {
            info = store.stat(entry.object());
        } catch (RuntimeException statFailed) {
            return e;
        }
        if (info.isPresent() && info.get().size() != entry.objectSize()) {
            ObjectSizeMismatchException m = mismatch(entry, info.get().size(), -1, stream, step, rank);
            m.addSuppressed(e);
            return m;
        }
        return e;
    }

    private static ObjectSizeMismatchException mismatch(TgbEntry entry, long real, long need, String stream, long step, int rank) {
        return new ObjectSizeMismatchException("stream " + stream + " step " + step + (rank >= 0 ? " rank " + rank : "") + " object "
                + entry.object() + " (TGB " + entry.producer() + "/" + entry.epoch() + "-" + entry.seq() + "): the manifest says "
                + "object_size " + entry.objectSize() + " but the object has " + real + " bytes"
                + (need != 0 && (need < 0 || need > UNCHECKED_BYTES) ? "; nothing was allocated for its "
                + (need < 0 ? "overflowing" : need + "-byte") + " shard lengths" : ""), stream, step, rank, entry.object(),
                entry.objectSize(), real);
    }

    /** Reads exactly {@code dst.byteSize()} bytes of {@code key} at {@code offset} (the store's retry layer retries). */
    static void read(ObjectStore store, String key, long offset, MemorySegment dst) {
        store.readRange(key, offset, dst);
    }

    /**
     * Checks {@code stored} against the shard's CRC32C; on a mismatch reads it once more (a torn
     * transfer heals, corruption at rest does not) before failing with the stream's words.
     */
    static void verify(ObjectStore store, String key, MemorySegment stored, ShardEntry shard, String where) {
        long crc = Crc32c.of(stored);
        if (crc != shard.crc32c()) {
            read(store, key, shard.offset(), stored);
            crc = Crc32c.of(stored);
        }
        if (crc != shard.crc32c()) {
            throw new ChecksumMismatchException("checksum mismatch in " + where + " (bytes " + shard.offset() + ".."
                    + (shard.offset() + shard.length()) + "): manifest crc32c " + Long.toHexString(shard.crc32c()) + ", read "
                    + Long.toHexString(crc));
        }
    }

    /** The tensor blob of a verified stored shard: {@code stored} itself, or decoded into {@code rawDst}. */
    static MemorySegment decode(MemorySegment stored, ShardEntry shard, Codec codec, MemorySegment rawDst, String where) {
        if (codec == Codec.LZ4) {
            Lz4Frames.decode(stored, rawDst, where);
            return rawDst;
        }
        if (shard.rawLength() != shard.length()) {
            throw new FormatException(where + ": uncompressed shard has raw_length " + shard.rawLength() + " != length "
                    + shard.length());
        }
        return stored;
    }

    /**
     * Reads, verifies and decodes shard {@code index} of {@code entry} into memory of
     * {@code arena}: the shard's tensor blob (for tools such as lineage; the read path uses pool memory).
     */
    public static MemorySegment readBlob(ObjectStore store, TgbEntry entry, int index, Arena arena, String where) {
        ShardEntry shard = entry.shards().get(index);
        Codec codec = Codec.parse(entry.codec(), where);
        boundByObject(store, entry, shard.length() + (codec == Codec.LZ4 ? shard.rawLength() : 0), store.describe(), -1, index);
        MemorySegment stored = arena.allocate(Math.max(1, shard.length())).asSlice(0, shard.length());
        read(store, entry.object(), shard.offset(), stored);
        verify(store, entry.object(), stored, shard, where);
        return decode(stored, shard, codec, codec == Codec.LZ4 ? arena.allocate(Math.max(1, shard.rawLength())).asSlice(0,
                shard.rawLength()) : null, where);
    }
}
