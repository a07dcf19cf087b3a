package io.lakestream.log;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.lakestream.format.Json;
import io.lakestream.format.ShardTable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses a manifest version with Jackson's streaming parser when it has the shape this
 * implementation's committers write, and leaves every other document to data binding
 * ({@link Json#read}), which also words every error.
 *
 * <p>Why: a trainer's follower parses one version per step, and between two steps its caches go
 * cold. Data binding's deep, megamorphic call chains then cost 0.3–0.5 ms of CPU per version on
 * this project's machines, most of the follower's share of a trainer's CPU (issue 20); this path
 * runs a few straight-line methods.
 *
 * <p>Exactness: {@link #tryParse} returns a {@link VersionFile} equal to the one data binding
 * returns for the same bytes, or null when it is not sure. It gives up on anything outside the
 * common shape: an unknown or repeated field, a null anywhere data binding would coerce it, a
 * number that is not a plain integer, a string where a number belongs or the reverse, trailing
 * content, and the rare fields (controls, record ranges, per-shard lists, end of stream, GC
 * marks). {@code VersionParserTest} holds it to that on generated versions and thousands of
 * mutations of them.
 */
final class VersionParser {
    /** Thrown to give up; carries no stack (it is control flow, never reported). */
    static final class Unsure extends Exception {
        static final Unsure INSTANCE = new Unsure();

        private Unsure() {
            super(null, null, false, false);
        }
    }

    private VersionParser() {}

    /** The version in {@code bytes}: this parser's if it is sure, data binding's otherwise. */
    static VersionFile parse(byte[] bytes, java.util.function.Supplier<String> where) {
        VersionFile f = tryParse(bytes);
        return f != null ? f : Json.read(bytes, VersionFile.class, where.get());
    }

    /** The version in {@code bytes}, or null when the document is not of the common shape. */
    static VersionFile tryParse(byte[] bytes) {
        try (JsonParser p = Json.MAPPER.getFactory().createParser(bytes)) {
            VersionFile f = version(p);
            return p.nextToken() == null ? f : null; // data binding ignores trailing content; be sure instead
        } catch (Unsure | IOException e) {
            return null;
        }
    }

    private static VersionFile version(JsonParser p) throws IOException, Unsure {
        expect(p.nextToken(), JsonToken.START_OBJECT);
        long version = 0;
        long firstStep = 0;
        long timestamp = 0;
        String token = null;
        String committer = null;
        Map<String, ProducerState> producers = null;
        List<TgbEntry> tgbs = null;
        List<CheckpointRecord> checkpoints = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "version" -> {
                    seen = once(seen, 1);
                    version = integer(p);
                }
                case "commit_token" -> {
                    seen = once(seen, 2);
                    token = string(p);
                }
                case "first_step" -> {
                    seen = once(seen, 4);
                    firstStep = integer(p);
                }
                case "committer" -> {
                    seen = once(seen, 8);
                    committer = stringOrNull(p);
                }
                case "timestamp_millis" -> {
                    seen = once(seen, 16);
                    timestamp = integer(p);
                }
                case "producers" -> {
                    seen = once(seen, 32);
                    producers = producers(p);
                }
                case "tgbs" -> {
                    seen = once(seen, 64);
                    tgbs = tgbs(p);
                }
                case "checkpoints" -> {
                    seen = once(seen, 128);
                    checkpoints = checkpoints(p);
                }
                default -> throw Unsure.INSTANCE;
            }
        }
        expect(p.currentToken(), JsonToken.END_OBJECT);
        if ((seen & 7) != 7) {
            throw Unsure.INSTANCE; // a required field is missing: data binding words the error
        }
        return new VersionFile(version, token, committer, timestamp, firstStep, producers, tgbs, checkpoints, null, null, null);
    }

    private static Map<String, ProducerState> producers(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_OBJECT);
        Map<String, ProducerState> out = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String id = p.currentName();
            p.nextToken();
            if (out.put(id, producer(p)) != null) {
                throw Unsure.INSTANCE;
            }
        }
        return out;
    }

    private static ProducerState producer(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_OBJECT);
        long epoch = 0;
        long seq = 0;
        String cursor = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "epoch" -> {
                    seen = once(seen, 1);
                    epoch = integer(p);
                }
                case "seq" -> {
                    seen = once(seen, 2);
                    seq = integer(p);
                }
                case "cursor" -> {
                    seen = once(seen, 4);
                    cursor = stringOrNull(p);
                }
                default -> throw Unsure.INSTANCE;
            }
        }
        if ((seen & 3) != 3) {
            throw Unsure.INSTANCE;
        }
        return new ProducerState(epoch, seq, cursor);
    }

    /**
     * The entries of a {@code tgbs} array. Consecutive entries mostly repeat their producer,
     * codec, cursor and shard-table columns: each is shared with the entry before when equal
     * (the same values, so the same entries; an index segment holds 1,024 of them, issue 23).
     */
    static List<TgbEntry> tgbs(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_ARRAY);
        List<TgbEntry> out = new ArrayList<>();
        TgbEntry previous = null;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            previous = entry(p, previous);
            out.add(previous);
        }
        return out;
    }

    /** An entry with a compact shard table, as {@code TgbEntry.FromWire} builds it; strings and columns equal to {@code previous}'s shared. */
    private static TgbEntry entry(JsonParser p, TgbEntry previous) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_OBJECT);
        String producer = null;
        String codec = null;
        String cursor = null;
        String object = null;
        long epoch = 0;
        long seq = 0;
        long objectSize = 0;
        ShardTable table = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "producer" -> {
                    seen = once(seen, 1);
                    producer = string(p, previous == null ? null : previous.producer());
                }
                case "epoch" -> {
                    seen = once(seen, 2);
                    epoch = integer(p);
                }
                case "seq" -> {
                    seen = once(seen, 4);
                    seq = integer(p);
                }
                case "object" -> {
                    seen = once(seen, 8);
                    object = string(p);
                }
                case "object_size" -> {
                    seen = once(seen, 16);
                    objectSize = integer(p);
                }
                case "codec" -> {
                    seen = once(seen, 32);
                    codec = string(p, previous == null ? null : previous.codec());
                }
                case "shard_table" -> {
                    seen = once(seen, 64);
                    table = table(p, previous != null && previous.shards() instanceof ShardTable t ? t : null);
                }
                case "cursor" -> {
                    seen = once(seen, 128);
                    cursor = p.currentToken() == JsonToken.VALUE_NULL ? null : string(p, previous == null ? null : previous.cursor());
                }
                default -> throw Unsure.INSTANCE;
            }
        }
        if ((seen & 127) != 127) {
            throw Unsure.INSTANCE;
        }
        return new TgbEntry(producer, epoch, seq, cursor, object, objectSize, codec, table, null, null);
    }

    /**
     * A compact shard table: of single values and a total ({@link ShardTable#uniform}, straight
     * from the parser's characters) when it has that shape and is well formed, otherwise through
     * its wire record ({@link ShardTable#fromWire}, which also records why one is malformed).
     */
    private static ShardTable table(JsonParser p, ShardTable like) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_OBJECT);
        int[] crcs = null;
        int[] headerCrcs = null;
        boolean canonical = true; // the checksum columns present were decoded here (else their text is kept for fromWire)
        String crc = null;
        String headerCrc = null;
        List<Long> headerLengths = null;
        List<Long> lengths = null;
        List<Long> rawLengths = null;
        List<Long> shardSamples = null;
        long headerLengthValue = -1;
        long lengthValue = -1;
        long rawLengthValue = -1;
        long totalSamplesValue = 0;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "crc32c" -> {
                    seen = once(seen, 1);
                    expect(p.currentToken(), JsonToken.VALUE_STRING);
                    crcs = ShardTable.u32s(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                    if (crcs == null) {
                        canonical = false;
                        crc = p.getText();
                    }
                }
                case "header_crc32c" -> {
                    seen = once(seen, 2);
                    expect(p.currentToken(), JsonToken.VALUE_STRING);
                    headerCrcs = ShardTable.u32s(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                    if (headerCrcs == null) {
                        canonical = false;
                        headerCrc = p.getText();
                    }
                }
                case "header_length" -> {
                    seen = once(seen, 4);
                    headerLengthValue = integer(p);
                }
                case "length" -> {
                    seen = once(seen, 8);
                    lengthValue = integer(p);
                }
                case "raw_length" -> {
                    seen = once(seen, 16);
                    rawLengthValue = integer(p);
                }
                case "total_samples" -> {
                    seen = once(seen, 32);
                    totalSamplesValue = integer(p);
                }
                case "header_lengths" -> {
                    seen = once(seen, 64);
                    headerLengths = integers(p);
                }
                case "lengths" -> {
                    seen = once(seen, 128);
                    lengths = integers(p);
                }
                case "raw_lengths" -> {
                    seen = once(seen, 256);
                    rawLengths = integers(p);
                }
                case "shard_samples" -> {
                    seen = once(seen, 512);
                    shardSamples = integers(p);
                }
                default -> throw Unsure.INSTANCE;
            }
        }
        // the single-value shape: crc32c, length, total_samples; raw_length, header fields optional; no arrays
        boolean uniform = canonical && (seen & ~(2 | 4 | 16)) == (1 | 8 | 32) && lengthValue >= 0
                && ((seen & 16) == 0 || rawLengthValue >= 0) && ((seen & 4) == 0 || headerLengthValue >= 0);
        if (uniform) {
            ShardTable t = ShardTable.uniform(crcs, headerCrcs, lengthValue, (seen & 16) == 0 ? -1 : rawLengthValue,
                    (seen & 4) == 0 ? -1 : headerLengthValue, totalSamplesValue, like);
            if (t != null) {
                return t;
            }
        }
        if (crcs != null) {
            crc = ShardTable.u32Text(crcs);
        }
        if (headerCrcs != null) {
            headerCrc = ShardTable.u32Text(headerCrcs);
        }
        Long headerLength = (seen & 4) == 0 ? null : headerLengthValue;
        Long length = (seen & 8) == 0 ? null : lengthValue;
        Long rawLength = (seen & 16) == 0 ? null : rawLengthValue;
        Long totalSamples = (seen & 32) == 0 ? null : totalSamplesValue;
        return ShardTable.fromWire(new ShardTable.Wire(crc, headerCrc, headerLength, headerLengths, length, lengths, rawLength,
                rawLengths, shardSamples, totalSamples));
    }

    private static List<CheckpointRecord> checkpoints(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_ARRAY);
        List<CheckpointRecord> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(checkpoint(p));
        }
        return out;
    }

    private static CheckpointRecord checkpoint(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_OBJECT);
        long step = 0;
        long timestamp = 0;
        String id = null;
        String consumer = null;
        Boolean removed = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken t = p.nextToken();
            switch (name) {
                case "step" -> {
                    seen = once(seen, 1);
                    step = integer(p);
                }
                case "id" -> {
                    seen = once(seen, 2);
                    id = stringOrNull(p);
                }
                case "timestamp_millis" -> {
                    seen = once(seen, 4);
                    timestamp = integer(p);
                }
                case "consumer" -> {
                    seen = once(seen, 8);
                    consumer = stringOrNull(p);
                }
                case "removed" -> {
                    seen = once(seen, 16);
                    if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE) {
                        throw Unsure.INSTANCE;
                    }
                    removed = t == JsonToken.VALUE_TRUE;
                }
                default -> throw Unsure.INSTANCE;
            }
        }
        if ((seen & 1) != 1) {
            throw Unsure.INSTANCE;
        }
        return new CheckpointRecord(step, id, timestamp, consumer, removed);
    }

    static int once(int seen, int bit) throws Unsure {
        if ((seen & bit) != 0) {
            throw Unsure.INSTANCE; // a repeated field: data binding keeps the last; leave it that call
        }
        return seen | bit;
    }

    static void expect(JsonToken actual, JsonToken wanted) throws Unsure {
        if (actual != wanted) {
            throw Unsure.INSTANCE;
        }
    }

    static long integer(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.VALUE_NUMBER_INT);
        JsonParser.NumberType t = p.getNumberType();
        if (t != JsonParser.NumberType.INT && t != JsonParser.NumberType.LONG) {
            throw Unsure.INSTANCE;
        }
        return p.getLongValue();
    }

    static List<Long> integers(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_ARRAY);
        List<Long> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(integer(p));
        }
        return out;
    }

    static String string(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.VALUE_STRING);
        return p.getText();
    }

    /** {@link #string}, as {@code same} (no new string) when the text equals it. */
    private static String string(JsonParser p, String same) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.VALUE_STRING);
        if (same != null && same.length() == p.getTextLength()) {
            char[] c = p.getTextCharacters();
            int off = p.getTextOffset();
            int i = 0;
            while (i < same.length() && same.charAt(i) == c[off + i]) {
                i++;
            }
            if (i == same.length()) {
                return same;
            }
        }
        return p.getText();
    }

    static String stringOrNull(JsonParser p) throws IOException, Unsure {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : string(p);
    }
}
