package io.lakestream.format;

/**
 * Where one rank's shard lies in a batch object, as recorded in the manifest.
 *
 * @param offset      byte offset of the stored shard in the object
 * @param length      stored length in bytes (what one ranged read fetches)
 * @param crc32c      CRC32C (Castagnoli) of the stored bytes, as an unsigned 32-bit value
 * @param rawLength   length of the decoded safetensors blob (equals length when uncompressed)
 * @param samples     number of samples in the shard (dimension 0 of every tensor)
 * @param firstSample index of the shard's first sample within the global batch; rank r holds
 *                    global samples [firstSample, firstSample + samples)
 */
public record ShardEntry(long offset, long length, long crc32c, long rawLength, long samples, long firstSample) {}
