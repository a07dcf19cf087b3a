package io.lakestream.reader;

import io.lakestream.format.ChecksumMismatchException;
import io.lakestream.format.Codec;
import io.lakestream.format.Crc32c;
import io.lakestream.format.FormatException;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.TensorBlob;
import io.lakestream.log.TgbEntry;
import io.lakestream.memory.PinnedPool;
import io.lakestream.store.ObjectStore;
import io.lakestream.time.Clock;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads rank {@code r} of {@code W'} from a stream written for {@code W ≠ W'} ranks: the step's
 * samples, in global order, are split into {@code W'} contiguous ranges (the first
 * {@code n mod W'} ranks get one more), and rank {@code r} gets range {@code r} of every tensor,
 * assembled in pool memory.
 *
 * <p>Per stored shard that the range overlaps: a shard taken whole is read whole (consecutive
 * whole shards in one ranged read) and checked against its CRC32C; a shard taken in part is read
 * as its header (checked against the manifest's {@code header_crc32c}) and then, per tensor, only
 * the rows needed, straight into their place in the output, each sample checked against the
 * header's per-sample CRC32C. LZ4 shards, and shards written without header fields, are read
 * whole and sliced. So when {@code W'} divides {@code W} a rank-step is one contiguous read, and
 * when {@code W'} is a multiple of {@code W} it reads a few hundred header bytes more than it
 * delivers.
 */
final class ElasticFetch {
    private ElasticFetch() {}

    /** The part of stored shard {@code shard} a rank takes: samples [from, to) of it. */
    private record Piece(int shard, long from, long to, boolean rows) {}

    /**
     * Lends pool memory for one rank-step: the reader's, so a wait for a slab is seen by its
     * consumer as pool exhaustion exactly as on the direct path.
     */
    interface SlabLender {
        PinnedPool.Lease lend(long bytes) throws InterruptedException;
    }

    static StepBatch fetch(ObjectStore store, SlabLender slabs, long step, TgbEntry entry, int rank, int worldSize, String stream,
            Clock clock) throws InterruptedException {
        long t0 = clock.monotonicNanos(); // like the direct fetch: the injected clock times it
        String where = "stream " + stream + " step " + step + " rank " + rank + " of " + worldSize + " (elastic) object " + entry.object();
        Codec codec = Codec.parse(entry.codec(), where);
        List<ShardEntry> shards = entry.shards();
        long n = 0;
        for (ShardEntry s : shards) {
            if (s.firstSample() != n) {
                throw new FormatException(where + ": shard first_sample " + s.firstSample() + " != " + n
                        + " (shards must hold consecutive samples)");
            }
            n += s.samples();
        }
        long base = n / worldSize;
        long extra = n % worldSize;
        long a = rank * base + Math.min(rank, extra);
        long count = base + (rank < extra ? 1 : 0);
        long b = a + count;

        List<Piece> pieces = new ArrayList<>();
        for (int j = 0; j < shards.size(); j++) {
            ShardEntry s = shards.get(j);
            long from = Math.max(a, s.firstSample());
            long to = Math.min(b, s.firstSample() + s.samples());
            if (from < to) {
                boolean whole = from == s.firstSample() && to == s.firstSample() + s.samples();
                boolean rows = !whole && codec == Codec.NONE && s.headerLength() != null && s.headerCrc32c() != null;
                pieces.add(new Piece(j, from - s.firstSample(), to - s.firstSample(), rows));
            }
        }
        if (pieces.isEmpty()) {
            // No sample for this rank (n < W'): read one header for the tensor layout, deliver empty tensors.
            int j = 0;
            while (j < shards.size() - 1 && shards.get(j).samples() > 0) {
                j++;
            }
            ShardEntry s = shards.get(j);
            boolean rows = codec == Codec.NONE && s.headerLength() != null && s.headerCrc32c() != null;
            pieces.add(new Piece(j, 0, 0, rows));
        }

        // Memory: stored bytes of whole reads (+ their decoded blobs for LZ4), headers of partial
        // reads, and the output (at most the data of every overlapped shard).
        long scratch = 0;
        long out = 0;
        long need;
        try {
            for (Piece p : pieces) {
                ShardEntry s = shards.get(p.shard);
                scratch = Math.addExact(scratch, p.rows ? s.headerLength() : Math.addExact(s.length(), codec == Codec.LZ4 ? s.rawLength() : 0));
                out = Math.addExact(out, s.rawLength());
            }
            need = Math.addExact(scratch, out);
        } catch (ArithmeticException overflow) {
            need = -1;
        }
        ShardReads.boundByObject(store, entry, need, stream, step, rank);
        PinnedPool.Lease lease = slabs.lend(scratch + out);
        try {
            MemorySegment slab = lease.segment();
            long fetched = 0;
            long at = 0;
            TensorBlob.Header[] headers = new TensorBlob.Header[pieces.size()];
            MemorySegment[] data = new MemorySegment[pieces.size()]; // data sections of whole-read shards
            for (int i = 0; i < pieces.size(); ) {
                Piece p = pieces.get(i);
                ShardEntry s = shards.get(p.shard);
                String w = where + " shard " + p.shard;
                if (p.rows) {
                    MemorySegment h = slab.asSlice(at, s.headerLength());
                    at += s.headerLength();
                    ShardReads.read(store, entry.object(), s.offset(), h);
                    fetched += h.byteSize();
                    if (Crc32c.of(h) != s.headerCrc32c()) {
                        ShardReads.read(store, entry.object(), s.offset(), h);
                        fetched += h.byteSize();
                        if (Crc32c.of(h) != s.headerCrc32c()) {
                            throw new ChecksumMismatchException("checksum mismatch in the tensor header of " + w + " (bytes "
                                    + s.offset() + ".." + (s.offset() + s.headerLength()) + ")", stream, step, rank, entry.object());
                        }
                    }
                    headers[i] = TensorBlob.readHeader(h, s.rawLength() - s.headerLength(), w);
                    if (headers[i].sampleCrcs() == null) {
                        throw new FormatException(w + ": header has no " + TensorBlob.SAMPLE_CRC_KEY + " to verify a partial read");
                    }
                    i++;
                    continue;
                }
                // Whole shards: this one and the following whole, back-to-back ones in one read.
                int last = i;
                while (last + 1 < pieces.size() && !pieces.get(last + 1).rows) {
                    ShardEntry prev = shards.get(pieces.get(last).shard);
                    ShardEntry next = shards.get(pieces.get(last + 1).shard);
                    if (next.offset() != prev.offset() + prev.length()) {
                        break;
                    }
                    last++;
                }
                long from = s.offset();
                ShardEntry end = shards.get(pieces.get(last).shard);
                long len = end.offset() + end.length() - from;
                MemorySegment stored = slab.asSlice(at, len);
                at += len;
                ShardReads.read(store, entry.object(), from, stored);
                fetched += len;
                for (int k = i; k <= last; k++) {
                    ShardEntry sk = shards.get(pieces.get(k).shard);
                    String wk = where + " shard " + pieces.get(k).shard;
                    MemorySegment one = stored.asSlice(sk.offset() - from, sk.length());
                    ShardReads.verify(store, entry.object(), one, sk, wk);
                    MemorySegment raw = null;
                    if (codec == Codec.LZ4) {
                        raw = slab.asSlice(at, sk.rawLength());
                        at += sk.rawLength();
                    }
                    MemorySegment blob = ShardReads.decode(one, sk, codec, raw, wk);
                    headers[k] = TensorBlob.readHeader(blob, wk);
                    data[k] = blob.asSlice(headers[k].headerLength());
                }
                i = last + 1;
            }

            // The output layout: every piece must agree on names, dtypes and row shapes.
            TensorBlob.Header first = headers[0];
            int tcount = first.names().length;
            int[] order = dataOrder(first); // tensors in data (storage) order
            for (int k = 1; k < headers.length; k++) {
                checkSameLayout(first, order, headers[k], where + " shard " + pieces.get(k).shard);
            }
            long[] rowBytes = new long[tcount];
            long[] outOff = new long[tcount];
            long total = 0;
            for (int oi = 0; oi < tcount; oi++) {
                int t = order[oi];
                rowBytes[t] = first.rowBytes(t);
                outOff[t] = total;
                total += rowBytes[t] * count;
            }
            MemorySegment outData = slab.asSlice(at, total);
            long done = 0; // samples assembled so far
            for (int k = 0; k < pieces.size(); k++) {
                Piece p = pieces.get(k);
                long rowsHere = p.to - p.from;
                TensorBlob.Header h = headers[k];
                ShardEntry s = shards.get(p.shard);
                if (p.rows) {
                    for (int t = 0; t < tcount; t++) {
                        MemorySegment dst = outData.asSlice(outOff[t] + done * rowBytes[t], rowsHere * rowBytes[t]);
                        ShardReads.read(store, entry.object(), s.offset() + h.headerLength() + h.begins()[t] + p.from * rowBytes[t], dst);
                        fetched += dst.byteSize();
                    }
                    long bad = firstBadSample(outData, order, outOff, rowBytes, done, p, h);
                    if (bad >= 0) { // one re-read tells a torn transfer from corruption at rest
                        for (int t = 0; t < tcount; t++) {
                            MemorySegment dst = outData.asSlice(outOff[t] + done * rowBytes[t], rowsHere * rowBytes[t]);
                            ShardReads.read(store, entry.object(), s.offset() + h.headerLength() + h.begins()[t] + p.from * rowBytes[t], dst);
                            fetched += dst.byteSize();
                        }
                        bad = firstBadSample(outData, order, outOff, rowBytes, done, p, h);
                        if (bad >= 0) {
                            throw new ChecksumMismatchException("checksum mismatch in " + where + " shard " + p.shard + " sample " + bad
                                    + " (step sample " + (s.firstSample() + bad) + "): header crc32c "
                                    + Long.toHexString(h.sampleCrcs()[(int) bad]), stream, step, rank, entry.object());
                        }
                    }
                } else {
                    for (int t = 0; t < tcount; t++) {
                        MemorySegment.copy(data[k], h.begins()[t] + p.from * rowBytes[t], outData, outOff[t] + done * rowBytes[t],
                                rowsHere * rowBytes[t]);
                    }
                }
                done += rowsHere;
            }
            List<Tensor> tensors = new ArrayList<>(tcount);
            for (int oi = 0; oi < tcount; oi++) {
                int t = order[oi];
                long[] shape = first.shapes()[t].clone();
                shape[0] = count;
                tensors.add(new Tensor(first.names()[t], first.dtypes()[t], shape, outData.asSlice(outOff[t], rowBytes[t] * count)));
            }
            return new StepBatch(step, rank, entry.object(), count, List.copyOf(tensors), outData, lease, clock.monotonicNanos() - t0,
                    fetched);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
    }

    /** The first sample of piece {@code p} whose rows (in {@code out}) do not match the header's CRC, or -1. */
    private static long firstBadSample(MemorySegment out, int[] order, long[] outOff, long[] rowBytes, long done, Piece p,
                                       TensorBlob.Header h) {
        CRC32C crc = new CRC32C();
        for (long i = p.from; i < p.to; i++) {
            crc.reset();
            long row = done + (i - p.from);
            for (int t : order) {
                ByteBuffer bb = out.asSlice(outOff[t] + row * rowBytes[t], rowBytes[t]).asByteBuffer();
                crc.update(bb);
            }
            if (crc.getValue() != h.sampleCrcs()[(int) i]) {
                return i;
            }
        }
        return -1;
    }

    private static int[] dataOrder(TensorBlob.Header h) {
        return java.util.stream.IntStream.range(0, h.names().length).boxed()
                .sorted((x, y) -> Long.compare(h.begins()[x], h.begins()[y])).mapToInt(Integer::intValue).toArray();
    }

    private static void checkSameLayout(TensorBlob.Header a, int[] order, TensorBlob.Header b, String where) {
        boolean same = a.names().length == b.names().length && Arrays.equals(order, dataOrder(b));
        for (int t = 0; same && t < a.names().length; t++) {
            same = a.names()[t].equals(b.names()[t]) && a.dtypes()[t] == b.dtypes()[t] && a.shapes()[t].length == b.shapes()[t].length
                    && Arrays.equals(a.shapes()[t], 1, a.shapes()[t].length, b.shapes()[t], 1, b.shapes()[t].length);
        }
        if (!same) {
            throw new FormatException(where + ": tensors differ from the step's other shards (names, dtypes, row shapes or "
                    + "storage order); samples of shards with different layouts cannot be regrouped for another world size");
        }
    }
}
