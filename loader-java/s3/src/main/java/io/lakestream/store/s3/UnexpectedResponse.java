package io.lakestream.store.s3;

/**
 * A well-formed answer other than the plain one (404, 416, 403, 301, a chunked body, ...): the
 * SDK path knows how to treat it, so it neither counts as a failure of the direct path nor
 * carries a stack trace (it is control flow, taken on every read of a missing object).
 */
final class UnexpectedResponse extends Exception {
    private final boolean reusable;

    UnexpectedResponse(boolean reusable) {
        super(null, null, false, false);
        this.reusable = reusable;
    }

    /** Whether the connection is in a clean state after it (its body, if any, read whole). */
    boolean reusable() {
        return reusable;
    }
}
