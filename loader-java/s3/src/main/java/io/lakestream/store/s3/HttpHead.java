package io.lakestream.store.s3;

/**
 * Reads the status line and header fields of an HTTP/1.1 response head straight from the
 * connection's receive buffer (ASCII bytes), without a String or a map per response: the direct
 * client parses one head per read on the hot path. Every method takes the buffer and the end of
 * the head ({@link #end}); none reads past it.
 */
final class HttpHead {
    private HttpHead() {}

    /** Where the head ends (just after its blank line) within {@code b[0, end)}, or -1 if not yet received. */
    static int end(byte[] b, int end) {
        for (int i = 3; i < end; i++) {
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                return i + 1;
            }
        }
        return -1;
    }

    /** The status code of "HTTP/1.1 206 Partial Content", or -1 when the line is not one. */
    static int status(byte[] b, int end) {
        int sp = 0;
        while (sp < end && b[sp] != ' ') {
            sp++;
        }
        if (sp + 3 >= end) {
            return -1;
        }
        int s = 0;
        for (int i = sp + 1; i < sp + 4; i++) {
            if (b[i] < '0' || b[i] > '9') {
                return -1;
            }
            s = s * 10 + (b[i] - '0');
        }
        return s;
    }

    /** Start of the value of header {@code name} (lower case) within the head, or -1. */
    private static int value(byte[] b, int end, String name) {
        int line = 0;
        while (line < end && b[line] != '\n') {
            line++;
        }
        line++; // skip the status line
        while (line < end) {
            int i = 0;
            while (i < name.length() && line + i < end && Character.toLowerCase((char) b[line + i]) == name.charAt(i)) {
                i++;
            }
            if (i == name.length() && line + i < end && b[line + i] == ':') {
                int v = line + i + 1;
                while (v < end && b[v] == ' ') {
                    v++;
                }
                return v;
            }
            while (line < end && b[line] != '\n') {
                line++;
            }
            line++;
        }
        return -1;
    }

    /** The decimal value of header {@code name} (lower case), or -1 when absent or not a number. */
    static long longValue(byte[] b, int end, String name) {
        int v = value(b, end, name);
        if (v < 0) {
            return -1;
        }
        long n = 0;
        int digits = 0;
        while (v < end && b[v] >= '0' && b[v] <= '9' && digits < 18) {
            n = n * 10 + (b[v++] - '0');
            digits++;
        }
        return digits == 0 ? -1 : n;
    }

    /** Whether the value of header {@code name} contains {@code word} (both lower case; the value's case ignored). */
    static boolean contains(byte[] b, int end, String name, String word) {
        int v = value(b, end, name);
        if (v < 0) {
            return false;
        }
        int lineEnd = v;
        while (lineEnd < end && b[lineEnd] != '\r' && b[lineEnd] != '\n') {
            lineEnd++;
        }
        outer:
        for (int i = v; i + word.length() <= lineEnd; i++) {
            for (int j = 0; j < word.length(); j++) {
                if (Character.toLowerCase((char) b[i + j]) != word.charAt(j)) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /**
     * Whether the head's {@code Content-Range} is {@code bytes first-last/...}: a 206 of another
     * range than asked for (a proxy's cache, a server's bug) has the right length and wrong bytes.
     */
    static boolean contentRangeIs(byte[] b, int end, long first, long last) {
        int v = value(b, end, "content-range");
        String unit = "bytes ";
        if (v < 0 || v + unit.length() > end) {
            return false;
        }
        for (int j = 0; j < unit.length(); j++) {
            if (Character.toLowerCase((char) b[v + j]) != unit.charAt(j)) {
                return false;
            }
        }
        v += unit.length();
        int dash = v;
        while (dash < end && b[dash] >= '0' && b[dash] <= '9') {
            dash++;
        }
        if (dash == end || b[dash] != '-') {
            return false;
        }
        int slash = dash + 1;
        while (slash < end && b[slash] >= '0' && b[slash] <= '9') {
            slash++;
        }
        return slash < end && b[slash] == '/' && decimalIs(b, v, dash, first) && decimalIs(b, dash + 1, slash, last);
    }

    /** Whether the digits {@code b[from, to)} are the decimal {@code n} (parsed in place: no String per read). */
    private static boolean decimalIs(byte[] b, int from, int to, long n) {
        if (to - from < 1 || to - from > 18) {
            return false;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            v = v * 10 + (b[i] - '0');
        }
        return v == n;
    }

    /** Whether {@code b[from, to)} contains the ASCII {@code word} (case-sensitive). */
    static boolean bodyContains(byte[] b, int from, int to, String word) {
        outer:
        for (int i = from; i + word.length() <= to; i++) {
            for (int j = 0; j < word.length(); j++) {
                if (b[i + j] != word.charAt(j)) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
