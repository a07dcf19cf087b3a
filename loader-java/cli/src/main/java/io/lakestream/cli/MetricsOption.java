package io.lakestream.cli;

import com.sun.net.httpserver.HttpServer;
import io.lakestream.metrics.Metrics;
import io.lakestream.metrics.PrometheusText;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import picocli.CommandLine.Option;

/**
 * {@code --metrics-port P}: serves the process's Lakestream metrics in the Prometheus text format
 * at {@code http://HOST:P/metrics} while the command runs (a picocli mixin of produce, consume and
 * demo). The JDK's own HTTP server, so the CLI gains no dependency; one daemon thread, so the
 * server ends with the command's process.
 */
final class MetricsOption {
    @Option(names = "--metrics-port", paramLabel = "P",
            description = "serve Prometheus metrics at http://HOST:P/metrics while running (0: any free port, printed on stderr)")
    Integer port;

    @Option(names = "--metrics-host", defaultValue = "0.0.0.0", paramLabel = "HOST",
            description = "address the metrics server binds (default: all interfaces, for a remote Prometheus)")
    String host;

    /** Starts the server if {@code --metrics-port} was given; says where on stderr. */
    void start(String command) {
        if (port == null) {
            return;
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--metrics-port must be 0..65535, got " + port);
        }
        HttpServer server;
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        server.createContext("/metrics", exchange -> {
            try (exchange) {
                if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                byte[] body = PrometheusText.write(Metrics.global()).getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", PrometheusText.CONTENT_TYPE);
                boolean head = exchange.getRequestMethod().equals("HEAD");
                exchange.sendResponseHeaders(200, head ? -1 : body.length);
                if (!head) {
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                }
            }
        });
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "lakestream-metrics-http");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        System.err.println("lakestream " + command + ": metrics at http://" + host + ":" + server.getAddress().getPort() + "/metrics");
    }
}
