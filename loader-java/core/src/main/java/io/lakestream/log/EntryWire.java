package io.lakestream.log;

import io.lakestream.format.FormatException;
import io.lakestream.format.Json;

/**
 * One TGB entry as bytes, for handing a step's entry from the rank that follows the log to the
 * ranks that do not (the job follower, {@code io.lakestream.reader.JobFeed}). The bytes are the
 * entry's JSON exactly as the log stores it (docs/format.md §4.2), and {@link #decode} checks
 * them exactly as a log entry is checked (world size, object key, shard table bounds) before
 * anything is sized from them: a hand-off is no more trusted than the log.
 */
public final class EntryWire {
    private EntryWire() {}

    /** The entry's JSON, in the form it carries (compact shard table or per shard). */
    public static byte[] encode(TgbEntry entry) {
        return Json.write(entry);
    }

    /**
     * Parses and validates an entry for a stream of {@code worldSize} ranks.
     *
     * @param where names the source in errors (stream, step, who handed it over)
     * @throws LogFormatException malformed JSON or an entry the log would refuse
     */
    public static TgbEntry decode(byte[] bytes, int worldSize, String where) {
        TgbEntry e;
        try {
            e = Json.read(bytes, TgbEntry.class, where);
        } catch (FormatException ex) {
            throw new LogFormatException(ex.getMessage(), ex);
        }
        if (e == null) {
            throw new LogFormatException(where + ": empty entry");
        }
        e.validate(worldSize, where);
        return e;
    }
}
