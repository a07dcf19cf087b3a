package io.lakestream.log;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.util.StdConverter;
import io.lakestream.format.ShardEntry;
import io.lakestream.format.ShardTable;
import java.util.ArrayList;
import java.util.List;

/**
 * One committed transactional global batch: who wrote it, where its object is, and where each
 * rank's shard lies in that object. Its step is implied by its position in the log.
 *
 * <p>On the store an entry has one of two forms (docs/format.md §4.2): the per-shard list
 * {@code shards} (format version 1, ~100 bytes per rank) or the compact {@code shard_table}
 * (format version 2, 8 bytes per rank). In memory the form is the type of {@link #shards()}: a
 * {@link ShardTable} is written compactly, any other list per shard; both read the same through
 * the {@code List<ShardEntry>} view. {@link #inForm} converts to the form a stream's version
 * writes.
 *
 * @param cursor  the producer's source cursor after this batch
 * @param control the control version the producer generated this batch under (null: the producer
 *                does not follow control records); a commit is refused unless it is the version
 *                in force
 * @param recordRange the record ids the batch can hold (null: not stated, as in every entry written
 *                before the field existed; lineage then reads the object to know)
 */
@JsonSerialize(using = TgbEntry.Writer.class)
@JsonDeserialize(converter = TgbEntry.FromWire.class)
public record TgbEntry(String producer, long epoch, long seq, String cursor, String object, long objectSize,
                       String codec, List<ShardEntry> shards, Long control, RecordRange recordRange) {
    public TgbEntry(String producer, long epoch, long seq, String cursor, String object, long objectSize, String codec,
                    List<ShardEntry> shards) {
        this(producer, epoch, seq, cursor, object, objectSize, codec, shards, null, null);
    }

    /** An entry without a record range (lineage reads its object to know which records it holds). */
    public TgbEntry(String producer, long epoch, long seq, String cursor, String object, long objectSize, String codec,
                    List<ShardEntry> shards, Long control) {
        this(producer, epoch, seq, cursor, object, objectSize, codec, shards, control, null);
    }

    /** The JSON object of an entry: exactly one of {@code shards} and {@code shard_table} is present. */
    record Wire(String producer, long epoch, long seq, String cursor, String object, long objectSize, String codec,
                @JsonInclude(JsonInclude.Include.NON_NULL) List<ShardEntry> shards,
                @JsonInclude(JsonInclude.Include.NON_NULL) ShardTable.Wire shardTable,
                @JsonInclude(JsonInclude.Include.NON_NULL) Long control,
                @JsonInclude(JsonInclude.Include.NON_NULL) RecordRange recordRange) {}

    /**
     * Writes an entry as the mapper writes its {@link Wire} record (the fields sorted, the
     * optional ones omitted when null; {@code WireBytesTest} pins the bytes), without building
     * that record and the table's: an entry is written into its version, its index segment and
     * every snapshot that holds it in the tail, so this is most of the producer's JSON (issue 23).
     */
    static final Writer WRITER = new Writer();

    static final class Writer extends com.fasterxml.jackson.databind.ser.std.StdSerializer<TgbEntry> {
        Writer() {
            super(TgbEntry.class);
        }

        @Override
        public void serialize(TgbEntry e, com.fasterxml.jackson.core.JsonGenerator g,
                              com.fasterxml.jackson.databind.SerializerProvider provider) throws java.io.IOException {
            g.writeStartObject();
            g.writeStringField("codec", e.codec);
            if (e.control != null) {
                g.writeNumberField("control", e.control);
            }
            g.writeStringField("cursor", e.cursor);
            g.writeNumberField("epoch", e.epoch);
            g.writeStringField("object", e.object);
            g.writeNumberField("object_size", e.objectSize);
            g.writeStringField("producer", e.producer);
            if (e.recordRange != null) {
                provider.defaultSerializeField("record_range", e.recordRange, g);
            }
            g.writeNumberField("seq", e.seq);
            if (e.shards instanceof ShardTable t) {
                g.writeFieldName("shard_table");
                t.writeJson(g);
            } else if (e.shards != null) {
                provider.defaultSerializeField("shards", e.shards, g);
            }
            g.writeEndObject();
        }
    }

    static final class FromWire extends StdConverter<Wire, TgbEntry> {
        @Override
        public TgbEntry convert(Wire w) {
            List<ShardEntry> shards = w.shards();
            if (w.shardTable() != null) {
                // both present: the table is kept and validate() reports the ambiguity
                shards = w.shards() == null ? ShardTable.fromWire(w.shardTable()) : new BothForms(ShardTable.fromWire(w.shardTable()));
            }
            return new TgbEntry(w.producer(), w.epoch(), w.seq(), w.cursor(), w.object(), w.objectSize(), w.codec(), shards,
                    w.control(), w.recordRange());
        }
    }

    /** An entry that carried both forms: malformed (validate says so), never used. */
    private static final class BothForms extends java.util.AbstractList<ShardEntry> {
        private final ShardTable table;

        BothForms(ShardTable table) {
            this.table = table;
        }

        @Override
        public ShardEntry get(int i) {
            return table.get(i);
        }

        @Override
        public int size() {
            return table.size();
        }
    }

    /**
     * This entry with its shards in the form a stream of {@code formatVersion} writes: a
     * {@link ShardTable} for version 2 (when the shards can be written compactly; otherwise they
     * stay per shard, which every reader accepts), the per-shard list for version 1 (which older
     * readers of version-1 streams understand).
     */
    public TgbEntry inForm(int formatVersion) {
        boolean compact = shards instanceof ShardTable;
        if (formatVersion >= StreamConfig.FORMAT_VERSION_COMPACT) {
            if (compact || shards == null) {
                return this;
            }
            ShardTable t = ShardTable.of(shards);
            return t == null ? this : withShards(t);
        }
        return compact ? withShards(List.copyOf(new ArrayList<>(shards))) : this;
    }

    private TgbEntry withShards(List<ShardEntry> s) {
        return new TgbEntry(producer, epoch, seq, cursor, object, objectSize, codec, s, control, recordRange);
    }

    public long samples() {
        if (shards instanceof ShardTable t) {
            return t.totalSamples();
        }
        long n = 0;
        for (ShardEntry s : shards) {
            n += s.samples();
        }
        return n;
    }

    /** LZ4 cannot expand a block by more than about 255x; a larger raw length is corruption. */
    static final long MAX_LZ4_RATIO = 256;

    /**
     * Checks what a reader trusts before it allocates or reads: shard ranges inside the object
     * and disjoint, lengths non-negative, a known codec and a raw length that codec can produce,
     * sample ranges that tile the global batch. A manifest entry is data from the store, so a
     * corrupt one must fail here, naming the version, batch and field, and never size a buffer.
     */
    void validate(int worldSize, Object where) {
        // the message prefix is built only for a failure (entries are validated per commit: issue 23)
        if (shards instanceof ShardTable t && object != null && !object.isEmpty() && StreamLayout.isBatchObjectKey(object, producer, epoch, seq)
                && objectSize >= 0 && (recordRange == null || recordRange.problem() == null)) {
            io.lakestream.format.Codec c = io.lakestream.format.Codec.byId(codec);
            if (c != null && t.check(worldSize, objectSize, c, MAX_LZ4_RATIO) == null) {
                return;
            }
        }
        String w = where + ": TGB " + producer + "/" + epoch + "-" + seq;
        if (shards instanceof BothForms) {
            throw new LogFormatException(w + " carries both 'shards' and 'shard_table'");
        }
        if (!(shards instanceof ShardTable) && (shards == null || shards.size() != worldSize)) {
            throw new LogFormatException(w + " has " + (shards == null ? 0 : shards.size()) + " shards, world size is " + worldSize);
        }
        if (object == null || object.isEmpty()) {
            throw new LogFormatException(w + ": field 'object' is missing");
        }
        // The object must be this batch's own key: GC deletes what entries name, so an entry naming
        // any other key (the stream config, another producer's batch) must never be trusted.
        if (!StreamLayout.isBatchObjectKey(object, producer, epoch, seq)) {
            throw new LogFormatException(w + ": field 'object' is '" + object + "', not this batch's object key (data/" + producer
                    + "/<epoch:08d>-<seq:012d>.tgb of epoch " + epoch + ", seq " + seq + ", or its hashed form data/<hh>/…)");
        }
        if (objectSize < 0) {
            throw new LogFormatException(w + ": object_size " + objectSize + " is negative");
        }
        // A bad range would make find skip the batch that holds a record: refused, never trusted.
        String rangeProblem = recordRange == null ? null : recordRange.problem();
        if (rangeProblem != null) {
            throw new LogFormatException(w + ": " + rangeProblem);
        }
        io.lakestream.format.Codec c;
        try {
            c = io.lakestream.format.Codec.parse(codec, w);
        } catch (io.lakestream.format.FormatException e) {
            throw new LogFormatException(e.getMessage(), e);
        }
        if (shards instanceof ShardTable t) {
            String why = t.check(worldSize, objectSize, c, MAX_LZ4_RATIO);
            if (why != null) {
                throw new LogFormatException(w + ": " + why);
            }
            return;
        }
        long nextSample = 0;
        long[][] ranges = new long[shards.size()][];
        for (int r = 0; r < shards.size(); r++) {
            ShardEntry s = shards.get(r);
            String sw = w + " rank " + r;
            if (s.offset() < 0 || s.length() < 0 || s.offset() > objectSize - s.length()) {
                throw new LogFormatException(sw + ": bytes [" + s.offset() + ", +" + s.length() + ") are not inside the "
                        + objectSize + "-byte object");
            }
            if (s.crc32c() < 0 || s.crc32c() > 0xFFFF_FFFFL) {
                throw new LogFormatException(sw + ": crc32c " + s.crc32c() + " is not an unsigned 32-bit value");
            }
            long maxRaw = c == io.lakestream.format.Codec.NONE ? s.length() : s.length() * MAX_LZ4_RATIO + 64;
            if (s.rawLength() < 0 || s.rawLength() > maxRaw || (c == io.lakestream.format.Codec.NONE && s.rawLength() != s.length())) {
                throw new LogFormatException(sw + ": raw_length " + s.rawLength() + " is impossible for a " + codec + " shard of "
                        + s.length() + " bytes");
            }
            if (s.samples() < 0 || s.firstSample() != nextSample) {
                throw new LogFormatException(sw + ": samples [" + s.firstSample() + ", +" + s.samples() + ") do not follow rank "
                        + (r - 1) + "'s, which end at " + nextSample);
            }
            nextSample += s.samples();
            ranges[r] = new long[] {s.offset(), s.offset() + s.length()};
        }
        java.util.Arrays.sort(ranges, (a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < ranges.length; i++) {
            if (ranges[i][0] < ranges[i - 1][1]) {
                throw new LogFormatException(w + ": two shards share bytes [" + ranges[i][0] + ", " + ranges[i - 1][1] + ")");
            }
        }
    }
}
