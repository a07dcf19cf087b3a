package io.lakestream.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The scanning validators accept exactly what the documented patterns accept. */
class KeysTest {
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_=+\\-][A-Za-z0-9._=+\\-]{0,254}");
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._\\-]{0,127}");
    private static final String ALPHABET = "aZ09_=+-./ \\é:";

    private static boolean regexKey(String key) {
        if (key.isEmpty() || key.length() > 1024 || key.startsWith("/")) {
            return false;
        }
        for (String seg : key.split("/", -1)) {
            if (!SEGMENT.matcher(seg).matches()) {
                return false;
            }
        }
        return true;
    }

    private static boolean valid(String key) {
        try {
            Keys.validate(key);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Test
    void scanningMatchesThePatterns() {
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 200_000; i++) {
            StringBuilder b = new StringBuilder();
            int n = r.nextInt(0, 9);
            for (int k = 0; k < n; k++) {
                b.append(ALPHABET.charAt(r.nextInt(ALPHABET.length())));
            }
            String s = b.toString();
            assertEquals(regexKey(s), valid(s), "key '" + s + "'");
            assertEquals(ID.matcher(s).matches(), Keys.isValidId(s), "id '" + s + "'");
        }
        assertEquals(true, valid("a".repeat(255)));
        assertEquals(false, valid("a".repeat(256)));
        assertEquals(true, Keys.isValidId("a".repeat(128)));
        assertEquals(false, Keys.isValidId("a".repeat(129)));
    }
}
