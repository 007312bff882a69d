package dev.lethe.bench;

import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.server.demo.DataJourney;
import dev.lethe.server.demo.DemoStory;
import dev.lethe.server.http.LetheServer;
import dev.lethe.server.http.ServerConfig;
import dev.lethe.sqlite.SqliteLethe;
import dev.lethe.sqlite.SqliteOptions;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Load over HTTP, not JMH (JMH measures in-process code; this measures the server with real sockets):
 * starts {@link LetheServer} in-process on 127.0.0.1 (a free port, a temporary data directory, demo
 * mode with the demo story loaded) and drives it with {@link HttpClient}s in the same JVM:
 *
 * <ol>
 *   <li>appends of batches of 100 ~300-byte events from 8 concurrent connections, events/s;
 *   <li>a GraphQL event query as the advisor from 16 concurrent connections: requests/s, p50 and p99
 *       latency (every request's latency is recorded and sorted); then the same from one connection,
 *       for the service time without queueing;
 *   <li>the reference: the same batches through {@code privacy().append} in-process from 8 threads.
 * </ol>
 *
 * Each measurement follows a warm-up of {@value #WARMUP_SECONDS} s. The clients share the machine's
 * cores with the server, as they would on one box. Run with
 *
 * <pre>
 * ./mvnw -q -pl lethe-bench -am package -DskipTests
 * java -cp lethe-bench/target/benchmarks.jar dev.lethe.bench.HttpLoad [seconds per measurement, default 15]
 * </pre>
 */
public final class HttpLoad {
    private static final int BATCH = 100;
    private static final int APPEND_CONNECTIONS = 8;
    private static final int QUERY_CONNECTIONS = 16;
    private static final int IN_PROCESS_THREADS = 8;
    private static final int BODIES = 200;
    private static final long WARMUP_SECONDS = 5;
    private static final String ADMIN = "demo-admin-token";
    private static final String ADVISOR = "demo-advisor-token";
    private static final String EVENT_TYPE = "BenchSale";
    static final String QUERY =
            "{ events(category: \"customer\", limit: 10) { position type data redacted { path reason } } }";
    private static final double TARGET_APPENDS = 20_000;
    private static final double TARGET_P99_MS = 20;

    private HttpLoad() {}

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : 15;
        Path directory = Files.createTempDirectory("lethe-httpload");
        try {
            run(directory, seconds);
        } finally {
            BenchEvents.deleteRecursively(directory);
        }
    }

    private static void run(Path directory, long seconds) throws Exception {
        loadDemo(directory);
        PrintStream nowhere = new PrintStream(OutputStream.nullOutputStream());
        ServerConfig config = ServerConfig.load(null, Map.of())
                .withData(directory)
                .withPort(0)
                .withDemo();
        try (LetheServer server = LetheServer.start(config, new LetheServer.JsonLogTarget(nowhere))) {
            URI base = URI.create("http://127.0.0.1:" + server.port());
            HttpClient http = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();
            checkQuery(http, base);

            System.err.printf(
                    "HTTP appends: %d connections, batches of %d, %d s%n", APPEND_CONNECTIONS, BATCH, seconds);
            List<String> bodies = appendBodies();
            Rate httpAppends = httpAppends(http, base, bodies, seconds);

            System.err.printf("GraphQL: %d connections, %d s%n", QUERY_CONNECTIONS, seconds);
            Latencies graphql = graphql(http, base, seconds, QUERY_CONNECTIONS);

            System.err.printf("GraphQL: 1 connection, %d s (the service time, without queueing)%n", seconds);
            Latencies graphqlAlone = graphql(http, base, seconds, 1);

            System.err.printf("in-process appends: %d threads, %d s%n", IN_PROCESS_THREADS, seconds);
            Rate inProcess = inProcessAppends(server.lethe(), seconds);

            print(httpAppends, graphql, graphqlAlone, inProcess, seconds);
        }
    }

    /** What {@code lethe serve --demo} does the first time: the demo story and the data journey. */
    private static void loadDemo(Path directory) throws Exception {
        java.time.Clock clock = DemoStory.storyClock();
        try (SqliteLethe lethe = SqliteLethe.open(directory, SqliteOptions.DEFAULT.withClock(clock))) {
            new DemoStory(lethe.privacy(), lethe.projections(), clock, null, new PrintWriter(new StringWriter())).run();
            DataJourney.load(lethe.store());
        }
    }

    /** The query must answer with events, else its latency means nothing. */
    private static void checkQuery(HttpClient http, URI base) throws Exception {
        HttpResponse<String> response = http.send(graphqlRequest(base), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200
                || !response.body().contains("\"position\"")
                || response.body().contains("\"errors\"")) {
            throw new IllegalStateException(
                    "the GraphQL query fails: " + response.statusCode() + " " + response.body());
        }
    }

    private static HttpRequest graphqlRequest(URI base) {
        String body = Json.of(Map.of("query", QUERY)).toString();
        return HttpRequest.newBuilder(base.resolve("/graphql"))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + ADVISOR)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    /** {@value #BODIES} request bodies of {@value #BATCH} events each, built before the measurement. */
    private static List<String> appendBodies() {
        List<String> bodies = new ArrayList<>(BODIES);
        for (int b = 0; b < BODIES; b++) {
            StringBuilder body = new StringBuilder(BATCH * 340).append("{\"expectedVersion\":\"any\",\"events\":[");
            for (int i = 0; i < BATCH; i++) {
                if (i > 0) {
                    body.append(',');
                }
                body.append("{\"type\":\"")
                        .append(EVENT_TYPE)
                        .append("\",\"data\":")
                        .append(BenchEvents.sale((long) b * BATCH + i).data())
                        .append('}');
            }
            bodies.add(body.append("]}").toString());
        }
        return bodies;
    }

    /** Appends go to {@value BenchEvents#CUSTOMERS} streams of the category "sales" (not the demo's "customer"). */
    private static String stream(long n) {
        return String.format(Locale.ROOT, "sales-%05d", n % BenchEvents.CUSTOMERS);
    }

    private static List<EventData> inProcessBatch(int b) {
        List<EventData> events = new ArrayList<>(BATCH);
        for (int i = 0; i < BATCH; i++) {
            events.add(EventData.of(
                    EVENT_TYPE, BenchEvents.sale((long) b * BATCH + i).data()));
        }
        return events;
    }

    /** Events per second over the measurement, and the failures seen. */
    record Rate(double perSecond, long total, long failures, String firstFailure) {}

    /** Requests per second and the sorted latencies of the measurement, in nanoseconds. */
    record Latencies(double perSecond, long[] sorted, long failures, String firstFailure) {
        double percentileMs(double p) {
            if (sorted.length == 0) {
                return Double.NaN;
            }
            int index = (int) Math.ceil(p / 100 * sorted.length) - 1;
            return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
        }
    }

    /** Runs {@code threads} copies of {@code work} for the warm-up, then the measurement; stops them. */
    private static final class Phase {
        final long measureFrom;
        final long measureUntil;
        volatile boolean stopped;

        Phase(long seconds) {
            measureFrom = System.nanoTime() + TimeUnit.SECONDS.toNanos(WARMUP_SECONDS);
            measureUntil = measureFrom + TimeUnit.SECONDS.toNanos(seconds);
        }

        boolean measuring(long now) {
            return now >= measureFrom && now < measureUntil;
        }

        boolean running() {
            return !stopped && System.nanoTime() < measureUntil;
        }

        void run(int threads, java.util.function.IntConsumer work) throws InterruptedException {
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                all.add(new Thread(() -> work.accept(thread), "load-" + t));
            }
            all.forEach(Thread::start);
            for (Thread thread : all) {
                thread.join(TimeUnit.NANOSECONDS.toMillis(measureUntil - System.nanoTime()) + 60_000);
            }
            stopped = true;
            for (Thread thread : all) {
                thread.join(60_000);
            }
        }
    }

    private static Rate httpAppends(HttpClient http, URI base, List<String> bodies, long seconds)
            throws InterruptedException {
        LongAdder events = new LongAdder();
        LongAdder failures = new LongAdder();
        AtomicLong sequence = new AtomicLong();
        String[] firstFailure = new String[1];
        Phase phase = new Phase(seconds);
        phase.run(APPEND_CONNECTIONS, thread -> {
            while (phase.running()) {
                long n = sequence.getAndIncrement();
                HttpRequest request = HttpRequest.newBuilder(base.resolve("/v1/streams/" + stream(n) + "/events"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Authorization", "Bearer " + ADMIN)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(bodies.get((int) (n % bodies.size()))))
                        .build();
                try {
                    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                    long done = System.nanoTime();
                    if (response.statusCode() != 201) {
                        failed(failures, firstFailure, response.statusCode() + " " + response.body());
                    } else if (phase.measuring(done)) {
                        events.add(BATCH);
                    }
                } catch (IOException e) {
                    failed(failures, firstFailure, e.toString());
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        long total = events.sum();
        return new Rate(total / (double) seconds, total, failures.sum(), firstFailure[0]);
    }

    private static Latencies graphql(HttpClient http, URI base, long seconds, int connections)
            throws InterruptedException {
        HttpRequest request = graphqlRequest(base);
        long[][] perThread = new long[connections][];
        int[] counts = new int[connections];
        LongAdder failures = new LongAdder();
        String[] firstFailure = new String[1];
        Phase phase = new Phase(seconds);
        phase.run(connections, thread -> {
            long[] latencies = new long[1 << 14];
            int count = 0;
            while (phase.running()) {
                long started = System.nanoTime();
                try {
                    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
                    long done = System.nanoTime();
                    if (response.statusCode() != 200 || response.body().contains("\"errors\"")) {
                        failed(failures, firstFailure, response.statusCode() + " " + response.body());
                    } else if (phase.measuring(started) && phase.measuring(done)) {
                        if (count == latencies.length) {
                            latencies = Arrays.copyOf(latencies, count * 2);
                        }
                        latencies[count++] = done - started;
                    }
                } catch (IOException e) {
                    failed(failures, firstFailure, e.toString());
                } catch (InterruptedException e) {
                    break;
                }
            }
            perThread[thread] = latencies;
            counts[thread] = count;
        });
        int total = Arrays.stream(counts).sum();
        long[] all = new long[total];
        int at = 0;
        for (int t = 0; t < connections; t++) {
            if (perThread[t] != null) {
                System.arraycopy(perThread[t], 0, all, at, counts[t]);
                at += counts[t];
            }
        }
        Arrays.sort(all);
        return new Latencies(total / (double) seconds, all, failures.sum(), firstFailure[0]);
    }

    private static Rate inProcessAppends(SqliteLethe lethe, long seconds) throws InterruptedException {
        List<List<EventData>> batches = new ArrayList<>(BODIES);
        for (int b = 0; b < BODIES; b++) {
            batches.add(inProcessBatch(b));
        }
        LongAdder events = new LongAdder();
        LongAdder failures = new LongAdder();
        AtomicLong sequence = new AtomicLong();
        String[] firstFailure = new String[1];
        Phase phase = new Phase(seconds);
        phase.run(IN_PROCESS_THREADS, thread -> {
            while (phase.running()) {
                long n = sequence.getAndIncrement();
                try {
                    lethe.privacy().append(StreamId.of(stream(n)), ExpectedVersion.any(), batches.get((int)
                            (n % batches.size())));
                    if (phase.measuring(System.nanoTime())) {
                        events.add(BATCH);
                    }
                } catch (RuntimeException e) {
                    failed(failures, firstFailure, e.toString());
                }
            }
        });
        long total = events.sum();
        return new Rate(total / (double) seconds, total, failures.sum(), firstFailure[0]);
    }

    private static void failed(LongAdder failures, String[] first, String what) {
        failures.increment();
        synchronized (first) {
            if (first[0] == null) {
                first[0] = what.length() > 300 ? what.substring(0, 300) : what;
            }
        }
    }

    private static void print(
            Rate httpAppends, Latencies graphql, Latencies graphqlAlone, Rate inProcess, long seconds) {
        double p50 = graphql.percentileMs(50);
        double p99 = graphql.percentileMs(99);
        PrintStream out = System.out;
        out.println();
        out.println("| date | machine | java |");
        out.println("|---|---|---|");
        out.printf(
                "| %s | %s | %s %s |%n",
                ZonedDateTime.now()
                        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                        .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                machine(),
                System.getProperty("java.vm.name"),
                System.getProperty("java.runtime.version"));
        out.println();
        out.printf(
                "Server and clients in one JVM on the same cores; each figure is %d s measured after a %d s warm-up.%n%n",
                seconds, WARMUP_SECONDS);
        out.println("| measurement | result | target | met |");
        out.println("|---|---|---|---|");
        out.printf(
                Locale.ROOT,
                "| HTTP append, batches of %d ~300-byte events, %d connections | %,.0f events/s | ≥ %,.0f events/s | %s |%n",
                BATCH,
                APPEND_CONNECTIONS,
                httpAppends.perSecond(),
                TARGET_APPENDS,
                httpAppends.perSecond() >= TARGET_APPENDS ? "yes" : "no");
        out.printf(
                Locale.ROOT,
                "| GraphQL `events(category: \"customer\", limit: 10)` as advisor, %d connections | %,.0f req/s; p50 %.2f ms, p99 %.2f ms, max %.2f ms (%,d requests) | p99 ≤ %.0f ms | %s |%n",
                QUERY_CONNECTIONS,
                graphql.perSecond(),
                p50,
                p99,
                graphql.percentileMs(100),
                graphql.sorted().length,
                TARGET_P99_MS,
                p99 <= TARGET_P99_MS ? "yes" : "no");
        out.printf(
                Locale.ROOT,
                "| context: the same GraphQL query, 1 connection | %,.0f req/s; p50 %.2f ms, p99 %.2f ms (%,d requests) | — | — |%n",
                graphqlAlone.perSecond(),
                graphqlAlone.percentileMs(50),
                graphqlAlone.percentileMs(99),
                graphqlAlone.sorted().length);
        out.printf(
                Locale.ROOT,
                "| reference: in-process `privacy().append`, batches of %d, %d threads | %,.0f events/s | — | — |%n",
                BATCH,
                IN_PROCESS_THREADS,
                inProcess.perSecond());
        out.println();
        out.printf(
                Locale.ROOT,
                "HTTP appends reach %.0f %% of the in-process rate. Failures: HTTP appends %d%s, GraphQL %d%s, in-process %d%s.%n",
                100 * httpAppends.perSecond() / inProcess.perSecond(),
                httpAppends.failures(),
                firstFailure(httpAppends.firstFailure()),
                graphql.failures() + graphqlAlone.failures(),
                firstFailure(graphql.firstFailure() != null ? graphql.firstFailure() : graphqlAlone.firstFailure()),
                inProcess.failures(),
                firstFailure(inProcess.firstFailure()));
    }

    private static String firstFailure(String failure) {
        return failure == null ? "" : " (first: " + failure + ")";
    }

    /** nproc, memory and {@code uname -srm}. */
    static String machine() {
        long memoryKb = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    memoryKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Not Linux: memory unknown.
        }
        String uname;
        try {
            Process process = new ProcessBuilder("uname", "-srm")
                    .redirectErrorStream(true)
                    .start();
            uname = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            uname = System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                    + System.getProperty("os.arch");
        }
        return String.format(
                Locale.ROOT,
                "%d cores, %s, %s",
                Runtime.getRuntime().availableProcessors(),
                memoryKb == 0 ? "? GiB" : String.format(Locale.ROOT, "%.1f GiB", memoryKb / 1048576.0),
                uname);
    }
}
