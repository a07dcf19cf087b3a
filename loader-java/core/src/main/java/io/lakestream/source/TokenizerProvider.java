package io.lakestream.source;

import java.nio.file.Path;
import java.util.Map;

/**
 * Service interface (found with {@link java.util.ServiceLoader}) for tokenizers that live
 * outside lakestream-core, so that core needs no tokenizer library: the CLI module provides
 * Hugging Face {@code tokenizer.json} files through DJL's tokenizers.
 */
public interface TokenizerProvider {
    /**
     * Opens the tokenizer at {@code path}; {@code options} are the source's fields (e.g.
     * {@code eod}, {@code pad}).
     */
    Tokenizer open(Path path, Map<String, String> options);
}
