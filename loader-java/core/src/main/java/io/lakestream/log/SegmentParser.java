package io.lakestream.log;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.lakestream.format.Json;
import java.io.IOException;
import java.util.List;

/**
 * Parses an index segment ({@code _index/<first>.json}, docs/format.md §6) with Jackson's
 * streaming parser when it has the shape writers write, and leaves every other document to data
 * binding ({@link Json#read}), which also words every error; as {@link VersionParser} does for
 * versions, whose entry parse it shares.
 *
 * <p>Why: a reader that catches up through the history parses one segment per 1,024 steps, and
 * data binding built about 1.2 KB of objects per entry that are garbage once the reader moves on
 * (the wire records of the entry and its shard table, boxed numbers, the checksum columns' base64
 * strings and their decoding arrays, a new producer, codec and cursor string per entry): most of
 * a catching-up reader's garbage per step (issue 23; docs/benchmarks.md). This path builds each
 * entry's own objects only, sharing what repeats from entry to entry.
 *
 * <p>Exactness: {@link #tryParse} returns a segment equal to the one data binding returns for
 * the same bytes, or null when it is not sure (an unknown or repeated field, a missing one, trailing
 * content, and whatever the entry parse gives up on). {@code SegmentParserTest} holds it to that.
 */
final class SegmentParser {
    private SegmentParser() {}

    /** The segment in {@code bytes[0, length)}: this parser's if it is sure, data binding's otherwise. */
    static Snapshot.SegmentFile parse(byte[] bytes, int length, String where) {
        Snapshot.SegmentFile f = tryParse(bytes, length);
        return f != null ? f : Json.read(length == bytes.length ? bytes : java.util.Arrays.copyOf(bytes, length),
                Snapshot.SegmentFile.class, where);
    }

    /** The segment in {@code bytes}, or null when the document is not of the common shape. */
    static Snapshot.SegmentFile tryParse(byte[] bytes) {
        return tryParse(bytes, bytes.length);
    }

    private static Snapshot.SegmentFile tryParse(byte[] bytes, int length) {
        try (JsonParser p = Json.MAPPER.getFactory().createParser(bytes, 0, length)) {
            Snapshot.SegmentFile f = segment(p);
            return p.nextToken() == null ? f : null; // data binding ignores trailing content; be sure instead
        } catch (VersionParser.Unsure | IOException e) {
            return null;
        }
    }

    private static Snapshot.SegmentFile segment(JsonParser p) throws IOException, VersionParser.Unsure {
        VersionParser.expect(p.nextToken(), JsonToken.START_OBJECT);
        long first = 0;
        List<TgbEntry> tgbs = null;
        int seen = 0;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            p.nextToken();
            switch (name) {
                case "first_step" -> {
                    seen = VersionParser.once(seen, 1);
                    first = VersionParser.integer(p);
                }
                case "tgbs" -> {
                    seen = VersionParser.once(seen, 2);
                    tgbs = VersionParser.tgbs(p);
                }
                default -> throw VersionParser.Unsure.INSTANCE;
            }
        }
        VersionParser.expect(p.currentToken(), JsonToken.END_OBJECT);
        if (seen != 3) {
            throw VersionParser.Unsure.INSTANCE; // a missing field: data binding's defaults, and the step index's error
        }
        return new Snapshot.SegmentFile(first, tgbs);
    }
}
