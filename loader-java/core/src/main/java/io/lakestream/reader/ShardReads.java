package io.lakestream.reader;

import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.Lz4Frames;
import io.lakestream.format.ShardEntry;
import io.lakestream.log.TgbEntry;
import io.lakestream.store.ObjectStore;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Reading one stored shard: ranged read, CRC32C check against the manifest, decode. */
public final class ShardReads {
    private ShardReads() {}

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
        MemorySegment stored = arena.allocate(Math.max(1, shard.length())).asSlice(0, shard.length());
        read(store, entry.object(), shard.offset(), stored);
        verify(store, entry.object(), stored, shard, where);
        return decode(stored, shard, codec, codec == Codec.LZ4 ? arena.allocate(Math.max(1, shard.rawLength())).asSlice(0,
                shard.rawLength()) : null, where);
    }
}
