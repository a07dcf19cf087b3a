package io.lakestream.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The parser-side decode of checksum columns against the JDK's decoder, the reference. */
class U32Base64Test {
    @Test
    void canonicalTextDecodesAsTheJdkDecodesItAndAnythingElseIsLeftToIt() {
        Random rnd = new Random(3);
        int taken = 0;
        for (int i = 0; i < 20_000; i++) {
            int[] v = new int[1 + rnd.nextInt(9)];
            for (int k = 0; k < v.length; k++) {
                v[k] = rnd.nextInt();
            }
            String s = U32Base64.encode(v);
            if (i % 2 == 1) { // one character changed, cut or added
                int at = rnd.nextInt(s.length());
                String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ é";
                s = switch (rnd.nextInt(3)) {
                    case 0 -> s.substring(0, at) + alphabet.charAt(rnd.nextInt(alphabet.length())) + s.substring(at + 1);
                    case 1 -> s.substring(0, at) + s.substring(at + 1);
                    default -> s.substring(0, at) + alphabet.charAt(rnd.nextInt(alphabet.length())) + s.substring(at);
                };
            }
            char[] buf = ("xy" + s + "z").toCharArray();
            int[] fast = U32Base64.decodeCanonical(buf, 2, s.length());
            int[] reference = U32Base64.decode(s);
            if (fast != null) {
                taken++;
                assertArrayEquals(reference, fast, s);
            }
            if (i % 2 == 0) {
                assertArrayEquals(v, fast, "what the encoder writes is canonical: " + s);
            }
        }
        assertTrue(taken > 10_000, "taken " + taken);
        assertNull(U32Base64.decodeCanonical("AAAAAB==".toCharArray(), 0, 8), "bits after the last byte set: left to the JDK");
        assertNull(U32Base64.decodeCanonical(new char[0], 0, 0));
    }
}
