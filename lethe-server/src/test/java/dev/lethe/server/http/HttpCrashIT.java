package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety over HTTP: {@code lethe serve} runs as a child JVM; four clients append batches of 1–20
 * events through {@code POST /v1/streams/{stream}/events} and record every append answered 201; the
 * server is killed with SIGKILL 300–1500 ms into the load, restarted on the same data directory, and
 * {@code GET /v1/events} must then hold every acknowledged batch whole, no batch partly, and dense
 * positions and versions. The same directory goes through every trial, so recovery is also tested on
 * a store that has crashed before. Requests cut by the kill (connection refused or reset, timeouts)
 * are expected: they are not acknowledgements, and whatever they wrote must still be whole.
 *
 * <p>The in-process twin is {@code SqliteCrashIT} in lethe-sqlite; this one adds the HTTP layer: a 201
 * must not be sent before the append is durable. Power loss is not covered (see {@code SqliteCrashIT}).
 */
class HttpCrashIT {
    private static final int TRIALS = Integer.getInteger("lethe.http.crash.trials", 10);
    private static final int CLIENTS = 4;
    private static final String TOKEN = "crash-test-token";
    private static final int PAGE = 10_000;
    private static final Duration STARTUP = Duration.ofSeconds(60);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path work;

    private Process child;
    private Path childLog;
    private int starts;

    private record Ack(String batch, String stream, int size, long firstPosition) {}

    /** What the clients of one trial saw besides acknowledgements. */
    private static final class Outcome {
        final AtomicInteger connectionErrors = new AtomicInteger();
        final ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
    }

    @AfterEach
    void killChild() throws InterruptedException {
        if (child != null && child.isAlive()) {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void every_acknowledged_http_append_survives_sigkill_and_no_batch_is_partly_there() throws Exception {
        Path data = work.resolve("data");
        Path config = work.resolve("lethe.yaml");
        Files.writeString(config, "tokens:\n  " + TOKEN + ": { principal: crash-test, role: dpo }\n");
        Map<String, Ack> acknowledged = new ConcurrentHashMap<>();
        int connectionErrors = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            // A new client per server: no pooled connection to the killed one is reused.
            HttpClient http = client();
            URI base = start(data, config, http);
            verify(http, base, acknowledged);
            int before = acknowledged.size();
            Outcome outcome = loadAndKill(http, base, "t" + trial, acknowledged);
            assertThat(outcome.unexpected)
                    .as("answers other than 201 in trial %d", trial)
                    .isEmpty();
            assertThat(acknowledged.size())
                    .as("trial %d acknowledged appends", trial)
                    .isGreaterThan(before);
            connectionErrors += outcome.connectionErrors.get();
        }
        // After the last kill: restart once more and check.
        HttpClient http = client();
        URI base = start(data, config, http);
        long events = verify(http, base, acknowledged);
        child.destroy(); // SIGTERM: the shutdown hook closes the store
        assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        System.out.printf(
                "HttpCrashIT: %d trials, %d acknowledged batches, %d events in the log, %d requests cut by the kills%n",
                TRIALS, acknowledged.size(), events, connectionErrors);
    }

    private static HttpClient client() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .build();
    }

