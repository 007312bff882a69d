package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.store.Direction;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Stopping the server (SIGTERM runs {@link LetheServer#close}) answers the requests in flight first. */
class ServerShutdownIT {
    @TempDir
    Path root;

    @Test
    void an_append_in_flight_when_the_server_stops_is_answered_and_stored() throws Exception {
        Path data = root.resolve("data");
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        LetheServer server = LetheServer.start(
                ServerConfig.load(null, Map.of()).withData(data).withPort(0).withDemo(),
                new LetheServer.JsonLogTarget(new PrintStream(logs, true, StandardCharsets.UTF_8)));
        byte[] body = "{\"events\":[{\"type\":\"Tick\",\"data\":{\"n\":1}}]}".getBytes(StandardCharsets.UTF_8);
        int half = body.length / 2;
        CompletableFuture<Void> stopping;
        String response;
        String refused;
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port());
                Socket keptAlive = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            keptAlive.setSoTimeout(30_000);
            byte[] health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            keptAlive.getOutputStream().write(health);
            assertThat(readOneResponse(keptAlive.getInputStream())).startsWith("HTTP/1.1 200");
            // Its answer read is not yet its request done: counted in flight until the server has finished it.
            long settled = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.requestsInFlight() != 0 && System.nanoTime() < settled) {
                Thread.sleep(10);
            }
            assertThat(server.requestsInFlight()).as("the health check is done").isZero();
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/streams/tick-1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            + "Authorization: Bearer demo-admin-token\r\nContent-Type: application/json\r\n"
                            + "Connection: close\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, half);
            out.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.requestsInFlight() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(server.requestsInFlight())
                    .as("the append is being handled")
                    .isEqualTo(1);

            stopping = CompletableFuture.runAsync(server::close);
            // Longer than Jetty's own shutdown idle timeout (1 s): the drain's is LetheServer.DRAIN.
            Thread.sleep(2_500);
            assertThat(stopping).as("stopping waits for the request in flight").isNotDone();
            // A new request on a connection kept alive meanwhile: refused, saying why and when to retry.
            keptAlive.getOutputStream().write(health);
            refused = new String(keptAlive.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

            out.write(body, half, body.length - half);
            out.flush();
            InputStream in = socket.getInputStream();
            response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        stopping.get(30, TimeUnit.SECONDS);

        assertThat(response).startsWith("HTTP/1.1 201");
        assertThat(refused)
                .startsWith("HTTP/1.1 503")
                .containsIgnoringCase("Retry-After: 2")
                .contains("application/problem+json", "the server is stopping");
        assertThat(logs.toString(StandardCharsets.UTF_8))
                .contains("letting requests in flight finish")
                .contains("were refused (503, Retry-After)\",\"requests\":1");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.store().readStream(StreamId.of("tick-1"), 0, Direction.FORWARD, 10))
                    .hasSize(1);
        }
    }

    /** One HTTP/1.1 response with a Content-Length, read without waiting for the connection to close. */
    private static String readOneResponse(InputStream in) throws java.io.IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.US_ASCII);
        java.util.regex.Matcher length =
                java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(headers);
        byte[] body = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : new byte[0];
        return headers + new String(body, StandardCharsets.UTF_8);
    }
}
