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
    private static final class Unsure extends Exception {
        private static final Unsure INSTANCE = new Unsure();

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

    private static List<TgbEntry> tgbs(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_ARRAY);
        List<TgbEntry> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(entry(p));
        }
        return out;
    }

    /** An entry with a compact shard table, as {@code TgbEntry.FromWire} builds it. */
    private static TgbEntry entry(JsonParser p) throws IOException, Unsure {
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
                    producer = string(p);
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
                    codec = string(p);
                }
                case "shard_table" -> {
                    seen = once(seen, 64);
                    table = ShardTable.fromWire(table(p));
                }
                case "cursor" -> {
                    seen = once(seen, 128);
                    cursor = stringOrNull(p);
                }
                default -> throw Unsure.INSTANCE;
            }
        }
        if ((seen & 127) != 127) {
            throw Unsure.INSTANCE;
        }
        return new TgbEntry(producer, epoch, seq, cursor, object, objectSize, codec, table, null, null);
    }

    private static ShardTable.Wire table(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_OBJECT);
        String crc = null;
        String headerCrc = null;
        Long headerLength = null;
        Long length = null;
        Long rawLength = null;
        Long totalSamples = null;
        List<Long> headerLengths = null;
        List<Long> lengths = null;
        List<Long> rawLengths = null;
        List<Long> shardSamples = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "crc32c" -> {
                    seen = once(seen, 1);
                    crc = string(p);
                }
                case "header_crc32c" -> {
                    seen = once(seen, 2);
                    headerCrc = string(p);
                }
                case "header_length" -> {
                    seen = once(seen, 4);
                    headerLength = integer(p);
                }
                case "length" -> {
                    seen = once(seen, 8);
                    length = integer(p);
                }
                case "raw_length" -> {
                    seen = once(seen, 16);
                    rawLength = integer(p);
                }
                case "total_samples" -> {
                    seen = once(seen, 32);
                    totalSamples = integer(p);
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
        return new ShardTable.Wire(crc, headerCrc, headerLength, headerLengths, length, lengths, rawLength, rawLengths, shardSamples,
                totalSamples);
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

    private static int once(int seen, int bit) throws Unsure {
        if ((seen & bit) != 0) {
            throw Unsure.INSTANCE; // a repeated field: data binding keeps the last; leave it that call
        }
        return seen | bit;
    }

    private static void expect(JsonToken actual, JsonToken wanted) throws Unsure {
        if (actual != wanted) {
            throw Unsure.INSTANCE;
        }
    }

    private static long integer(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.VALUE_NUMBER_INT);
        JsonParser.NumberType t = p.getNumberType();
        if (t != JsonParser.NumberType.INT && t != JsonParser.NumberType.LONG) {
            throw Unsure.INSTANCE;
        }
        return p.getLongValue();
    }

    private static List<Long> integers(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.START_ARRAY);
        List<Long> out = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            out.add(integer(p));
        }
        return out;
    }

    private static String string(JsonParser p) throws IOException, Unsure {
        expect(p.currentToken(), JsonToken.VALUE_STRING);
        return p.getText();
    }

    private static String stringOrNull(JsonParser p) throws IOException, Unsure {
        return p.currentToken() == JsonToken.VALUE_NULL ? null : string(p);
    }
}
