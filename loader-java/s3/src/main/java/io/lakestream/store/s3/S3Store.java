package io.lakestream.store.s3;

import io.lakestream.store.Keys;
import io.lakestream.store.NoSuchKeyException;
import io.lakestream.store.ObjectInfo;
import io.lakestream.store.ObjectStore;
import io.lakestream.store.StoreException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.AwsProfileRegionProvider;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3CrtAsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The {@code s3://bucket/prefix} store: any S3-compatible object store through aws-sdk-java-v2's
 * CRT-based async client (which splits large uploads and downloads into parallel part requests).
 *
 * <ul>
 *   <li>put-if-absent is a PUT with {@code If-None-Match: *}; 412 means the key exists.</li>
 *   <li>ranged reads write the body straight into the caller's segment
 *       ({@link SegmentResponseTransformer}).</li>
 *   <li>listing is ListObjectsV2 with start-after, paginated; batch delete is DeleteObjects,
 *       1000 keys a call.</li>
 *   <li>retries are the SDK's: the CRT retries each request (and each part of a large one) on
 *       5xx, throttling and network errors with exponential backoff, at most {@code max_attempts}
 *       attempts in all, and drops a connection that stalls (no byte for {@code timeout_ms}) so
 *       the stall is retried too. This class adds no retry loop of its own: it keeps only what
 *       the SDK cannot know, the meaning of answers (412, 416 on empty objects, 501 fallbacks).</li>
 * </ul>
 *
 * <p><b>Lost responses and put-if-absent.</b> If a conditional PUT succeeds but its response is
 * lost (timeout, reset connection), the retry finds the key present and gets 412, so
 * {@link #putIfAbsent} returns {@code false}, exactly as for a lost race. That is deliberate:
 * the store cannot tell "my earlier attempt won" from "someone else won" without reading the
 * object, and the {@link ObjectStore} contract already says a write's outcome is only certain
 * after reading the key back. The manifest log does exactly that: a {@code false} makes it read
 * the version file and compare the commit token inside it with its own. The store never
 * rewrites the key (only one conditional PUT can ever succeed) and never turns the 412 into an
 * exception.
 */
public final class S3Store implements ObjectStore {
    private static final System.Logger LOG = System.getLogger(S3Store.class.getName());
    /** Parts of large uploads/downloads handed to the CRT in parallel. */
    static final long PART_SIZE = 8L << 20;
    private static final int DELETE_BATCH = 1000;
    private static final int LIST_PAGE = 1000;
    /** Blocking single deletes (each is one quick async call waited on) when batches are refused. */
    private static final java.util.concurrent.ExecutorService DELETE_POOL =
            java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();

    /** An unstarted thread, only used to ask whether a segment may be written from other threads. */
    private static final Thread OTHER_THREAD = new Thread(() -> {});

    private final S3Config config;
    private final S3AsyncClient client;
    private final String root; // "" or "prefix/"
    /** A client that never splits uploads, created on first need (see {@link #putIfAbsent}). */
    private volatile S3AsyncClient singlePartClient;
    /** The server answered 501 to DeleteObjects (S3Proxy does, for the SDK's checksum header). */
    private volatile boolean batchDeleteUnsupported;

    /** Ranged reads straight into the caller's memory (null: every read goes through the SDK). */
    private final DirectRangeReader direct;

    private S3Store(S3Config config, S3AsyncClient client) {
        this.config = config;
        this.client = client;
        this.root = config.prefix().isEmpty() ? "" : config.prefix() + "/";
        this.direct = DirectRangeReader.create(config, resolveRegion(config), credentials(config));
    }

    /** Entry point used by {@code ObjectStores.open} for {@code s3://} URIs. */
    public static S3Store open(URI uri) {
        return open(S3Config.from(uri));
    }

    /**
     * Opens the store and checks the bucket is reachable, so a wrong bucket, endpoint or
     * credentials fail here with one clear message rather than on the first write.
     */
    public static S3Store open(S3Config config) {
        S3AsyncClient client = buildClient(config);
        S3Store store = new S3Store(config, client);
        try {
            store.checkBucket();
            return store;
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    private static S3AsyncClient buildClient(S3Config c) {
        return buildClient(c, PART_SIZE);
    }

    private static S3AsyncClient buildClient(S3Config c, long multipartThreshold) {
        S3CrtAsyncClientBuilder b = S3AsyncClient.crtBuilder()
                .credentialsProvider(credentials(c))
                .forcePathStyle(c.pathStyle())
                .requestChecksumCalculation(c.requestChecksums() == S3Config.Checksums.WHEN_REQUIRED
                        ? RequestChecksumCalculation.WHEN_REQUIRED : RequestChecksumCalculation.WHEN_SUPPORTED)
                .responseChecksumValidation(c.responseChecksums() == S3Config.Checksums.WHEN_REQUIRED
                        ? ResponseChecksumValidation.WHEN_REQUIRED : ResponseChecksumValidation.WHEN_SUPPORTED)
                .minimumPartSizeInBytes(PART_SIZE)
                .thresholdInBytes(multipartThreshold)
                // a connection that moves less than 1 byte/s for timeout_ms is dropped, and the
                // request retried like any other network failure
                .httpConfiguration(h -> h.connectionTimeout(java.time.Duration.ofSeconds(5))
                        .connectionHealthConfiguration(hc -> hc.minimumThroughputInBps(1L).minimumThroughputTimeout(c.timeout())))
                // the one retry layer: max_attempts attempts per request in all
                .retryConfiguration(r -> r.numRetries(c.maxAttempts() - 1));
        if (c.endpoint() != null) {
            b.endpointOverride(c.endpoint());
        }
        String region = resolveRegion(c);
        if (region == null) {
            b.region(Region.US_EAST_1);
            if (c.endpoint() == null) {
                b.crossRegionAccessEnabled(true);
            }
        } else {
            b.region(Region.of(region));
        }
        try {
            return b.build();
        } catch (RuntimeException e) {
            throw new StoreException("cannot create the S3 client for " + c + ": " + c.scrub(String.valueOf(e.getMessage())), null);
        }
    }

    /** The configured region, else the profile's (or, without an endpoint override, the default chain's); null if none. */
    private static String resolveRegion(S3Config c) {
        if (c.region() != null) {
            return c.region();
        }
        try {
            // with an endpoint override only the profile is asked: the full chain would end
            // in a slow instance-metadata probe on machines that are not on EC2
            return (c.endpoint() != null || c.profile() != null
                    ? new AwsProfileRegionProvider(null, c.profile()).getRegion()
                    : new DefaultAwsRegionProviderChain().getRegion()).id();
        } catch (RuntimeException e) {
            // no region anywhere: start at us-east-1 and let the SDK follow the bucket's region
            return null;
        }
    }

    private static AwsCredentialsProvider credentials(S3Config c) {
        if (c.hasStaticCredentials()) {
            return StaticCredentialsProvider.create(c.sessionToken() != null
                    ? AwsSessionCredentials.create(c.accessKey(), c.secretKey(), c.sessionToken())
                    : AwsBasicCredentials.create(c.accessKey(), c.secretKey()));
        }
        if (c.profile() != null) {
            return ProfileCredentialsProvider.create(c.profile());
        }
        return DefaultCredentialsProvider.builder().build();
    }

    public S3Config config() {
        return config;
    }

    /** Ranged reads that went straight from a connection into the caller's memory (not through the SDK). */
    long directReads() {
        return direct == null ? 0 : direct.reads.sum();
    }

    /** Whole-object reads (getIfPresent) answered by the direct client. */
    long directGets() {
        return direct == null ? 0 : direct.gets.sum();
    }

    @Override
    public String describe() {
        return config.location();
    }

    private String full(String key) {
        return root + Keys.validate(key);
    }

    private void checkBucket() {
        try {
            execute("open", null, 0, () -> client.headBucket(r -> r.bucket(config.bucket())));
        } catch (RuntimeException e) {
            throw translate("open", null, e);
        }
    }

    // ------------------------------------------------------------------ reads

    /** Through the direct client when it can answer (most of all "absent"), else {@link #get}. */
    @Override
    public Optional<byte[]> getIfPresent(String key) {
        if (direct != null) {
            Optional<byte[]> found = direct.getIfPresent(full(key));
            if (found != null) {
                return found;
            }
        }
        return ObjectStore.super.getIfPresent(key);
    }

    @Override
    public byte[] get(String key) {
        String k = full(key);
        try {
            ResponseBytes<GetObjectResponse> b = execute("get", key, 0,
                    () -> client.getObject(r -> r.bucket(config.bucket()).key(k), AsyncResponseTransformer.toBytes()));
            return b.asByteArrayUnsafe();
        } catch (S3Exception e) {
            // the CRT fetches the first part with a Range header, which some servers refuse
            // with 416 for an empty object
            if (e.statusCode() == 416 && stat(key).map(i -> i.size() == 0).orElse(false)) {
                return new byte[0];
            }
            throw translate("read", key, e);
        } catch (RuntimeException e) {
            throw translate("read", key, e);
        }
    }

    @Override
    public void readRange(String key, long offset, MemorySegment dst) {
        String k = full(key);
        long want = dst.byteSize();
        if (offset < 0) {
            throw new StoreException("range [" + offset + ", " + (offset + want) + ") of " + key + " in " + describe()
                    + " starts before the object", key, null, false);
        }
        if (want == 0) {
            // HTTP cannot express an empty range; only check the object exists and is long enough
            long size = stat(key).orElseThrow(() -> new NoSuchKeyException(describe(), key)).size();
            if (offset > size) {
                throw outside(key, offset, want, size);
            }
            return;
        }
        if (want <= Integer.MAX_VALUE && direct != null && direct.read(k, offset, dst)) {
            return; // the body went from the socket into dst through one reused buffer, on this thread
        }
        if (!dst.isAccessibleBy(OTHER_THREAD)) {
            // A confined segment can only be written by its owner thread, and the CRT delivers
            // the body on its own threads: go through a shared buffer and copy once here.
            try (Arena shared = Arena.ofShared()) {
                MemorySegment tmp = shared.allocate(want);
                readRange(key, offset, tmp);
                MemorySegment.copy(tmp, 0, dst, 0, want);
            }
            return;
        }
        // ByteBuffer views are int-sized: larger destinations are read in 1 GiB slices
        long chunk = 1L << 30;
        for (long done = 0; done < want; done += chunk) {
            MemorySegment part = dst.asSlice(done, Math.min(chunk, want - done));
            readInto(key, k, offset + done, part);
        }
    }

    private void readInto(String key, String k, long offset, MemorySegment dst) {
        long want = dst.byteSize();
        String range = "bytes=" + offset + "-" + (offset + want - 1);
        long got;
        try {
            got = execute("readRange", key, want, () -> client.getObject(r -> r.bucket(config.bucket()).key(k).range(range),
                    new SegmentResponseTransformer(dst)));
        } catch (S3Exception e) {
            if (e.statusCode() == 416) { // the range starts at or past the end
                throw outside(key, offset, want, -1);
            }
            throw translate("ranged read", key, e);
        } catch (RuntimeException e) {
            if (rootCause(e) instanceof SegmentResponseTransformer.BodyTooLongException) {
                throw new StoreException("ranged read of " + key + " in " + describe() + ": server sent more than the "
                        + want + " bytes of range " + range + " (it may ignore Range headers)", key, e);
            }
            throw translate("ranged read", key, e);
        }
        if (got != want) { // S3 answers a range running past the end with the bytes that exist
            throw outside(key, offset, want, offset + got);
        }
    }

    private StoreException outside(String key, long offset, long want, long size) {
        return new StoreException("range [" + offset + ", " + (offset + want) + ") is outside object " + key
                + (size >= 0 ? " of " + size + " bytes" : "") + " in " + describe(), key, null, false);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) {
        String k = full(key);
        try {
            HeadObjectResponse h = execute("stat", key, 0, () -> client.headObject(r -> r.bucket(config.bucket()).key(k)));
            long mtime = h.lastModified() == null ? 0 : h.lastModified().toEpochMilli();
            return Optional.of(new ObjectInfo(key, h.contentLength() == null ? 0 : h.contentLength(), mtime));
        } catch (RuntimeException e) {
            if (isMissingKey(e)) {
                return Optional.empty();
            }
            throw translate("stat", key, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix, String startAfter, int limit) {
        String pre = root + Keys.validatePrefix(prefix);
        String after = startAfter == null ? null : root + startAfter;
        List<ObjectInfo> out = new ArrayList<>();
        String token = null;
        while (out.size() < limit) {
            final String tok = token;
            final int want = Math.min(LIST_PAGE, limit - out.size());
            ListObjectsV2Response page;
            try {
                page = execute("list", prefix, 0, () -> client.listObjectsV2(r -> {
                    r.bucket(config.bucket()).prefix(pre).maxKeys(want);
                    if (tok != null) {
                        r.continuationToken(tok);
                    } else if (after != null) {
                        r.startAfter(after);
                    }
                }));
            } catch (RuntimeException e) {
                throw translate("list", prefix, e);
            }
            for (S3Object o : page.contents()) {
                String key = o.key();
                // some S3-compatible servers list directory markers ("a/b/"): not objects
                if (key.endsWith("/") || !key.startsWith(root) || (after != null && key.compareTo(after) <= 0)) {
                    continue;
                }
                long mtime = o.lastModified() == null ? 0 : o.lastModified().toEpochMilli();
                out.add(new ObjectInfo(key.substring(root.length()), o.size() == null ? 0 : o.size(), mtime));
                if (out.size() >= limit) {
                    break;
                }
            }
            if (!Boolean.TRUE.equals(page.isTruncated()) || page.nextContinuationToken() == null) {
                break;
            }
            token = page.nextContinuationToken();
        }
        return out;
    }

    // ------------------------------------------------------------------ writes

    @Override
    public void put(String key, byte[] data) {
        String k = full(key);
        try {
            execute("put", key, data.length, () -> client.putObject(r -> r.bucket(config.bucket()).key(k)
                    .contentLength((long) data.length), AsyncRequestBody.fromBytesUnsafe(data)));
        } catch (RuntimeException e) {
            throw translate("write", key, e);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>412 (and a 409 ConditionalRequestConflict that persists through the retries' re-check)
     * returns false. A retry after a lost response also gets 412 here: see the class comment.
     */
    @Override
    public boolean putIfAbsent(String key, byte[] data) {
        return putIfAbsent(key, data.length, () -> AsyncRequestBody.fromBytesUnsafe(data));
    }

    /**
     * From off-heap memory: the request body is the segment itself (the CRT copies it once into
     * its own native buffers), never a heap array. Names are durable with their objects on S3,
     * so {@code syncName} changes nothing.
     */
    @Override
    public boolean putIfAbsent(String key, MemorySegment data, boolean syncName) {
        if (!data.isAccessibleBy(OTHER_THREAD) || !data.isNative()) {
            // the CRT reads on its own threads; a heap segment is its owner's reused buffer (a log
            // document's, issue 23), which must not be read after this returns: a copy, as before
            return putIfAbsent(key, data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        return putIfAbsent(key, data.byteSize(), () -> AsyncRequestBody.fromByteBufferUnsafe(data.asByteBuffer()));
    }

    private boolean putIfAbsent(String key, long length, Supplier<AsyncRequestBody> body) {
        String k = full(key);
        S3AsyncClient c = length > PART_SIZE && singlePartClient != null ? singlePartClient : client;
        try {
            return conditionalPut(c, key, k, length, body);
        } catch (S3Exception e) {
            if (e.statusCode() == 501 && length > PART_SIZE && c == client) {
                // Large uploads go in parallel parts, and the condition then rides on
                // CompleteMultipartUpload. AWS supports that; S3Proxy and some other S3-compatible
                // servers answer 501. Nothing was written (the upload is aborted), so send the
                // object as one conditional PUT instead, from now on.
                LOG.log(System.Logger.Level.INFO, describe() + " (endpoint " + config.endpointForMessages()
                        + ") does not support conditional multipart uploads; using single-part conditional PUTs");
                try {
                    return conditionalPut(singlePartClient(), key, k, length, body);
                } catch (S3Exception e2) {
                    throw translate("conditional write", key, e2);
                }
            }
            throw translate("conditional write", key, e);
        }
    }

    /** One conditional PUT (retried); 412 means the key exists. */
    private boolean conditionalPut(S3AsyncClient c, String key, String k, long length, Supplier<AsyncRequestBody> body) {
        try {
            execute("putIfAbsent", key, length, () -> c.putObject(r -> r.bucket(config.bucket()).key(k)
                    .ifNoneMatch("*").contentLength(length), body.get()));
            return true;
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                return false;
            }
            if (isLostCompletion(e)) {
                // The outcome is settled by reading the key back (ConditionalPut): ours if it landed.
                throw new StoreException("conditional write of " + key + " in " + describe() + ": CompleteMultipartUpload answered"
                        + " NoSuchUpload, so an earlier attempt of it completed the upload and its reply was lost; whether"
                        + " that attempt created the key is learned by reading it back", key, e, false);
            }
            throw e;
        } catch (RuntimeException e) {
            throw translate("conditional write", key, e);
        }
    }

    /**
     * A retried CompleteMultipartUpload answered 404 NoSuchUpload: the first attempt completed the
     * upload (so the upload id is gone) and its response was lost. Not a missing key and not a
     * failure: the write may well have happened.
     */
    static boolean isLostCompletion(S3Exception e) {
        return e.statusCode() == 404 && e.awsErrorDetails() != null && "NoSuchUpload".equals(e.awsErrorDetails().errorCode());
    }

    private S3AsyncClient singlePartClient() {
        S3AsyncClient c = singlePartClient;
        if (c == null) {
            synchronized (this) {
                c = singlePartClient;
                if (c == null) {
                    // S3 takes single PUTs of up to 5 GiB
                    c = singlePartClient = buildClient(config, 5L << 30);
                }
            }
        }
        return c;
    }

    @Override
    public void delete(String key) {
        String k = full(key);
        try {
            execute("delete", key, 0, () -> client.deleteObject(r -> r.bucket(config.bucket()).key(k)));
        } catch (RuntimeException e) {
            if (isMissingKey(e)) {
                return; // S3 itself answers 204 for absent keys; some compatible servers say 404
            }
            throw translate("delete", key, e);
        }
    }

    @Override
    public void deleteAll(Collection<String> keys) {
        List<String> all = new ArrayList<>(keys);
        if (batchDeleteUnsupported) {
            deleteEach(all);
            return;
        }
        for (int i = 0; i < all.size(); i += DELETE_BATCH) {
            List<ObjectIdentifier> ids = new ArrayList<>();
            for (String key : all.subList(i, Math.min(all.size(), i + DELETE_BATCH))) {
                ids.add(ObjectIdentifier.builder().key(full(key)).build());
            }
            Delete del = Delete.builder().objects(ids).quiet(true).build();
            String first = all.get(i);
            DeleteObjectsResponse resp;
            try {
                resp = execute("deleteAll", first, 0, () -> client.deleteObjects(r -> r.bucket(config.bucket()).delete(del)));
            } catch (S3Exception e) {
                if (e.statusCode() == 501) {
                    // S3Proxy rejects the checksum header the SDK now sends with DeleteObjects
                    LOG.log(System.Logger.Level.INFO, describe() + " (endpoint " + config.endpointForMessages()
                            + ") does not support DeleteObjects as sent by this SDK; deleting keys one by one");
                    batchDeleteUnsupported = true;
                    deleteEach(all.subList(i, all.size()));
                    return;
                }
                throw translate("batch delete (" + ids.size() + " keys from " + first + ")", first, e);
            } catch (RuntimeException e) {
                throw translate("batch delete (" + ids.size() + " keys from " + first + ")", first, e);
            }
            for (S3Error err : resp.errors()) {
                if ("NoSuchKey".equals(err.code())) {
                    continue;
                }
                String key = err.key() != null && err.key().startsWith(root) ? err.key().substring(root.length()) : err.key();
                throw new StoreException("batch delete in " + describe() + " failed for " + key + ": " + err.code() + " "
                        + config.scrub(err.message()) + " (" + resp.errors().size() + " keys failed)", key);
            }
        }
    }

    /** Single deletes, up to 64 in flight (the async client pipelines them). */
    private void deleteEach(List<String> keys) {
        for (int i = 0; i < keys.size(); i += 64) {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (String key : keys.subList(i, Math.min(keys.size(), i + 64))) {
                fs.add(CompletableFuture.runAsync(() -> delete(key), DELETE_POOL));
            }
            for (CompletableFuture<Void> f : fs) {
                try {
                    f.join();
                } catch (CompletionException e) {
                    throw e.getCause() instanceof RuntimeException re ? re : e;
                }
            }
        }
    }

    @Override
    public void close() {
        if (direct != null) {
            direct.close();
        }
        client.close();
        S3AsyncClient c = singlePartClient;
        if (c != null) {
            c.close();
        }
    }

    // ------------------------------------------------------------------ retries and errors

    /**
     * Runs one S3 call (the SDK retries inside it) and waits for it. Returns the result, or throws
     * the failure as it came from the SDK (so callers can look at status codes), or a
     * {@link StoreException} if even the SDK's attempts overran their time: a last line of
     * defence, as stalled connections are already dropped and retried by the CRT.
     */
    private <T> T execute(String op, String key, long bytes, Supplier<CompletableFuture<T>> call) {
        // a slow link must not time out a large transfer: allow 10 MB/s on top of the base timeout
        long perAttemptMs = config.timeout().toMillis() + bytes / 10_000;
        long timeoutMs = config.maxAttempts() * (perAttemptMs + 5_000L);
        CompletableFuture<T> f = null;
        try {
            f = call.get();
            return f.get(timeoutMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new StoreException(op + " of " + key + " in " + describe() + " interrupted", key, e, false);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new StoreException(op + " of " + key + " in " + describe() + " (endpoint " + config.endpointForMessages()
                    + ") did not finish within " + timeoutMs + " ms (" + config.maxAttempts() + " attempts)", key, e);
        } catch (ExecutionException | CompletionException | CancellationException e) {
            Throwable c = unwrap(e);
            throw c instanceof RuntimeException re ? re : new StoreException(String.valueOf(c), key, c);
        }
    }

    private static Throwable unwrap(Throwable e) {
        Throwable c = e;
        while ((c instanceof ExecutionException || c instanceof CompletionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }

    private static Throwable rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c;
    }

    private static boolean isMissingKey(Throwable e) {
        if (e instanceof software.amazon.awssdk.services.s3.model.NoSuchKeyException) {
            return true;
        }
        if (e instanceof S3Exception s) {
            String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
            return s.statusCode() == 404 && !"NoSuchBucket".equals(code);
        }
        return false;
    }

    /** One clear message naming the operation, key, store and endpoint; never a secret. */
    private StoreException translate(String op, String key, RuntimeException e) {
        if (e instanceof StoreException se) {
            return se;
        }
        String where = describe() + " (endpoint " + config.endpointForMessages() + ")";
        String what = op + (key != null ? " of " + key : "") + " in " + where;
        if (e instanceof S3Exception s) {
            int sc = s.statusCode();
            String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
            String msg = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorMessage();
            if ("NoSuchBucket".equals(code) || (key == null && sc == 404)) {
                return new StoreException("S3 bucket '" + config.bucket() + "' does not exist at endpoint "
                        + config.endpointForMessages() + " (" + op + " of " + describe() + ")", key, e, false);
            }
            if (key != null && isMissingKey(e)) {
                return new NoSuchKeyException(describe(), key);
            }
            String detail = "HTTP " + sc + (code != null ? " " + code : "") + (msg != null ? ": " + msg : "");
            if (sc == 403 || sc == 401) {
                return new StoreException(what + " was denied (" + detail + "); check the credentials and permissions for bucket '"
                        + config.bucket() + "'", key, e, false);
            }
            if (sc == 301 || "PermanentRedirect".equals(code) || "AuthorizationHeaderMalformed".equals(code)) {
                return new StoreException(what + " failed (" + detail + "); the bucket is probably in another region than "
                        + (config.region() == null ? "the default" : config.region()) + ": set AWS_REGION or ?region=", key, e, false);
            }
            // transient by nature (the SDK has already retried them): 5xx, 429, 409 ConditionalRequestConflict
            return new StoreException(what + " failed: " + config.scrub(detail), key, e, sc >= 500 || sc == 429 || sc == 409);
        }
        Throwable root = rootCause(e);
        String why = root == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + root + ")";
        return new StoreException(what + " failed: " + config.scrub(why), key, e);
    }

    @Override
    public String toString() {
        return "S3Store[" + config + "]";
    }
}
