package io.lakestream.store.s3;

import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;

/**
 * Where the direct client connects and what it signs as: one per store, shared by its connections.
 *
 * @param host          DNS name or address to connect to (the bucket's virtual host, or the endpoint's)
 * @param port          TCP port
 * @param tls           whether to speak TLS (an https endpoint)
 * @param hostHeader    {@code host[:port]} as signed and sent
 * @param pathPrefix    {@code "/bucket"} (path style, encoded) or {@code ""}
 * @param region        the signing region
 * @param credentials   resolved per request (they may rotate)
 * @param timeoutMillis connect and read timeout
 */
record DirectTarget(String host, int port, boolean tls, String hostHeader, String pathPrefix, String region,
                    AwsCredentialsProvider credentials, int timeoutMillis) {

    /** The target for {@code bucket} at {@code endpointHost:port}, path style or virtual-hosted. */
    static DirectTarget of(String endpointHost, int port, boolean tls, String bucket, boolean pathStyle, String region,
                           AwsCredentialsProvider credentials, int timeoutMillis) {
        boolean defaultPort = port == (tls ? 443 : 80);
        String h = pathStyle ? endpointHost : bucket + "." + endpointHost;
        String hostHeader = defaultPort ? h : h + ":" + port;
        String pathPrefix = pathStyle ? "/" + encode(bucket) : "";
        return new DirectTarget(h, port, tls, hostHeader, pathPrefix, region, credentials, timeoutMillis);
    }

    /** URI-encodes a key for the path (S3's single encoding: unreserved characters and '/' stay). */
    static String encode(String key) {
        StringBuilder b = new StringBuilder(key.length() + 8);
        SigV4Signer.appendEncoded(b, key);
        return b.toString();
    }
}
