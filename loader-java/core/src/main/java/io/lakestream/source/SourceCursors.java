package io.lakestream.source;

/**
 * What a committed cursor of a built-in source says about a record: whether the source has
 * already delivered some of it ({@link #reached}) and whether it will deliver nothing more of it
 * ({@link #passed}). Lineage uses this to look only at the batches whose cursor range can hold a
 * record. Answers are null for a cursor this class does not understand (a custom producer's):
 * then nothing can be ruled out.
 *
 * <p>A built-in source's cursors only move forward in record-id order: a synthetic source's
 * {@code next=i} has delivered records below {@code i} (of its partition); a packed source's
 * {@code <kind>:i=F,off=O,tok=T} has delivered every document before {@code (F, O)} and, when
 * {@code T > 0}, part of the document at {@code (F, O)}; a mixture's cursor holds one such cursor
 * per sub-source, picked by the sub-source number in the record id.
 */
public final class SourceCursors {
    private SourceCursors() {}

    /** Has a source at {@code cursor} (null: the start) delivered any of {@code record}? */
    public static Boolean reached(String cursor, long record) {
        return compare(cursor, record, true);
    }

    /** Will a source at {@code cursor} deliver nothing more of {@code record}? */
    public static Boolean passed(String cursor, long record) {
        return compare(cursor, record, false);
    }

    /**
     * May the batch between cursors {@code before} and {@code after} hold {@code record}? False
     * only when the cursors rule it out; {@code beforeKnown = false} when the cursor before the
     * batch is not known (then only {@code after} is used).
     */
    public static boolean mayHold(String before, boolean beforeKnown, String after, long record) {
        Boolean r = reached(after, record);
        if (Boolean.FALSE.equals(r)) {
            return false; // everything of it comes later
        }
        return !beforeKnown || !Boolean.TRUE.equals(passed(before, record));
    }

    private static Boolean compare(String cursor, long record, boolean reached) {
        if (cursor == null) {
            return Boolean.FALSE; // the start: nothing delivered, nothing passed
        }
        if (cursor.startsWith("{\"at\":")) {
            // A mixture: the record's sub-source number picks the sub-cursor (names sorted).
            com.fasterxml.jackson.databind.JsonNode at;
            try {
                at = Mixture.parse(cursor).get("at");
            } catch (IllegalArgumentException e) {
                return null;
            }
            java.util.List<String> names = new java.util.ArrayList<>();
            at.fieldNames().forEachRemaining(names::add);
            names.sort(null);
            int sub = RecordIds.sub(record);
            if (sub >= names.size()) {
                return !reached;
            }
            com.fasterxml.jackson.databind.JsonNode c = at.get(names.get(sub));
            return compare(c == null || c.isNull() ? null : c.asText(), RecordIds.of(0, RecordIds.local(record)), reached);
        }
        if (cursor.startsWith("next=")) {
            long next;
            try {
                next = Long.parseLong(cursor.substring(5));
            } catch (NumberFormatException e) {
                return null;
            }
            if (RecordIds.sub(record) != 0) {
                return !reached; // another sub-source's record: never here, never pending here
            }
            return RecordIds.local(record) < next;
        }
        for (String kind : new String[] {"text", "jsonl"}) {
            PackedTextSource.Position p;
            try {
                p = PackedTextSource.Position.parseOrNull(cursor, kind);
            } catch (IllegalArgumentException e) {
                return null;
            }
            if (p == null) {
                continue;
            }
            if (RecordIds.sub(record) != 0) {
                return !reached;
            }
            long at = p.file() >= RecordIds.MAX_FILES ? Long.MAX_VALUE : RecordIds.local(p.documentId(0));
            long doc = RecordIds.local(record);
            return doc < at || (reached && doc == at && p.tokens() > 0);
        }
        return null;
    }
}
