package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.Principal;
import dev.lethe.sqlite.SqliteLethe;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server that cannot do its work says so: {@code /health/ready} answers 503 with the problem, and the
 * log names it, rather than "up" while every append fails.
 */
class ServerReadinessIT {
    private static final String ADMIN = "demo-admin-token";

    @TempDir
    Path root;

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private HttpResponse<String> get(String uri) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(uri))
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> append(String base) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(base + "/v1/streams/tick-1/events"))
                        .header("Authorization", "Bearer " + ADMIN)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"events\":[{\"type\":\"Tick\",\"data\":{}}]}"))
                        .timeout(Duration.ofSeconds(30))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static LetheServer start(Path data, ByteArrayOutputStream logs) {
        return LetheServer.start(
                ServerConfig.load(null, Map.of()).withData(data).withPort(0).withDemo(),
                new LetheServer.JsonLogTarget(new PrintStream(logs, true, StandardCharsets.UTF_8)));
    }

    @Test
    void a_server_on_an_empty_store_says_so_at_start() {
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        try (LetheServer server = LetheServer.start(
                ServerConfig.load(null, Map.of()).withData(root.resolve("typo")).withPort(0),
                new LetheServer.JsonLogTarget(new PrintStream(logs, true, StandardCharsets.UTF_8)))) {
            assertThat(logs.toString(StandardCharsets.UTF_8))
                    .contains("the event store is empty (a new data directory? check --data");
        }
        try (SqliteLethe lethe = SqliteLethe.open(root.resolve("typo"))) {
            lethe.store()
                    .append(
                            dev.lethe.core.store.StreamId.of("order-1"),
                            dev.lethe.core.store.ExpectedVersion.any(),
                            java.util.List.of(dev.lethe.core.store.EventData.of("Placed", "{}")));
        }
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        try (LetheServer server = LetheServer.start(
                ServerConfig.load(null, Map.of()).withData(root.resolve("typo")).withPort(0),
                new LetheServer.JsonLogTarget(new PrintStream(again, true, StandardCharsets.UTF_8)))) {
            assertThat(again.toString(StandardCharsets.UTF_8)).doesNotContain("the event store is empty");
        }
    }

    @Test
    void a_token_whose_role_the_policy_no_longer_declares_may_do_nothing() throws Exception {
        Path data = root.resolve("data");
        try (LetheServer first = start(data, new ByteArrayOutputStream())) {
            // the demo's directory, with its policy
        }
        Path policy = data.resolve("policy.yaml");
        String without = Files.readAllLines(policy).stream()
                .filter(line -> !line.trim().startsWith("analyst:"))
                .collect(java.util.stream.Collectors.joining("\n", "", "\n"));
        Files.writeString(policy, without);
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        try (LetheServer server = start(data, logs)) {
            String base = "http://127.0.0.1:" + server.port();
            HttpResponse<String> analyst = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                            .header("Authorization", "Bearer demo-analyst-token")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(analyst.statusCode()).isEqualTo(403);
            assertThat(analyst.body()).contains("role 'analyst' is not declared in the data policy");
            HttpResponse<String> advisor = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                            .header("Authorization", "Bearer demo-advisor-token")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(advisor.statusCode()).isEqualTo(200);
            assertThat(logs.toString(StandardCharsets.UTF_8)).contains("token role not in the data policy");
        }
    }

    @Test
    void a_key_store_its_master_key_no_longer_opens_is_not_ready_and_the_log_says_why() throws Exception {
        Path data = root.resolve("data");
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().keys().lookup("someone@example.com"); // the blind index's secret, wrapped
        }
        // A copy taken before a rotation, opened with the keyset the rotation left: its keys are wrapped by a
        // master key epoch that no longer exists.
        Path before = root.resolve("before");
        Files.createDirectories(before);
        for (String name : new String[] {"keys.db", "events.db", "policy.yaml"}) {
            Files.copy(data.resolve(name), before.resolve(name));
        }
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            lethe.privacy().rotateMasterKey(new Principal("dora", "dpo"));
        }
        Files.copy(
                data.resolve("master.keyset.json"),
                before.resolve("master.keyset.json"),
                StandardCopyOption.REPLACE_EXISTING);

        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        try (LetheServer server = start(before, logs)) {
            String base = "http://127.0.0.1:" + server.port();
            // At start, at level error, before any probe asks.
            assertThat(logs.toString(StandardCharsets.UTF_8).lines())
                    .anySatisfy(line ->
                            assertThat(line).contains("\"level\":\"error\"", "\"msg\":\"not ready: the master key"))
                    .noneSatisfy(line -> assertThat(line).contains("\"level\":\"warn\"", "master key does not open"));
            HttpResponse<String> ready = get(base + "/health/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains("\"status\":\"down\"", "master key");
            HttpResponse<String> health = get(base + "/health");
            assertThat(health.body()).contains("\"ready\":false", "\"status\":\"down\"");
            assertThat(health.statusCode())
                    .as("down is a 503, for checkers that read only the code")
                    .isEqualTo(503);
            assertThat(logs.toString(StandardCharsets.UTF_8)).contains("the master key does not open this key store");
        }
        // The command line reads it too, every personal field unavailable: it says why on standard error.
        for (String[] command :
                new String[][] {{"read", "--all"}, {"stats"}, {"subject", "receipts", "--role", "dpo"}}) {
            java.io.StringWriter out = new java.io.StringWriter();
            java.io.StringWriter err = new java.io.StringWriter();
            String[] args = new String[command.length + 2];
            args[0] = "--data";
            args[1] = before.toString();
            System.arraycopy(command, 0, args, 2, command.length);
            int code = dev.lethe.server.cli.LetheCli.run(
                    args, new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
            assertThat(code).as(String.join(" ", command) + ": " + err).isZero();
            assertThat(err.toString())
                    .as(String.join(" ", command))
                    .contains("warning: the master key does not open this key store", "lethe keys check");
        }
    }

    @Test
    void appends_that_keep_failing_make_the_server_degraded_and_its_log_say_so_at_error_until_one_succeeds()
            throws Exception {
        Path data = root.resolve("busy");
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        try (LetheServer server = start(data, logs)) {
            String base = "http://127.0.0.1:" + server.port();
            assertThat(append(base).statusCode()).isEqualTo(201);
            // Another connection holds the log's write lock: each append waits out the busy timeout, then fails
            // with a 503, as under a disk quota or an I/O error, which the free-space check does not see.
            try (java.sql.Connection holder =
                    java.sql.DriverManager.getConnection("jdbc:sqlite:" + data.resolve("events.db"))) {
                holder.createStatement().execute("BEGIN IMMEDIATE");
                java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(3);
                try {
                    java.util.List<java.util.concurrent.Future<HttpResponse<String>>> sent =
                            new java.util.ArrayList<>();
                    for (int i = 0; i < Hub.WRITE_FAILURES_DEGRADED; i++) {
                        sent.add(clients.submit(() -> append(base)));
                    }
                    for (java.util.concurrent.Future<HttpResponse<String>> one : sent) {
                        assertThat(one.get(60, java.util.concurrent.TimeUnit.SECONDS)
                                        .statusCode())
                                .isEqualTo(503);
                    }
                } finally {
                    clients.shutdownNow();
                }
                HttpResponse<String> ready = get(base + "/health/ready");
                assertThat(ready.statusCode()).as("still serving reads").isEqualTo(200);
                // No token needed here: the class of the failure only, never its message (the log has that).
                assertThat(ready.body())
                        .contains("\"status\":\"degraded\"", "the last 3 appends failed", "the server log says why")
                        .doesNotContain("SQLITE", "events.db", data.toString());
                assertThat(get(base + "/metrics").body()).contains("lethe_append_failures_in_a_row 3\n");
                holder.createStatement().execute("ROLLBACK");
            }
            assertThat(append(base).statusCode()).isEqualTo(201);
            assertThat(get(base + "/health/ready").body()).contains("\"status\":\"up\"");
            assertThat(get(base + "/metrics").body()).contains("lethe_append_failures_in_a_row 0\n");
            assertThat(logs.toString(StandardCharsets.UTF_8).lines())
                    .anySatisfy(
                            line -> assertThat(line).contains("\"level\":\"error\"", "appends failing: 3 in a row"));
        }
    }

    @Test
    void a_server_whose_lock_file_was_deleted_refuses_appends_saying_why_and_is_not_ready() throws Exception {
        Path data = root.resolve("locked");
        ByteArrayOutputStream logs = new ByteArrayOutputStream();
        try (LetheServer server = start(data, logs)) {
            String base = "http://127.0.0.1:" + server.port();
            assertThat(append(base).statusCode()).isEqualTo(201);
            assertThat(get(base + "/health/ready").statusCode()).isEqualTo(200);
            Files.delete(data.resolve("lethe.lock"));
            // Seen before the next append: a monitor learns it without waiting for a client's failure.
            HttpResponse<String> ready = get(base + "/health/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body())
                    .contains("lethe.lock was deleted or replaced")
                    .doesNotContain(data.toString());
            HttpResponse<String> refused = append(base);
            assertThat(refused.statusCode()).isEqualTo(500);
            assertThat(refused.body()).contains("lethe.lock was deleted");
            assertThat(get(base + "/health/ready").statusCode()).isEqualTo(503);
            assertThat(logs.toString(StandardCharsets.UTF_8))
                    .contains("\"msg\":\"server error\"", "lethe.lock was deleted");
        }
    }
}
