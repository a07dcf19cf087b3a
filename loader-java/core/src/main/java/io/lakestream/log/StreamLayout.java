package io.lakestream.log;

import io.lakestream.store.Keys;

/**
 * The one place that names every key of a stream and parses keys back (docs/format.md §2):
 * <pre>
 * _lakestream.json                            stream config
 * _log/&lt;v:020d&gt;.json                         manifest version v
 * _log/&lt;v:020d&gt;.snapshot.json                snapshot as of version v
 * _log/_last_snapshot                         hint to a recent snapshot
 * _index/&lt;first:020d&gt;.json                   step-index segment from step first
 * data/&lt;producer&gt;/&lt;epoch:08d&gt;-&lt;seq:012d&gt;.tgb batch object (data_layout "producer")
 * data/&lt;hh&gt;/&lt;producer&gt;/&lt;epoch:08d&gt;-&lt;seq:012d&gt;.tgb batch object (data_layout "hashed")
 * </pre>
 * Parsing is strict: a key is recognised only in the exact form this class writes (so format
 * and parse round-trip), and anything else under the stream is {@link Unknown} with the reason.
 * Unknown keys are reported, never guessed at and never deleted.
 */
public final class StreamLayout {
    public static final String CONFIG = "_lakestream.json";
    public static final String LOG_PREFIX = "_log/";
    public static final String SNAPSHOT_HINT = LOG_PREFIX + "_last_snapshot";
    public static final String INDEX_PREFIX = "_index/";
    public static final String DATA_PREFIX = "data/";
    private static final String VERSION_SUFFIX = ".json";
    private static final String SNAPSHOT_SUFFIX = ".snapshot.json";
    private static final String BATCH_SUFFIX = ".tgb";
    /** {@code ZEROS[i]}: i zeros, the padding of a key's numbers (keys are one concatenation, no builder). */
    private static final String[] ZEROS = new String[21];

    static {
        for (int i = 0; i < ZEROS.length; i++) {
            ZEROS[i] = "0".repeat(i);
        }
    }

    private StreamLayout() {}

    /** What a key of a stream is. */
    public sealed interface Key permits Config, Version, Snapshot, SnapshotHint, IndexSegment, BatchObject, ProbeObject, Unknown {
        /** The key itself (formatted again from the parts: parsing then formatting is the identity). */
        String key();
    }

    /** {@code _lakestream.json}. */
    public record Config() implements Key {
        @Override
        public String key() {
            return CONFIG;
        }
    }

    /** {@code _log/<version:020d>.json}. */
    public record Version(long version) implements Key {
        @Override
        public String key() {
            return versionKey(version);
        }
    }

    /** {@code _log/<version:020d>.snapshot.json}. */
    public record Snapshot(long version) implements Key {
        @Override
        public String key() {
            return snapshotKey(version);
        }
    }

    /** {@code _log/_last_snapshot}. */
    public record SnapshotHint() implements Key {
        @Override
        public String key() {
            return SNAPSHOT_HINT;
        }
    }

    /** {@code _index/<firstStep:020d>.json}. */
    public record IndexSegment(long firstStep) implements Key {
        @Override
        public String key() {
            return segmentKey(firstStep);
        }
    }

    /**
     * {@code data/<producer>/<epoch:08d>-<seq:012d>.tgb}, or with {@code hashed}
     * {@code data/<hh>/<producer>/<epoch:08d>-<seq:012d>.tgb} (see {@link #hashedBatchObjectKey}).
     */
    public record BatchObject(String producer, long epoch, long seq, boolean hashed) implements Key {
        /** In the {@code producer} layout. */
        public BatchObject(String producer, long epoch, long seq) {
            this(producer, epoch, seq, false);
        }

        @Override
        public String key() {
            return hashed ? hashedBatchObjectKey(producer, epoch, seq) : batchObjectKey(producer, epoch, seq);
        }
    }

    /**
     * {@code _probe/<run>/...}: written by the store probe ({@link io.lakestream.store.StoreProbe},
     * {@code lakestream doctor}, stream creation), which removes it; GC removes what a probe that
     * died left behind.
     */
    public record ProbeObject(String key) implements Key {}

    /** A key under the stream that is none of the above, and why. */
    public record Unknown(String key, String reason) implements Key {
        /** "key (reason)", for reports. */
        public String describe() {
            return key + " (" + reason + ")";
        }
    }

    // ---------------------------------------------------------------- formatting

    public static String versionKey(long version) {
        return LOG_PREFIX + zeros20("version", version) + version + VERSION_SUFFIX; // one concatenation: per commit and per look
    }

    public static String snapshotKey(long version) {
        return LOG_PREFIX + pad20("snapshot version", version) + SNAPSHOT_SUFFIX;
    }

    /** The index segment holding step {@code firstStep} onwards (a multiple of the segment size). */
    public static String segmentKey(long firstStep) {
        return INDEX_PREFIX + pad20("segment first step", firstStep) + VERSION_SUFFIX;
    }