    /**
     * Starts {@code lethe serve} on a port the system picks ({@code --port 0}), reads which from the line
     * it prints, and waits until {@code /health} answers there. (A port found free first and passed on
     * could be taken by another process before the child binds it.)
     */
    private URI start(Path data, Path config, HttpClient http) throws Exception {
        childLog = work.resolve("server-" + starts++ + ".log");
        child = dev.lethe.server.cli.ChildCli.command(
                        "serve", "--init", "--data", data.toString(), "--port", "0", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(childLog.toFile())
                .start();
        Pattern serving = Pattern.compile("Lethe is serving .* on (http://127\\.0\\.0\\.1:\\d+)");
        URI base = null;
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                fail("the server exited with %d before answering /health:%n%s", child.exitValue(), logTail());
            }
            if (base == null) {
                Matcher line = serving.matcher(Files.readString(childLog, StandardCharsets.UTF_8));
                if (line.find()) {
                    base = URI.create(line.group(1));
                }
            }
            if (base != null) {
                HttpRequest health = HttpRequest.newBuilder(base.resolve("/health"))
                        .timeout(Duration.ofSeconds(2))
                        .build();
                try {
                    if (http.send(health, HttpResponse.BodyHandlers.discarding())
                                    .statusCode()
                            == 200) {
                        return base;
                    }
                } catch (IOException notYet) {
                    // Not answering yet.
                }
            }
            Thread.sleep(50);
        }
        return fail("the server did not answer /health within %s:%n%s", STARTUP, logTail());
    }

    /**
     * Four clients append until the server dies; the kill comes 300–1500 ms after the load starts (and
     * not before the first acknowledgement, so that every trial has some).
     */
    private Outcome loadAndKill(HttpClient http, URI base, String run, Map<String, Ack> acknowledged) throws Exception {
        Outcome outcome = new Outcome();
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch firstAck = new CountDownLatch(1);
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            Thread thread = new Thread(
                    () -> {
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        while (!stop.get()) {
                            String stream = "crash-" + run + "." + client + "." + random.nextInt(8);
                            String batch = UUID.randomUUID().toString();
                            int size = 1 + random.nextInt(20);
                            try {
                                HttpResponse<String> response =
                                        http.send(appendRequest(base, stream, batch, size), ofString());
                                if (response.statusCode() != 201) {
                                    outcome.unexpected.add(response.statusCode() + " " + response.body());
                                    continue;
                                }
                                JsonNode body = JSON.readTree(response.body());
                                long first = body.get("firstPosition").asLong();
                                long last = body.get("lastPosition").asLong();
                                if (last - first + 1 != size
                                        || !stream.equals(body.get("stream").asText())) {
                                    outcome.unexpected.add("201 with a wrong answer: " + body);
                                    continue;
                                }
                                acknowledged.put(batch, new Ack(batch, stream, size, first));
                                firstAck.countDown();
                            } catch (IOException cut) {
                                // Connection refused, reset or closed, or a timeout: the kill. Not an ack.
                                outcome.connectionErrors.incrementAndGet();
                                if (!child.isAlive()) {
                                    return;
                                }
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    },
                    "http-crash-client-" + c);
            thread.setDaemon(true);
            clients.add(thread);
        }
        long started = System.nanoTime();
        clients.forEach(Thread::start);
        try {
            assertThat(firstAck.await(30, TimeUnit.SECONDS))
                    .as("the server acknowledged an append; its log:%n%s", logTail())
                    .isTrue();
            long killAt = started
                    + TimeUnit.MILLISECONDS.toNanos(ThreadLocalRandom.current().nextInt(300, 1501));
            long wait = killAt - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
        } finally {
            child.destroyForcibly(); // SIGKILL on Linux
            stop.set(true);
            assertThat(child.waitFor(30, TimeUnit.SECONDS))
                    .as("killed server exits")
                    .isTrue();
            for (Thread client : clients) {
                client.join(REQUEST_TIMEOUT.toMillis() + 5_000);
                assertThat(client.isAlive()).as("%s stopped", client.getName()).isFalse();
            }
        }
        return outcome;
    }

    private static HttpRequest appendRequest(URI base, String stream, String batch, int size) {
        ObjectNode body = JSON.createObjectNode().put("expectedVersion", "any");
        ArrayNode events = body.putArray("events");
        for (int i = 0; i < size; i++) {
            ObjectNode event = events.addObject().put("type", "Crashed");
            event.putObject("data").put("batch", batch).put("size", size).put("index", i);
        }
        return HttpRequest.newBuilder(base.resolve("/v1/streams/" + stream + "/events"))
                .timeout(REQUEST_TIMEOUT)
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
    }

    private static HttpResponse.BodyHandler<String> ofString() {
        return HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8);
    }

    /** Reads the whole log through the API and checks it; returns the number of events. */
    private long verify(HttpClient http, URI base, Map<String, Ack> acknowledged) throws Exception {
        // The head first: the server's own retention run may append to $audit while the log is read.
        HttpResponse<String> health = http.send(
                HttpRequest.newBuilder(base.resolve("/health"))
                        .timeout(Duration.ofSeconds(10))
                        .build(),
                ofString());
        long head = JSON.readTree(health.body()).get("headPosition").asLong();
        List<JsonNode> log = new ArrayList<>();
        while (true) {
            HttpRequest read = HttpRequest.newBuilder(base.resolve("/v1/events?from=" + log.size() + "&limit=" + PAGE))
                    .timeout(Duration.ofSeconds(60))
                    .header("Authorization", "Bearer " + TOKEN)
                    .build();
            HttpResponse<String> response = http.send(read, ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            JsonNode page = JSON.readTree(response.body()).get("events");
            page.forEach(log::add);
            if (page.size() < PAGE) {
                break;
            }
        }
        assertThat(log.size() - 1L)
                .as("events readable up to the head position")
                .isGreaterThanOrEqualTo(head);

        Map<String, Long> nextVersion = new HashMap<>();
        Map<String, List<JsonNode>> batches = new HashMap<>();
        for (int p = 0; p < log.size(); p++) {
            JsonNode event = log.get(p);
            assertThat(event.get("position").asLong()).as("dense positions").isEqualTo(p);
            String stream = event.get("stream").asText();
            long expected = nextVersion.getOrDefault(stream, 0L);
            assertThat(event.get("version").asLong())
                    .as("dense versions in %s", stream)
                    .isEqualTo(expected);
            nextVersion.put(stream, expected + 1);
            JsonNode batch = event.path("data").get("batch");
            if (batch != null) {
                batches.computeIfAbsent(batch.asText(), b -> new ArrayList<>()).add(event);
            }
        }
        for (Map.Entry<String, List<JsonNode>> entry : batches.entrySet()) {
            List<JsonNode> batch = entry.getValue();
            JsonNode first = batch.get(0);
            assertThat(batch)
                    .as("batch %s is whole", entry.getKey())
                    .hasSize(first.get("data").get("size").asInt());
            for (int i = 0; i < batch.size(); i++) {
                JsonNode event = batch.get(i);
                assertThat(event.get("position").asLong())
                        .as("batch %s is contiguous", entry.getKey())
                        .isEqualTo(first.get("position").asLong() + i);
                assertThat(event.get("stream").asText())
                        .isEqualTo(first.get("stream").asText());
                assertThat(event.get("data").get("index").asInt()).isEqualTo(i);
            }
        }
        for (Ack ack : acknowledged.values()) {
            List<JsonNode> stored = batches.get(ack.batch());
            assertThat(stored)
                    .as("acknowledged batch %s", ack.batch())
                    .isNotNull()
                    .hasSize(ack.size());
            assertThat(stored.get(0).get("position").asLong())
                    .as("acknowledged position of %s", ack.batch())
                    .isEqualTo(ack.firstPosition());
            assertThat(stored.get(0).get("stream").asText()).isEqualTo(ack.stream());
        }
        return log.size();
    }

    private String logTail() {
        try {
            List<String> lines = Files.readAllLines(childLog, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }
}
