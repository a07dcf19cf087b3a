package io.lakestream.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The files of a text or JSONL source, in a fixed order: a single file, or every regular file
 * under a directory (recursively, hidden names and symbolic links skipped, optionally filtered by
 * a glob on the relative path), sorted by relative path. File {@code i} belongs to partition
 * {@code i mod Q}. The order, and so every cursor and record id, assumes the files do not change
 * during a run.
 */
final class Corpus {
    enum Kind {
        TEXT("text"), JSONL("jsonl");

        final String id;

        Kind(String id) {
            this.id = id;
        }
    }

    final Kind kind;
    final Path root;
    final List<String> names;
    final int partition;
    final int partitions;
    /** JSONL: the field holding a document's text. */
    final String field;

    private Corpus(Kind kind, Path root, List<String> names, int partition, int partitions, String field) {
        this.kind = kind;
        this.root = root;
        this.names = names;
        this.partition = partition;
        this.partitions = partitions;
        this.field = field;
    }

    static Corpus open(Kind kind, Path path, String glob, int partition, int partitions, String field) {
        if (partitions < 1 || partition < 0 || partition >= partitions) {
            throw new IllegalArgumentException("--source partition " + partition + "/" + partitions + " is invalid");
        }
        if (!Files.exists(path)) {
            throw new IllegalArgumentException("--source path " + path + " does not exist");
        }
        List<String> names = new ArrayList<>();
        Path root;
        if (Files.isDirectory(path)) {
            root = path;
            PathMatcher m = glob == null ? null : FileSystems.getDefault().getPathMatcher("glob:" + glob);
            try (Stream<Path> all = Files.walk(path)) {
                all.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                        .map(path::relativize)
                        .filter(rel -> !hidden(rel) && (m == null || m.matches(rel)))
                        .map(rel -> rel.toString().replace('\\', '/'))
                        .forEach(names::add);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list --source path " + path + ": " + e.getMessage(), e);
            }
            names.sort(null);
        } else {
            root = path.toAbsolutePath().getParent();
            names.add(path.getFileName().toString());
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("--source path " + path + " holds no " + (glob == null ? "" : "'" + glob + "' ")
                    + "files");
        }
        if (names.size() > RecordIds.MAX_FILES) {
            throw new IllegalArgumentException("--source path " + path + " holds " + names.size() + " files, at most "
                    + RecordIds.MAX_FILES + " are supported (record ids carry the file number)");
        }
        return new Corpus(kind, root, List.copyOf(names), partition, partitions, field);
    }

    private static boolean hidden(Path rel) {
        for (Path part : rel) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    int size() {
        return names.size();
    }

    Path path(int file) {
        return root.resolve(names.get(file));
    }

    /** The first file at or after {@code file} that belongs to this partition ({@link #size()} if none). */
    int fileAtOrAfter(int file) {
        int f = Math.max(file, 0);
        int r = Math.floorMod(f - partition, partitions);
        if (r != 0) {
            f += partitions - r;
        }
        return Math.min(f, names.size());
    }

    String describe() {
        return kind.id + " source over " + (names.size() == 1 ? path(0).toString() : root + " (" + names.size() + " files)");
    }
}
