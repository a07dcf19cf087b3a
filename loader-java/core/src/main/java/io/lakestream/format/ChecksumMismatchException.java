package io.lakestream.format;

/** Stored bytes whose CRC32C does not match the manifest: corruption in the store or in transit. */
public final class ChecksumMismatchException extends FormatException {
    public ChecksumMismatchException(String message) {
        super(message);
    }
}
