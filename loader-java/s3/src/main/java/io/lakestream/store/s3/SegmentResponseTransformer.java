package io.lakestream.store.s3;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Writes a GET response body straight into the caller's {@link MemorySegment} (off-heap in the
 * reader's pool): each chunk the CRT hands over is copied once, into place, with no intermediate
 * {@code byte[]} however large the range. Completes with the number of bytes written; a body
 * longer than the segment fails rather than overrunning it. One instance per attempt, because a
 * retry must start writing at the segment's beginning again.
 */
final class SegmentResponseTransformer implements AsyncResponseTransformer<GetObjectResponse, Long> {
    private final ByteBuffer dst;
    private volatile CompletableFuture<Long> result;

    SegmentResponseTransformer(MemorySegment segment) {
        this.dst = segment.asByteBuffer();
    }

    @Override
    public CompletableFuture<Long> prepare() {
        dst.clear();
        result = new CompletableFuture<>();
        return result;
    }

    @Override
    public void onResponse(GetObjectResponse response) {
        // sizes are checked by the caller from the byte count: the response's own length
        // may describe one part of a split download rather than the whole range
    }

    @Override
    public void onStream(SdkPublisher<ByteBuffer> publisher) {
        publisher.subscribe(new Subscriber<ByteBuffer>() {
            private Subscription subscription;

            @Override
            public void onSubscribe(Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE); // the destination is pre-sized: no need to pace the producer
            }

            @Override
            public void onNext(ByteBuffer chunk) {
                if (chunk.remaining() > dst.remaining()) {
                    subscription.cancel();
                    result.completeExceptionally(new BodyTooLongException(dst.capacity()));
                    return;
                }
                dst.put(chunk);
            }

            @Override
            public void onError(Throwable t) {
                result.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                result.complete((long) dst.position());
            }
        });
    }

    @Override
    public void exceptionOccurred(Throwable error) {
        CompletableFuture<Long> r = result;
        if (r != null) {
            r.completeExceptionally(error);
        }
    }

    /** The server sent more bytes than the range asked for. */
    static final class BodyTooLongException extends RuntimeException {
        BodyTooLongException(long capacity) {
            super("response body is longer than the requested " + capacity + " bytes");
        }
    }
}
