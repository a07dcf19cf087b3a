package io.lakestream.format;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * Where one rank's shard lies in a batch object, as recorded in the manifest.
 *
 * @param offset       byte offset of the stored shard in the object
 * @param length       stored length in bytes (what one ranged read fetches)
 * @param crc32c       CRC32C (Castagnoli) of the stored bytes, as an unsigned 32-bit value
 * @param rawLength    length of the decoded safetensors blob (equals length when uncompressed)
 * @param samples      number of samples in the shard (dimension 0 of every tensor)
 * @param firstSample  index of the shard's first sample within the global batch; rank r holds
 *                     global samples [firstSample, firstSample + samples)
 * @param headerLength bytes of the decoded blob before its data section (8 + header JSON), or
 *                     null (older writers): with {@code headerCrc32c} it lets a reader of another
 *                     world size fetch and verify the header alone, then only the rows it needs
 * @param headerCrc32c CRC32C of those {@code headerLength} bytes, or null
 */
public record ShardEntry(long offset, long length, long crc32c, long rawLength, long samples, long firstSample,
                         @JsonInclude(JsonInclude.Include.NON_NULL) Long headerLength,
                         @JsonInclude(JsonInclude.Include.NON_NULL) Long headerCrc32c) {
    /** A shard entry without the header fields (as older writers recorded it). */
    public ShardEntry(long offset, long length, long crc32c, long rawLength, long samples, long firstSample) {
        this(offset, length, crc32c, rawLength, samples, firstSample, null, null);
    }
}
