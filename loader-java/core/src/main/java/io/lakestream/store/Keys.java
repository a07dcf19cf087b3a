package io.lakestream.store;

import java.util.regex.Pattern;

/**
 * Key and identifier validation. Keys are '/'-separated relative paths made of a small safe
 * alphabet, so that no key can escape the stream root on any store (no "..", no absolute path,
 * no empty or hidden segment: hidden names are reserved for a store's temporary files).
 */
public final class Keys {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_=+\\-][A-Za-z0-9._=+\\-]{0,254}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._\\-]{0,127}");

    private Keys() {}

    /** @throws IllegalArgumentException naming the key and what is wrong with it */
    public static String validate(String key) {
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("invalid object key: empty");
        }
        if (key.length() > 1024) {
            throw new IllegalArgumentException("invalid object key (longer than 1024): " + key.substring(0, 64) + "...");
        }
        if (key.startsWith("/")) {
            throw new IllegalArgumentException("invalid object key '" + key + "': absolute paths are not allowed");
        }
        // A scan, not a regex per segment: every store operation validates its key (reads included).
        int n = key.length();
        for (int from = 0; from <= n; ) {
            int slash = key.indexOf('/', from);
            int to = slash < 0 ? n : slash;
            if (!isSegment(key, from, to)) {
                String seg = key.substring(from, to);
                if (seg.equals("..") || seg.equals(".")) {
                    throw new IllegalArgumentException("invalid object key '" + key + "': '" + seg + "' segments are not allowed");
                }
                if (seg.isEmpty()) {
                    throw new IllegalArgumentException("invalid object key '" + key + "': empty path segment");
                }
                throw new IllegalArgumentException("invalid object key '" + key + "': segment '" + seg + "' must match "
                        + SEGMENT.pattern());
            }
            from = to + 1;
        }
        return key;
    }

    /** Whether {@code key[from, to)} matches {@link #SEGMENT}. */
    private static boolean isSegment(String key, int from, int to) {
        int len = to - from;
        if (len < 1 || len > 255) {
            return false;
        }
        for (int i = from; i < to; i++) {
            char c = key.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '='
                    || c == '+' || c == '-' || (c == '.' && i > from);
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Validates a list prefix: like a key, but may be empty or end with '/'. */
    public static String validatePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            return "";
        }
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        if (!p.isEmpty()) {
            validate(p);
        }
        return prefix;
    }

    /** Whether {@code id} is a valid producer id (or other name that becomes one key segment). */
    public static boolean isValidId(String id) {
        if (id == null || id.isEmpty() || id.length() > 128) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) { // ID, scanned (producers validate it for every batch key)
            char c = id.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
                    || (i > 0 && (c == '.' || c == '-'));
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Validates a producer id or other name that becomes one key segment. */
    public static String validateId(String what, String id) {
        if (!isValidId(id)) {
            throw new IllegalArgumentException("invalid " + what + " '" + id + "': must match " + ID.pattern());
        }
        return id;
    }
}
