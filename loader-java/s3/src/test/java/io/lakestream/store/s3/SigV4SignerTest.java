package io.lakestream.store.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

/**
 * The direct client's hand-written SigV4 against the SDK's own signer, on randomised requests:
 * keys with every kind of character a prefix may hold, ranged and whole-object GETs, path and
 * virtual-host style, default and explicit ports, with and without a session token, dates across
 * day boundaries. Equal Authorization headers, every one.
 */
class SigV4SignerTest {
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final String KEY_CHARS = "abcXYZ019-._~/ +%=&?!*'()@$,;:é漢";

    @Test
    void everySignatureEqualsTheSdks() throws Exception {
        SplittableRandom rnd = new SplittableRandom(20261206);
        AwsV4HttpSigner sdk = AwsV4HttpSigner.create();
        for (int i = 0; i < 500; i++) {
            boolean pathStyle = rnd.nextBoolean();
            String bucket = "bucket-" + rnd.nextInt(100);
            String host = rnd.nextBoolean() ? "127.0.0.1" : "s3.eu-west-1.example.com";
            int port = rnd.nextInt(3) == 0 ? 80 : 9000 + rnd.nextInt(100);
            String hostName = pathStyle ? host : bucket + "." + host;
            String hostHeader = port == 80 ? hostName : hostName + ":" + port;
            String pathPrefix = pathStyle ? "/" + bucket : "";
            String region = rnd.nextBoolean() ? "us-east-1" : "eu-west-1";
            StringBuilder k = new StringBuilder("streams/s" + rnd.nextInt(1000) + "/data/");
            for (int n = rnd.nextInt(1, 30); n > 0; n--) {
                k.append(KEY_CHARS.charAt(rnd.nextInt(KEY_CHARS.length())));
            }
            String key = k.toString();
            boolean ranged = rnd.nextBoolean();
            long first = ranged ? rnd.nextLong(0, 1L << 40) : -1;
            long last = ranged ? first + rnd.nextLong(0, 1 << 30) : -1;
            Instant when = Instant.ofEpochSecond(1_700_000_000L + rnd.nextLong(0, 400L * 86_400));
            String amzDate = AMZ_DATE.format(when);
            String access = "AK" + rnd.nextInt(1_000_000);
            String secret = "secret/" + rnd.nextLong();
            String token = rnd.nextBoolean() ? "token+" + rnd.nextLong() + "/=" : null;

            SigV4Signer mine = new SigV4Signer(region, pathPrefix, hostHeader);
            String signature = new String(mine.sign(key, first, last, amzDate, secret, token), StandardCharsets.US_ASCII);
            String authorization = "AWS4-HMAC-SHA256 Credential=" + access + "/" + amzDate.substring(0, 8) + "/" + region
                    + "/s3/aws4_request, SignedHeaders=" + SigV4Signer.signedHeaders(ranged, token != null) + ", Signature=" + signature;

            StringBuilder encoded = new StringBuilder();
            SigV4Signer.appendEncoded(encoded, key);
            assertEquals(SdkHttpUtils.urlEncodeIgnoreSlashes(key), encoded.toString(), "the key's path encoding");
            StringBuilder path = new StringBuilder(pathPrefix).append('/').append(encoded);
            SdkHttpRequest.Builder req = SdkHttpRequest.builder().method(SdkHttpMethod.GET).protocol("http").host(hostName).port(port)
                    .encodedPath(path.toString());
            if (ranged) {
                req.putHeader("Range", "bytes=" + first + "-" + last);
            }
            AwsCredentialsIdentity id = token == null ? AwsCredentialsIdentity.create(access, secret)
                    : AwsSessionCredentialsIdentity.create(access, secret, token);
            SignedRequest signed = sdk.sign(r -> r.identity(id).request(req.build())
                    .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                    .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                    .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false)
                    .putProperty(AwsV4HttpSigner.DOUBLE_URL_ENCODE, false)
                    .putProperty(AwsV4HttpSigner.NORMALIZE_PATH, false)
                    .putProperty(AwsV4HttpSigner.SIGNING_CLOCK, Clock.fixed(when, ZoneOffset.UTC)));
            String expected = signed.request().firstMatchingHeader("Authorization").orElseThrow();
            assertEquals(expected, authorization, "request " + i + ": GET " + path + (ranged ? " bytes=" + first + "-" + last : "")
                    + " host " + hostHeader + (token != null ? " with a session token" : ""));
        }
    }
}
