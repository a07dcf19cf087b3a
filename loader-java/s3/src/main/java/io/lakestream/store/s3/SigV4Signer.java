package io.lakestream.store.s3;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 of the direct client's one request shape: a {@code GET} of an object,
 * optionally with a {@code Range}, an unsigned payload, an optional session token. Written out
 * (not the SDK's signer) because it runs per read on the hot path and the SDK's builds a request
 * object and a handful of maps each time; {@code SigV4SignerTest} checks every signature against
 * the SDK's {@code AwsV4HttpSigner} on randomised requests. One instance per connection: it
 * reuses its digests and buffers, so it is not thread-safe.
 */
final class SigV4Signer {
    static final String UNSIGNED = "UNSIGNED-PAYLOAD";
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final String region;
    private final String pathPrefix;
    private final String hostHeader;
    private final MessageDigest sha256;
    private final Mac hmac;
    private final StringBuilder text = new StringBuilder(512);
    private byte[] ascii = new byte[512];
    private final byte[] hex = new byte[64];
    private String keyDate;
    private String keySecret;
    private byte[] key;

    /**
     * @param region     the signing region
     * @param pathPrefix {@code "/bucket"} (path style, already encoded) or {@code ""}
     * @param hostHeader {@code host[:port]} as sent
     */
    SigV4Signer(String region, String pathPrefix, String hostHeader) throws IOException {
        this.region = region;
        this.pathPrefix = pathPrefix;
        this.hostHeader = hostHeader;
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
            hmac = Mac.getInstance("HmacSHA256");
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    /** The headers signed, in order: {@code host;range;x-amz-content-sha256;x-amz-date[;x-amz-security-token]}. */
    static String signedHeaders(boolean ranged, boolean token) {
        return ranged ? (token ? RANGED_TOKEN : RANGED) : (token ? WHOLE_TOKEN : WHOLE); // constants: no string per request
    }

    private static final String RANGED = "host;range;x-amz-content-sha256;x-amz-date";
    private static final String RANGED_TOKEN = RANGED + ";x-amz-security-token";
    private static final String WHOLE = "host;x-amz-content-sha256;x-amz-date";
    private static final String WHOLE_TOKEN = WHOLE + ";x-amz-security-token";

    /**
     * The signature (64 lowercase hex digits, in a buffer reused by the next call) of a GET of
     * {@code fullKey}, of bytes {@code [first, last]} ({@code first < 0}: no Range header).
     *
     * @param amzDate {@code yyyyMMdd'T'HHmmss'Z'}
     * @param token   the session token, or null
     */
    byte[] sign(String fullKey, long first, long last, String amzDate, String secret, String token) throws IOException {
        boolean ranged = first >= 0;
        String date = amzDate.substring(0, 8);
        StringBuilder t = text;
        // canonical request
        t.setLength(0);
        t.append("GET\n").append(pathPrefix).append('/');
        appendEncoded(t, fullKey);
        t.append("\n\nhost:").append(hostHeader);
        if (ranged) {
            t.append("\nrange:bytes=").append(first).append('-').append(last);
        }
        t.append("\nx-amz-content-sha256:").append(UNSIGNED).append("\nx-amz-date:").append(amzDate).append('\n');
        if (token != null) {
            t.append("x-amz-security-token:").append(token).append('\n');
        }
        t.append('\n').append(signedHeaders(ranged, token != null)).append('\n').append(UNSIGNED);
        sha256.reset();
        sha256.update(ascii(t), 0, t.length());
        hex(sha256.digest());
        // string to sign, then the signature
        t.setLength(0);
        t.append("AWS4-HMAC-SHA256\n").append(amzDate).append('\n').append(date).append('/').append(region)
                .append("/s3/aws4_request\n");
        for (byte b : hex) {
            t.append((char) b);
        }
        try {
            hmac.init(new SecretKeySpec(signingKey(secret, date), "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
        hmac.update(ascii(t), 0, t.length());
        hex(hmac.doFinal());
        return hex;
    }

    /** The day's signing key, derived once per date and secret. */
    private byte[] signingKey(String secret, String date) throws IOException {
        if (key != null && date.equals(keyDate) && secret.equals(keySecret)) {
            return key;
        }
        try {
            byte[] k = mac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
            k = mac(k, region);
            k = mac(k, "s3");
            k = mac(k, "aws4_request");
            keyDate = date;
            keySecret = secret;
            key = k;
            return k;
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private static byte[] mac(byte[] key, String data) throws GeneralSecurityException {
        Mac m = Mac.getInstance("HmacSHA256");
        m.init(new SecretKeySpec(key, "HmacSHA256"));
        return m.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] ascii(StringBuilder t) {
        ascii = ascii(t, ascii);
        return ascii;
    }

    /**
     * The ASCII bytes of {@code t} in {@code buf} (grown when too small: the caller keeps the
     * returned array for its next call), so a request's text costs no array per request.
     */
    static byte[] ascii(StringBuilder t, byte[] buf) {
        int n = t.length();
        if (buf.length < n) {
            buf = new byte[Math.max(n, 2 * buf.length)];
        }
        for (int i = 0; i < n; i++) {
            buf[i] = (byte) t.charAt(i);
        }
        return buf;
    }

    private void hex(byte[] digest) {
        for (int i = 0; i < 32; i++) {
            hex[2 * i] = HEX[(digest[i] >> 4) & 0xF];
            hex[2 * i + 1] = HEX[digest[i] & 0xF];
        }
    }

    /** URI-encodes an object key for a path as S3 signs it (once; '/' kept). */
    static void appendEncoded(StringBuilder t, String key) {
        for (int i = 0; i < key.length(); i++) {
            char ch = key.charAt(i);
            boolean plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
                    || ch == '_' || ch == '~' || ch == '/';
            if (plain) {
                t.append(ch);
                continue;
            }
            int cp = key.codePointAt(i); // rare: keys use a safe alphabet, prefixes may not
            i += Character.charCount(cp) - 1;
            for (byte x : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                t.append('%').append((char) Character.toUpperCase(HEX[(x >> 4) & 0xF])).append((char) Character.toUpperCase(HEX[x & 0xF]));
            }
        }
    }
}
