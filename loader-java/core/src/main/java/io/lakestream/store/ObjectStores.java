package io.lakestream.store;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ServiceLoader;

/** Opens the store behind a stream URI. */
public final class ObjectStores {
    private ObjectStores() {}

    /**
     * Opens {@code uri}. Supported: {@code file:///absolute/dir} (the embedded store) and
     * every scheme an {@link ObjectStoreProvider} on the class path serves ({@code s3://} with lakestream-s3).
     *
     * @param create whether a missing {@code file://} directory may be created
     * @throws InvalidStreamUriException for a malformed URI or an unknown scheme
     * @throws StreamNotFoundException   for a {@code file://} directory that does not exist when {@code create} is false
     */
    public static ObjectStore open(String uri, boolean create) {
        URI u = parse(uri);
        String scheme = u.getScheme();
        if (scheme == null) {
            throw new InvalidStreamUriException(redact(uri), "stream URI '" + redact(uri)
                    + "' has no scheme (use file:///path or s3://bucket/prefix)");
        }
        switch (scheme.toLowerCase(java.util.Locale.ROOT)) {
            case "file": {
                if (u.getAuthority() != null && !u.getAuthority().isEmpty() && !u.getAuthority().equals("localhost")) {
                    throw new InvalidStreamUriException(redact(uri), "file URI '" + uri + "' names host '" + u.getAuthority()
                            + "'; use file:///absolute/path");
                }
                String path = u.getPath();
                if (path == null || path.isEmpty() || !path.startsWith("/")) {
                    throw new InvalidStreamUriException(redact(uri), "file URI '" + uri + "' needs an absolute path: file:///absolute/path");
                }
                if (("/" + path + "/").contains("/../")) {
                    throw new InvalidStreamUriException(redact(uri), "file URI '" + uri + "' must not contain '..'");
                }
                boolean directIo = fileOptions(uri, u.getRawQuery());
                // the file store's client has no retries of its own: this is its one retry layer
                return new RetryingStore(MeteredStore.wrap(FileStore.open(Path.of(path), create, directIo)));
            }
            default:
                return openProvided(u, uri, scheme.toLowerCase(java.util.Locale.ROOT), create);
        }
    }

    /**
     * The options of a {@code file://} URI's query: {@code direct_io=true|false} (default false,
     * see {@link FileStore#open(Path, boolean, boolean)}). Anything else is an error that names
     * it, never silently ignored.
     *
     * @return whether batch objects are written with direct I/O
     */
    private static boolean fileOptions(String uri, String query) {
        boolean directIo = false;
        if (query == null || query.isEmpty()) {
            return directIo;
        }
        for (String pair : query.split("&", -1)) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? null : pair.substring(eq + 1);
            if (!name.equals("direct_io")) {
                throw new InvalidStreamUriException(uri, "file URI '" + uri + "' has unknown option '" + name
                        + "' (file:// takes direct_io=true|false)");
            }
            if (!"true".equals(value) && !"false".equals(value)) {
                throw new InvalidStreamUriException(uri, "file URI '" + uri + "' option direct_io must be true or false, got "
                        + (value == null ? "no value" : "'" + value + "'"));
            }
            directIo = value.equals("true");
        }
        return directIo;
    }

    private static ObjectStore openProvided(URI u, String uri, String scheme, boolean create) {
        for (ObjectStoreProvider provider : ServiceLoader.load(ObjectStoreProvider.class, ObjectStores.class.getClassLoader())) {
            if (provider.scheme().equalsIgnoreCase(scheme)) {
                try {
                    return MeteredStore.wrap(provider.open(u, create)); // counts the requests its client makes (its retries inside)
                } catch (IllegalArgumentException e) { // the provider contract's "bad URI"
                    throw new InvalidStreamUriException(redact(uri), e.getMessage());
                }
            }
        }
        if (scheme.equals("s3")) {
            throw new InvalidStreamUriException(redact(uri), "s3:// streams need the lakestream-s3 module on the class path ('"
                    + redact(uri) + "')");
        }
        throw new InvalidStreamUriException(redact(uri), "unknown URI scheme '" + scheme + "' in '" + redact(uri) + "' (supported: file://"
                + providedSchemes() + ")");
    }

    private static String providedSchemes() {
        StringBuilder b = new StringBuilder();
        for (ObjectStoreProvider provider : ServiceLoader.load(ObjectStoreProvider.class, ObjectStores.class.getClassLoader())) {
            b.append(", ").append(provider.scheme()).append("://");
        }
        return b.toString();
    }

    /** The URI with any query string (which may carry credentials) removed. */
    public static String redact(String uri) {
        int q = uri.indexOf('?');
        return q < 0 ? uri : uri.substring(0, q) + "?…";
    }

    private static URI parse(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new InvalidStreamUriException("", "stream URI is empty");
        }
        try {
            return new URI(uri);
        } catch (URISyntaxException e) {
            // getMessage() would repeat the whole input, query (and any key in it) included
            throw new InvalidStreamUriException(redact(uri), "malformed stream URI '" + redact(uri) + "': " + e.getReason()
                    + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""));
        }
    }
}
