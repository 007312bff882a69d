package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HTTP export that fails after its first bytes went out (past the 64 KB held back) cannot turn into a
 * problem any more: the connection is dropped before the last chunk, so that the client (and any proxy
 * between) sees a broken transfer, not a complete answer whose JSON merely stops.
 */
class StreamedExportIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADMIN = "demo-admin-token";

    @TempDir
    Path data;

    @Test
    void an_export_failing_after_its_first_bytes_went_out_ends_without_its_last_chunk() throws Exception {
        dev.lethe.server.cli.DemoLoader.load(data);
        ServerConfig config =
                ServerConfig.load(null, Map.of()).withData(data).withPort(0).withDemo();
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        try (LetheServer server = LetheServer.start(
                config, new LetheServer.JsonLogTarget(new PrintStream(logs, true, StandardCharsets.UTF_8)))) {
            String base = "http://127.0.0.1:" + server.port();
            // A fresh server lists every documented counter, at 0 (alerts on a rate need the series).
            assertThat(send(http, HttpRequest.newBuilder(URI.create(base + "/metrics")))
                            .body())
                    .contains("lethe_forgets_total 0", "lethe_subscriptions_total 0", "lethe_appends_total 0");
            String schema = """
                    {"eventType":"ContactAdded","notation":"json-schema","schema":{"type":"object",
                     "properties":{"email":{"type":"string","x-gdpr":{"pii":true,"key":true,"dataGroup":"contact"}},
                                   "channel":{"type":"string"}}}}""";
            assertThat(send(http, post(base + "/v1/schemas", schema)).statusCode())
                    .isEqualTo(201);
            String padding = "p".repeat(2_000);
            StringBuilder events = new StringBuilder("{\"events\":[");
            for (int i = 0; i < 80; i++) {
                events.append(i == 0 ? "" : ",")
                        .append("{\"type\":\"ContactAdded\",\"data\":{\"email\":\"cut@example.com\",\"channel\":\"")
                        .append(padding)
                        .append("\"}}");
            }
            HttpResponse<String> appended = send(
                    http,
                    post(
                            base + "/v1/streams/contact-cut/events",
                            events.append("]}").toString()));
            assertThat(appended.statusCode()).as(appended.body()).isEqualTo(201);
            JsonNode first = JSON.readTree(send(
                                    http,
                                    HttpRequest.newBuilder(URI.create(base + "/v1/streams/contact-cut?limit=1"))
                                            .header("Authorization", "Bearer " + ADMIN))
                            .body())
                    .get("events")
                    .get(0);
            String subject = first.path("metadata")
                    .path("lethe")
                    .path("subjects")
                    .path("email")
                    .asText();
            HttpRequest.Builder export = HttpRequest.newBuilder(
                            URI.create(base + "/v1/subjects/" + subject + "/export"))
                    .header("Authorization", "Bearer " + ADMIN);
            assertThat(send(http, export).statusCode()).isEqualTo(200);

            // The first event's envelope altered in its ciphertext: the export goes on, the field null and listed
            // as tampered, and the operator told in the log (ids and paths, no bytes of it).
            try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"));
                    PreparedStatement read = db.prepareStatement("SELECT position, data FROM events"
                            + " WHERE stream_id = 'contact-cut' ORDER BY position LIMIT 1");
                    var row = read.executeQuery();
                    PreparedStatement alter = db.prepareStatement("UPDATE events SET data = ? WHERE position = ?")) {
                assertThat(row.next()).isTrue();
                byte[] stored = row.getBytes(2);
                String text = new String(stored, StandardCharsets.UTF_8);
                int at = text.indexOf('"', text.indexOf("lethe:v1:")) - 4;
                stored[at] = (byte) (stored[at] == 'A' ? 'B' : 'A');
                alter.setBytes(1, stored);
                alter.setLong(2, row.getLong(1));
                assertThat(alter.executeUpdate()).isEqualTo(1);
            }
            HttpResponse<String> tampered = send(http, export);
            assertThat(tampered.statusCode()).isEqualTo(200);
            JsonNode exported = JSON.readTree(tampered.body()).path("events");
            assertThat(exported).hasSize(80);
            assertThat(exported.get(0).path("data").path("email").isNull()).isTrue();
            assertThat(exported.get(0).path("redacted").get(0).path("reason").asText())
                    .isEqualTo("tampered");
            assertThat(exported.get(1).path("data").path("email").asText()).isEqualTo("cut@example.com");
            assertThat(logs.toString(StandardCharsets.UTF_8))
                    .contains("exported personal fields failed authentication")
                    .contains("\"tamperedFields\":1")
                    .contains(exported.get(0).path("id").asText());
            // A read of it (not an export) fails: over GraphQL, as over REST, the server's 500, not a 400 that
            // blames the query.
            HttpResponse<String> graphql = send(
                    http,
                    post(
                            base + "/graphql",
                            "{\"query\":\"{ events(stream: \\\"contact-cut\\\", limit: 1) { id data } }\"}"));
            assertThat(graphql.statusCode()).as(graphql.body()).isEqualTo(500);
            assertThat(graphql.body()).contains("\"errors\"").doesNotContain("cut@example.com");
            // And logged as REST's 500 is, at level error, for an operator alerting on the log.
            assertThat(logs.toString(StandardCharsets.UTF_8).lines())
                    .anySatisfy(line ->
                            assertThat(line).contains("\"level\":\"error\"", "TamperedDataException", "POST /graphql"))
                    .noneSatisfy(line -> assertThat(line).contains("cut@example.com"));

            // The stream's last event, some 150 KB into the export, can no longer be read.
            try (Connection db = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"));
                    PreparedStatement corrupt = db.prepareStatement("UPDATE events SET data = ? WHERE position ="
                            + " (SELECT max(position) FROM events WHERE stream_id = 'contact-cut')")) {
                corrupt.setBytes(1, "{\"email\":".getBytes(StandardCharsets.UTF_8));
                assertThat(corrupt.executeUpdate()).isEqualTo(1);
            }
            assertThatThrownBy(() -> send(http, export))
                    .as("the transfer is broken, not complete")
                    .isInstanceOf(IOException.class);
            assertThat(logs.toString(StandardCharsets.UTF_8)).contains("answer cut short");
        }
    }

    private static HttpRequest.Builder post(String uri, String body) {
        return HttpRequest.newBuilder(URI.create(uri))
                .header("Authorization", "Bearer " + ADMIN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static HttpResponse<String> send(HttpClient http, HttpRequest.Builder request)
            throws IOException, InterruptedException {
        return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