    /** The batch object of {@code (producer, epoch, seq)}. */
    public static String batchObjectKey(String producer, long epoch, long seq) {
        Keys.validateId("producer id", producer);
        if (epoch < 0 || seq < 0) {
            throw new IllegalArgumentException("batch object of producer '" + producer + "' needs epoch and seq >= 0, got "
                    + epoch + "-" + seq);
        }
        // as %08d-%012d; one concatenation: the key's bytes once, no builder or copy (issue 23: a key per batch)
        return DATA_PREFIX + producer + "/" + zeros(epoch, 8) + epoch + "-" + zeros(seq, 12) + seq + BATCH_SUFFIX;
    }

    /** Zeros to pad {@code n >= 0} to {@code width} decimal digits: constants, no text built. */
    private static String zeros(long n, int width) {
        int digits = 1;
        for (long v = n; v >= 10; v /= 10) {
            digits++;
        }
        return ZEROS[Math.max(0, width - digits)];
    }

    /** The batch object of {@code (producer, epoch, seq)} in the stream's data layout. */
    public static String batchObjectKey(StreamConfig config, String producer, long epoch, long seq) {
        return config.hashedLayout() ? hashedBatchObjectKey(producer, epoch, seq) : batchObjectKey(producer, epoch, seq);
    }

    /**
     * The batch object in the {@code hashed} layout: {@code data/<hh>/<producer>/<name>}, with
     * {@code name = <epoch:08d>-<seq:012d>.tgb} and {@code hh} the low byte, as two lowercase hex
     * digits, of the CRC32C of the ASCII bytes {@code <producer>/<name>}. S3 limits requests per
     * key prefix; a producer's consecutive batches land under 256 different prefixes instead of
     * one, so the ranks reading one batch and the next spread over them.
     */
    public static String hashedBatchObjectKey(String producer, long epoch, long seq) {
        String plain = batchObjectKey(producer, epoch, seq);
        String tail = plain.substring(DATA_PREFIX.length());
        byte[] b = tail.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        long h = io.lakestream.format.Crc32c.of(b, 0, b.length);
        return DATA_PREFIX + String.format("%02x", h & 0xff) + "/" + tail;
    }

    /**
     * A LIST start-after bound that includes version {@code v}'s files ({@code .json} and
     * {@code .snapshot.json}) and everything after them.
     */
    public static String logFrom(long v) {
        return LOG_PREFIX + pad20("version", v);
    }

    /**
     * A LIST start-after bound past every file of version {@code v} ('~' sorts after
     * '.json'/'.snapshot.json'); for -1 (an empty log) the bound before every log file.
     */
    public static String logAfter(long v) {
        return v == -1 ? LOG_PREFIX : LOG_PREFIX + pad20("version", v) + ".~";
    }

    private static String pad20(String what, long n) {
        return zeros20(what, n) + n;
    }

    /** The zeros before {@code n >= 0} padded to 20 digits (keys are then one concatenation). */
    private static String zeros20(String what, long n) {
        if (n < 0) {
            throw new IllegalArgumentException(what + " must be >= 0, got " + n);
        }
        return zeros(n, 20);
    }

    // ---------------------------------------------------------------- parsing

    /**
     * Whether {@code key} is the object key of batch {@code (producer, epoch, seq)}: {@link #parse}
     * gives that {@link BatchObject}. The plain form is compared in place (a commit validates
     * every entry's key: issue 23, no garbage per batch); anything else is parsed.
     */
    public static boolean isBatchObjectKey(String key, String producer, long epoch, long seq) {
        if (key != null && producer != null && epoch >= 0 && seq >= 0 && isPlainBatchObjectKey(key, producer, epoch, seq)
                && Keys.isValidId(producer)) {
            return true;
        }
        return parse(key) instanceof BatchObject b && b.producer().equals(producer) && b.epoch() == epoch && b.seq() == seq;
    }

    /** Whether {@code key} equals {@link #batchObjectKey(String, long, long)}, compared without building it. */
    private static boolean isPlainBatchObjectKey(String key, String producer, long epoch, long seq) {
        int p = DATA_PREFIX.length() + producer.length();
        int epochDigits = Math.max(8, decimalDigits(epoch));
        int seqDigits = Math.max(12, decimalDigits(seq));
        if (key.length() != p + 1 + epochDigits + 1 + seqDigits + BATCH_SUFFIX.length() || !key.startsWith(DATA_PREFIX)
                || !key.startsWith(producer, DATA_PREFIX.length()) || key.charAt(p) != '/' || !key.endsWith(BATCH_SUFFIX)) {
            return false;
        }
        int dash = p + 1 + epochDigits;
        return key.charAt(dash) == '-' && digitsAt(key, dash, epoch, epochDigits) && digitsAt(key, dash + 1 + seqDigits, seq, seqDigits);
    }

    /** Whether the {@code width} characters before {@code end} are {@code n} in decimal, zero-padded. */
    private static boolean digitsAt(String s, int end, long n, int width) {
        for (int i = end - 1; i >= end - width; i--) {
            if (s.charAt(i) != (char) ('0' + n % 10)) {
                return false;
            }
            n /= 10;
        }
        return n == 0;
    }

