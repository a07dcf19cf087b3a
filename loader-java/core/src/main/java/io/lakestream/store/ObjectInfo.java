package io.lakestream.store;

/** One listed object: its key (relative to the store root), size in bytes, last modified. */
public record ObjectInfo(String key, long size, long lastModifiedMillis) {}
