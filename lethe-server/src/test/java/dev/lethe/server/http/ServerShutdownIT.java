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
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
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

            out.write(body, half, body.length - half);
            out.flush();
            InputStream in = socket.getInputStream();
            response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        stopping.get(30, TimeUnit.SECONDS);

        assertThat(response).startsWith("HTTP/1.1 201");
        assertThat(logs.toString(StandardCharsets.UTF_8)).contains("letting requests in flight finish");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            assertThat(lethe.store().readStream(StreamId.of("tick-1"), 0, Direction.FORWARD, 10))
                    .hasSize(1);
        }
    }
}