    private static int decimalDigits(long n) {
        int digits = 1;
        for (long v = n; v >= 10; v /= 10) {
            digits++;
        }
        return digits;
    }

    /** What {@code key} (relative to the stream root) is; never throws. */
    public static Key parse(String key) {
        if (key == null) {
            return new Unknown(null, "null key");
        }
        if (key.equals(CONFIG)) {
            return new Config();
        }
        if (key.startsWith(LOG_PREFIX)) {
            return parseLog(key);
        }
        if (key.startsWith(INDEX_PREFIX)) {
            String rest = key.substring(INDEX_PREFIX.length());
            if (!rest.endsWith(VERSION_SUFFIX)) {
                return new Unknown(key, "not an index segment (_index/<first step:020d>.json)");
            }
            String digits = rest.substring(0, rest.length() - VERSION_SUFFIX.length());
            String why = fixedDigits(digits, "segment first step");
            return why != null ? new Unknown(key, why) : new IndexSegment(decimal(digits));
        }
        if (key.startsWith(DATA_PREFIX)) {
            return parseBatchObject(key);
        }
        if (key.startsWith(io.lakestream.store.StoreProbe.PREFIX)) {
            return new ProbeObject(key);
        }
        return new Unknown(key, "not a Lakestream key (expected _lakestream.json, _log/, _index/, data/ or _probe/)");
    }

    private static Key parseLog(String key) {
        String rest = key.substring(LOG_PREFIX.length());
        if (key.equals(SNAPSHOT_HINT)) {
            return new SnapshotHint();
        }
        boolean snapshot = rest.endsWith(SNAPSHOT_SUFFIX);
        if (!snapshot && !rest.endsWith(VERSION_SUFFIX)) {
            return new Unknown(key, "not a manifest version, snapshot or snapshot hint");
        }
        String digits = rest.substring(0, rest.length() - (snapshot ? SNAPSHOT_SUFFIX : VERSION_SUFFIX).length());
        String why = fixedDigits(digits, snapshot ? "snapshot version" : "version");
        if (why != null) {
            return new Unknown(key, why);
        }
        long v = decimal(digits);
        return snapshot ? new Snapshot(v) : new Version(v);
    }

    private static Key parseBatchObject(String key) {
        String rest = key.substring(DATA_PREFIX.length());
        int slash = rest.indexOf('/');
        if (slash == 2 && rest.indexOf('/', slash + 1) >= 0) {
            // data/<hh>/<producer>/<name>: parse the plain key it hashes, then check the hash
            Key plain = parseBatchObject(DATA_PREFIX + rest.substring(3));
            if (!(plain instanceof BatchObject b)) {
                return plain instanceof Unknown u ? new Unknown(key, u.reason()) : plain;
            }
            BatchObject hashed = new BatchObject(b.producer(), b.epoch(), b.seq(), true);
            return hashed.key().equals(key) ? hashed
                    : new Unknown(key, "'" + rest.substring(0, 2) + "' is not the hash prefix of " + b.key() + " (expected "
                            + hashed.key() + ")");
        }
        if (slash < 0 || rest.indexOf('/', slash + 1) >= 0) {
            return new Unknown(key, "not a batch object (data/<producer>/<epoch>-<seq>.tgb or data/<hh>/<producer>/<epoch>-<seq>.tgb)");
        }
        String producer = rest.substring(0, slash);
        if (!Keys.isValidId(producer)) {
            return new Unknown(key, "'" + producer + "' is not a valid producer id");
        }
        String name = rest.substring(slash + 1);
        int dash = name.indexOf('-');
        if (!name.endsWith(BATCH_SUFFIX) || dash < 0) {
            return new Unknown(key, "not a batch object name (<epoch:08d>-<seq:012d>.tgb)");
        }
        long epoch = decimal(name.substring(0, dash));
        long seq = decimal(name.substring(dash + 1, name.length() - BATCH_SUFFIX.length()));
        if (epoch < 0 || seq < 0) {
            return new Unknown(key, "epoch and sequence must be decimal numbers that fit a long");
        }
        if (!batchObjectKey(producer, epoch, seq).equals(key)) {
            return new Unknown(key, "not in canonical form (<epoch:08d>-<seq:012d>.tgb)");
        }
        return new BatchObject(producer, epoch, seq);
    }

    /** Null if {@code s} is exactly 20 decimal digits whose value fits a long, else why not. */
    private static String fixedDigits(String s, String what) {
        if (s.length() != 20) {
            return what + " must be exactly 20 decimal digits, got '" + s + "'";
        }
        if (decimal(s) < 0) {
            return what + " '" + s + "' is not a decimal number that fits a long";
        }
        return null;
    }

    /** The value of a non-empty string of ASCII digits, or -1 if it is not one or exceeds Long.MAX_VALUE. */
    private static long decimal(String s) {
        if (s.isEmpty() || s.length() > 20) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            int d = c - '0';
            if (v > (Long.MAX_VALUE - d) / 10) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }
}
