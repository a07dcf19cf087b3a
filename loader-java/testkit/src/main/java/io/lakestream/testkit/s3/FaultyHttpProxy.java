package io.lakestream.testkit.s3;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * An HTTP/1.1 proxy between the S3 client and the S3 server that loses responses on purpose,
 * so the lost-response path is tested over a real network hop, not simulated in the store.
 *
 * <p>One request per client connection: the request is forwarded with {@code Connection: close}
 * (not a signed header), the whole response is read to EOF, and then either passed on or — for
 * requests a rule picks — dropped by closing the client's connection, after the server has
 * already acted on the request. A rule may instead answer 503 SlowDown without forwarding.
 */
public final class FaultyHttpProxy implements AutoCloseable {
    /** One forwarded request as seen by the proxy. */
    public record Seen(String method, String target, boolean conditional, int upstreamStatus, String fault) {}

    private final ServerSocket server;
    private final URI upstream;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile Predicate<String> dropResponse = head -> false;
    private volatile Predicate<String> slowDown = head -> false;
    private final Thread acceptor;

    public FaultyHttpProxy(URI upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofVirtual().start(this::acceptLoop);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    /** Requests whose head (request line + headers) matches get their response dropped. */
    public void dropResponseWhen(Predicate<String> rule) {
        this.dropResponse = rule;
    }

    /** Requests whose head matches are answered 503 SlowDown without reaching the server. */
    public void slowDownWhen(Predicate<String> rule) {
        this.slowDown = rule;
    }

    public List<Seen> seen() {
        return seen;
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread.ofVirtual().start(() -> handle(client));
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void handle(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            String head = readHead(in);
            if (head == null) {
                return;
            }
            long length = contentLength(head);
            if (head.toLowerCase(Locale.ROOT).contains("\r\nexpect: 100-continue")) {
                // The SDK sends a part's body (multipart uploads) only after an interim 100 Continue;
                // the proxy reads the whole request before forwarding it, so it answers that itself.
                OutputStream early = client.getOutputStream();
                early.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                early.flush();
            }
            byte[] body = in.readNBytes((int) length);
            String requestLine = head.substring(0, head.indexOf("\r\n"));
            String[] parts = requestLine.split(" ");
            boolean conditional = head.toLowerCase(Locale.ROOT).contains("\r\nif-none-match:");
            OutputStream out = client.getOutputStream();
            if (slowDown.test(head)) {
                byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
                        + "<Message>Please reduce your request rate.</Message></Error>").getBytes(StandardCharsets.UTF_8);
                // recorded before answering: a client that has its answer finds the request counted
                seen.add(new Seen(parts[0], parts[1], conditional, 503, "slowdown"));
                out.write(("HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: " + xml.length
                        + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(xml);
                out.flush();
                return;
            }
            byte[] response;
            try (Socket up = new Socket(upstream.getHost(), upstream.getPort())) {
                OutputStream uo = up.getOutputStream();
                uo.write(withConnectionClose(head).getBytes(StandardCharsets.ISO_8859_1));
                uo.write(body);
                uo.flush();
                response = up.getInputStream().readAllBytes(); // the server closes after one response
            }
            // Drop the server's interim 1xx responses (its own 100 Continue): the client already got ours.
            while (response.length > 12 && new String(response, 0, 10, StandardCharsets.ISO_8859_1).startsWith("HTTP/1.1 1")) {
                String all = new String(response, StandardCharsets.ISO_8859_1);
                int end = all.indexOf("\r\n\r\n");
                if (end < 0) {
                    break;
                }
                response = java.util.Arrays.copyOfRange(response, end + 4, response.length);
            }
            String status = new String(response, 0, Math.min(response.length, 12), StandardCharsets.ISO_8859_1);
            int code = status.startsWith("HTTP/1.1 ") ? Integer.parseInt(status.substring(9, 12)) : -1;
            if (dropResponse.test(head)) {
                seen.add(new Seen(parts[0], parts[1], conditional, code, "dropped"));
                client.setSoLinger(true, 0); // reset: the response is lost after the server acted
                return;
            }
            seen.add(new Seen(parts[0], parts[1], conditional, code, null));
            out.write(parts[0].equals("HEAD") ? response : framed(response));
            out.flush();
        } catch (IOException | RuntimeException e) {
            // a client that went away: nothing to do
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        byte[] end = {'\r', '\n', '\r', '\n'};
        int matched = 0;
        while (matched < 4) {
            int c = in.read();
            if (c < 0) {
                return null;
            }
            b.write(c);
            matched = c == end[matched] ? matched + 1 : (c == '\r' ? 1 : 0);
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * With {@code Connection: close} the server may end a body by closing instead of giving its
     * length, which the CRT's HTTP client does not accept: state the length explicitly.
     */
    private static byte[] framed(byte[] response) {
        String all = new String(response, StandardCharsets.ISO_8859_1);
        int end = all.indexOf("\r\n\r\n");
        if (end < 0) {
            return response;
        }
        String head = all.substring(0, end).toLowerCase(Locale.ROOT);
        if (head.contains("\r\ncontent-length:") || head.contains("\r\ntransfer-encoding:")) {
            return response;
        }
        int bodyLength = response.length - end - 4;
        String fixed = all.substring(0, end) + "\r\nContent-Length: " + bodyLength + all.substring(end);
        return fixed.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static long contentLength(String head) {
        for (String line : head.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("content-length")) {
                return Long.parseLong(line.substring(colon + 1).trim());
            }
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase("transfer-encoding")) {
                throw new IllegalStateException("chunked request bodies are not supported by this test proxy");
            }
        }
        return 0;
    }

    private static String withConnectionClose(String head) {
        StringBuilder b = new StringBuilder();
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("connection:")) {
                continue;
            }
            b.append(line).append("\r\n");
        }
        return b.append("Connection: close\r\n\r\n").toString();
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
    }
}
