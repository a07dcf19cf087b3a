package io.lakestream.store.s3;

import io.lakestream.store.InvalidStreamUriException;
import io.lakestream.store.Keys;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Everything an {@link S3Store} needs, resolved from an {@code s3://bucket/prefix?...} URI and the
 * standard AWS environment. URI parameters win over the environment, so one stream URI can carry a
 * complete, self-contained configuration (the tests and the demo rely on that).
 *
 * <p>Query parameters (all optional): {@code endpoint}, {@code region}, {@code path_style},
 * {@code checksums} ({@code when_required} | {@code when_supported}), {@code profile},
 * {@code access_key} + {@code secret_key} (+ {@code session_token}), {@code max_attempts},
 * {@code timeout_ms}. Environment: {@code AWS_ENDPOINT_URL_S3}, {@code AWS_ENDPOINT_URL},
 * {@code AWS_REGION}/{@code AWS_DEFAULT_REGION}, {@code AWS_REQUEST_CHECKSUM_CALCULATION},
 * {@code AWS_RESPONSE_CHECKSUM_VALIDATION}; credentials come from the SDK's default chain.
 *
 * <p>Secrets (secret key, session token) are kept out of {@link #toString()} and every message.
 */
public final class S3Config {
    /** Checksum behaviour of the SDK, for both request calculation and response validation. */
    public enum Checksums {
        /**
         * Only where the S3 API requires one (e.g. DeleteObjects). Works with AWS and with
         * S3-compatible servers, which often reject the SDK's newer trailing checksums
         * ({@code x-amz-trailer}: S3Proxy answers 501). Our default.
         */
        WHEN_REQUIRED,
        /** The SDK's own default: a CRC on every upload, validated on download. AWS and recent servers. */
        WHEN_SUPPORTED
    }

    private static final Set<String> PARAMS = Set.of("endpoint", "region", "path_style", "checksums", "profile",
            "access_key", "secret_key", "session_token", "max_attempts", "timeout_ms");

    private final String bucket;
    private final String prefix;
    private final URI endpoint;
    private final String region;
    private final boolean pathStyle;
    private final Checksums requestChecksums;
    private final Checksums responseChecksums;
    private final String profile;
    private final String accessKey;
    private final String secretKey;
    private final String sessionToken;
    private final int maxAttempts;
    private final Duration timeout;

    private S3Config(String bucket, String prefix, URI endpoint, String region, boolean pathStyle, Checksums requestChecksums,
                     Checksums responseChecksums, String profile, String accessKey, String secretKey, String sessionToken,
                     int maxAttempts, Duration timeout) {
        this.bucket = bucket;
        this.prefix = prefix;
        this.endpoint = endpoint;
        this.region = region;
        this.pathStyle = pathStyle;
        this.requestChecksums = requestChecksums;
        this.responseChecksums = responseChecksums;
        this.profile = profile;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.sessionToken = sessionToken;
        this.maxAttempts = maxAttempts;
        this.timeout = timeout;
    }

    /** Resolves {@code uri} against the process environment. */
    public static S3Config from(URI uri) {
        return from(uri, System.getenv());
    }

    /**
     * Resolves {@code uri} against {@code env} (a parameter so tests can pass a fake environment).
     *
     * @throws InvalidStreamUriException naming the problem, never echoing a secret
     */
    public static S3Config from(URI uri, Map<String, String> env) {
        try {
            return parse(uri, env);
        } catch (IllegalArgumentException e) {
            throw new InvalidStreamUriException(redacted(uri), e.getMessage());
        }
    }

    /** The URI for messages: no query, no user part. */
    private static String redacted(URI uri) {
        String authority = uri.getRawAuthority() == null ? "" : uri.getRawAuthority();
        int at = authority.lastIndexOf('@');
        return uri.getScheme() + "://" + (at >= 0 ? "…@" + authority.substring(at + 1) : authority)
                + (uri.getRawPath() == null ? "" : uri.getRawPath());
    }

    private static S3Config parse(URI uri, Map<String, String> env) {
        if (uri.getScheme() == null || !uri.getScheme().equalsIgnoreCase("s3")) {
            throw new IllegalArgumentException("not an s3:// URI: " + uri.getScheme() + "://...");
        }
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
            throw new IllegalArgumentException("s3 URI needs a bucket: s3://bucket/prefix");
        }
        if (authority.contains("@")) {
            // never echo it: the user part may be a key pair
            throw new IllegalArgumentException("s3 URI must not carry credentials before the bucket name; "
                    + "use the AWS environment/profile, or access_key/secret_key query parameters");
        }
        String bucket = authority;
        if (!bucket.matches("[a-z0-9][a-z0-9.\\-_]{1,253}[a-z0-9]")) {
            throw new IllegalArgumentException("invalid S3 bucket name '" + bucket + "' (3-255 characters: a-z 0-9 . - _)");
        }
        String prefix = normalizePrefix(uri.getPath());
        Map<String, String> q = query(uri.getRawQuery());

        URI endpoint = null;
        String ep = first(q.get("endpoint"), env.get("AWS_ENDPOINT_URL_S3"), env.get("AWS_ENDPOINT_URL"));
        if (ep != null) {
            endpoint = parseEndpoint(ep);
        }
        String region = first(q.get("region"), env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION"));
        // S3-compatible servers behind an endpoint override rarely have wildcard DNS for
        // virtual-hosted buckets, so path-style is the sensible default there.
        boolean pathStyle = q.containsKey("path_style") ? parseBool("path_style", q.get("path_style")) : endpoint != null;

        Checksums req = Checksums.WHEN_REQUIRED;
        Checksums resp = Checksums.WHEN_REQUIRED;
        if (env.get("AWS_REQUEST_CHECKSUM_CALCULATION") != null) {
            req = parseChecksums("AWS_REQUEST_CHECKSUM_CALCULATION", env.get("AWS_REQUEST_CHECKSUM_CALCULATION"));
        }
        if (env.get("AWS_RESPONSE_CHECKSUM_VALIDATION") != null) {
            resp = parseChecksums("AWS_RESPONSE_CHECKSUM_VALIDATION", env.get("AWS_RESPONSE_CHECKSUM_VALIDATION"));
        }
        if (q.get("checksums") != null) {
            req = resp = parseChecksums("checksums", q.get("checksums"));
        }

        String accessKey = q.get("access_key");
        String secretKey = q.get("secret_key");
        if ((accessKey == null) != (secretKey == null)) {
            throw new IllegalArgumentException("s3 URI for bucket '" + bucket + "': access_key and secret_key go together");
        }
        int maxAttempts = q.containsKey("max_attempts") ? parseInt("max_attempts", q.get("max_attempts"), 1, 100) : 6;
        long timeoutMs = q.containsKey("timeout_ms") ? parseInt("timeout_ms", q.get("timeout_ms"), 100, 3_600_000) : 60_000;
        return new S3Config(bucket, prefix, endpoint, region, pathStyle, req, resp, q.get("profile"), accessKey, secretKey,
                q.get("session_token"), maxAttempts, Duration.ofMillis(timeoutMs));
    }

    private static String normalizePrefix(String path) {
        String p = path == null ? "" : path;
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (!p.isEmpty()) {
            Keys.validate(p); // same safe alphabet as keys: no "..", no empty segments
        }
        return p;
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String part : raw.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            if (!PARAMS.contains(k)) {
                throw new IllegalArgumentException("unknown s3 URI parameter '" + k + "' (known: " + String.join(", ",
                        PARAMS.stream().sorted().toList()) + ")");
            }
            out.put(k, v);
        }
        return out;
    }

    private static URI parseEndpoint(String s) {
        URI e;
        try {
            e = URI.create(s.trim());
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("S3 endpoint is not a URL (expected http(s)://host[:port])");
        }
        if (e.getScheme() == null || !(e.getScheme().equals("http") || e.getScheme().equals("https")) || e.getHost() == null) {
            throw new IllegalArgumentException("S3 endpoint '" + safe(e) + "' must be http(s)://host[:port]");
        }
        if (e.getRawUserInfo() != null) {
            throw new IllegalArgumentException("S3 endpoint must not carry credentials (" + safe(e) + ")");
        }
        return e;
    }

    /** An endpoint for messages: scheme, host and port only. */
    static String safe(URI e) {
        if (e == null) {
            return "default AWS endpoint";
        }
        return e.getScheme() + "://" + e.getHost() + (e.getPort() >= 0 ? ":" + e.getPort() : "");
    }

    private static Checksums parseChecksums(String what, String v) {
        try {
            return Checksums.valueOf(v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " must be when_required or when_supported, not '" + v + "'");
        }
    }

    private static boolean parseBool(String what, String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "", "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new IllegalArgumentException(what + " must be true or false, not '" + v + "'");
        };
    }

    private static int parseInt(String what, String v, int min, int max) {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " must be an integer in [" + min + ", " + max + "], not '" + v + "'");
        }
    }

    private static String first(String... vs) {
        for (String v : vs) {
            if (v != null && !v.isBlank()) {
                return v.trim();
            }
        }
        return null;
    }

    public String bucket() {
        return bucket;
    }

    /** Key prefix of the stream root inside the bucket, without leading or trailing '/'; may be empty. */
    public String prefix() {
        return prefix;
    }

    /** Endpoint override, or null for AWS's own endpoints. */
    public URI endpoint() {
        return endpoint;
    }

    /** Configured region, or null to use the SDK's default region chain. */
    public String region() {
        return region;
    }

    public boolean pathStyle() {
        return pathStyle;
    }

    public Checksums requestChecksums() {
        return requestChecksums;
    }

    public Checksums responseChecksums() {
        return responseChecksums;
    }

    public String profile() {
        return profile;
    }

    /** True when the URI carries a key pair (else the SDK's default credentials chain is used). */
    public boolean hasStaticCredentials() {
        return accessKey != null;
    }

    String accessKey() {
        return accessKey;
    }

    String secretKey() {
        return secretKey;
    }

    String sessionToken() {
        return sessionToken;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    public Duration timeout() {
        return timeout;
    }

    /** {@code s3://bucket/prefix}: the stream's location, no endpoint, no secrets. */
    public String location() {
        return "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix);
    }

    /** The endpoint for messages (never with credentials). */
    public String endpointForMessages() {
        return safe(endpoint);
    }

    /** Replaces any secret this config holds by "***": a last line of defence for messages. */
    String scrub(String message) {
        if (message == null) {
            return null;
        }
        String m = message;
        for (String s : new String[] {secretKey, sessionToken}) {
            if (s != null && s.length() >= 4) {
                m = m.replace(s, "***");
            }
        }
        return m;
    }

    @Override
    public String toString() {
        return location() + " (endpoint " + endpointForMessages() + ", region " + (region == null ? "from AWS chain" : region)
                + ", path-style " + pathStyle + ", checksums " + requestChecksums.name().toLowerCase(Locale.ROOT) + "/"
                + responseChecksums.name().toLowerCase(Locale.ROOT) + ", credentials "
                + (accessKey != null ? "from URI" : profile != null ? "profile " + profile : "from AWS chain") + ")";
    }
}
