package dev.lethe.server.http;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/** Counters and latency sums, written in the Prometheus text format at {@code /metrics}. */
final class Metrics {
    private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> latencySums = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> latencyCounts = new ConcurrentHashMap<>();
    private final Map<String, LongSupplier> gauges = new ConcurrentHashMap<>();

    void count(String name, long by) {
        counters.computeIfAbsent(name, n -> new LongAdder()).add(by);
    }

    /** Upper bounds of the request-time histogram's buckets, in seconds (Prometheus' defaults, and 30). */
    static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

    private static final long[] BUCKET_NANOS = java.util.Arrays.stream(BUCKETS)
            .mapToLong(seconds -> Math.round(seconds * 1e9))
            .toArray();

    private final Map<String, LongAdder[]> latencyBuckets = new ConcurrentHashMap<>();

    void time(String route, long nanos) {
        LongAdder[] buckets = latencyBuckets.computeIfAbsent(route, r -> {
            LongAdder[] made = new LongAdder[BUCKETS.length];
            java.util.Arrays.setAll(made, i -> new LongAdder());
            return made;
        });
        for (int i = 0; i < BUCKET_NANOS.length; i++) {
            if (nanos <= BUCKET_NANOS[i]) {
                buckets[i].increment(); // the first bucket it fits: cumulated when written
                break;
            }
        }
        latencySums.computeIfAbsent(route, r -> new LongAdder()).add(nanos);
        latencyCounts.computeIfAbsent(route, r -> new LongAdder()).increment();
    }

    private final Map<String, LongAdder> responses = new ConcurrentHashMap<>();

    /** Counts a response by its status class ({@code 2xx} … {@code 5xx}): five series at most. */
    void response(int status) {
        String label = status >= 100 && status < 600 ? (status / 100) + "xx" : "other";
        responses.computeIfAbsent(label, l -> new LongAdder()).increment();
    }

    void gauge(String name, LongSupplier value) {
        gauges.put(name, value);
    }

    private final Map<String, LongSupplier> readCounters = new ConcurrentHashMap<>();

    /**
     * A counter kept elsewhere (it only grows, e.g. the key cache's hits), written as {@code lethe_NAME_total}
     * of type {@code counter}, so that {@code rate()} works on it as on the others.
     */
    void counterFrom(String name, LongSupplier value) {
        readCounters.put(name, value);
    }

    /** What each series means, as its {@code # HELP} line says (Prometheus shows it beside the series). */
    private static final Map<String, String> HELP = Map.ofEntries(
            Map.entry("appends_total", "Append requests committed (HTTP and GraphQL)."),
            Map.entry("appended_events_total", "Events committed by append requests."),
            Map.entry("forgets_total", "Subjects forgotten, on request or by a scheduled forget coming due."),
            Map.entry("period_keys_destroyed_total", "Period keys destroyed by retention runs."),
            Map.entry("read_events_total", "Events served by reads."),
            Map.entry("graphql_queries_total", "GraphQL requests executed."),
            Map.entry("subscriptions_total", "Event streams (server-sent events) opened."),
            Map.entry("key_cache_hits_total", "Data-key lookups answered from the cache."),
            Map.entry("key_cache_misses_total", "Data-key lookups that unwrapped keys."),
            Map.entry("subscriptions_open", "Event streams open now."),
            Map.entry(
                    "requests_in_progress",
                    "Authenticated requests in progress now, event streams apart (64 per principal at most)."),
            Map.entry("log_head_position", "Position of the last event in the log (-1: empty)."),
            Map.entry("data_free_bytes", "Free bytes on the data directory's file system (-1: unknown)."),
            Map.entry("ready", "1 while the server is ready (appends possible, master key usable), else 0."),
            Map.entry(
                    "projections_failed",
                    "Read models whose fold failed (stale until the cause is fixed and the server restarted)."),
            Map.entry("projection_lag_events_max", "Events the furthest-behind read model has yet to fold."),
            Map.entry("retention_held", "1 while retention runs are refused for a clock far ahead of the last run."),
            Map.entry("subject_index_lag_events", "Events the subject index (exports) has yet to take in."),
            Map.entry(
                    "append_failures_in_a_row",
                    "Appends that failed for a reason that passes (503) since the last that succeeded; from 3,"
                            + " /health/ready says degraded."),
            Map.entry("http_responses_total", "HTTP responses by status class."),
            Map.entry("http_request_seconds", "HTTP request time by route pattern."),
            Map.entry("process_cpu_seconds_total", "CPU time the server's process has used."),
            Map.entry("process_start_time_seconds", "When the process started, in seconds since the epoch."),
            Map.entry("process_open_fds", "File descriptors the process has open."),
            Map.entry("process_max_fds", "File descriptors the process may open."),
            Map.entry("jvm_memory_used_bytes", "Memory the JVM uses, by area (heap, nonheap)."),
            Map.entry("jvm_memory_max_bytes", "Memory the JVM may use, by area (-1: no limit)."),
            Map.entry("jvm_threads_current", "Live threads."),
            Map.entry("jvm_gc_collection_seconds", "Time spent in garbage collection, by collector."));

    private static void help(StringBuilder out, String series) {
        String text = HELP.get(series);
        if (text != null) {
            out.append("# HELP lethe_").append(series).append(' ').append(text).append('\n');
        }
    }

    /** A series under its conventional name (no {@code lethe_} prefix), with its HELP and TYPE lines. */
    private static void standard(StringBuilder out, String series, String type) {
        out.append("# HELP ")
                .append(series)
                .append(' ')
                .append(HELP.get(series))
                .append('\n');
        out.append("# TYPE ").append(series).append(' ').append(type).append('\n');
    }

    String prometheus() {
        StringBuilder out = new StringBuilder();
        Map<String, LongSupplier> allCounters = new java.util.TreeMap<>(readCounters);
        counters.forEach((name, adder) -> allCounters.put(name, adder::sum));
        allCounters.forEach((name, value) -> {
            help(out, name + "_total");
            out.append("# TYPE lethe_")
                    .append(name)
                    .append("_total counter\n")
                    .append("lethe_")
                    .append(name)
                    .append("_total ")
                    .append(value.getAsLong())
                    .append('\n');
        });
        gauges.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String value;
            try {
                value = Long.toString(e.getValue().getAsLong());
            } catch (RuntimeException unknown) {
                value = "NaN"; // one reading that fails (a file system gone) does not cost the others
            }
            help(out, e.getKey());
            out.append("# TYPE lethe_")
                    .append(e.getKey())
                    .append(" gauge\n")
                    .append("lethe_")
                    .append(e.getKey())
                    .append(' ')
                    .append(value)
                    .append('\n');
        });
        help(out, "http_responses_total");
        out.append("# TYPE lethe_http_responses_total counter\n");
        responses.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> out.append("lethe_http_responses_total{status=\"")
                        .append(e.getKey())
                        .append("\"} ")
                        .append(e.getValue().sum())
                        .append('\n'));
        help(out, "http_request_seconds");
        out.append("# TYPE lethe_http_request_seconds histogram\n");
        latencyCounts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String route = e.getKey().replace("\"", "'");
            String label = "{route=\"" + route + "\"}";
            LongAdder[] buckets = latencyBuckets.get(e.getKey());
            long cumulated = 0;
            for (int i = 0; i < BUCKETS.length; i++) {
                cumulated += buckets[i].sum();
                out.append("lethe_http_request_seconds_bucket{route=\"")
                        .append(route)
                        .append("\",le=\"")
                        .append(BUCKETS[i])
                        .append("\"} ")
                        .append(cumulated)
                        .append('\n');
            }
            // A request is put in its bucket before it is counted: a scrape between the two sees one more in
            // the buckets, which +Inf must not be below.
            out.append("lethe_http_request_seconds_bucket{route=\"")
                    .append(route)
                    .append("\",le=\"+Inf\"} ")
                    .append(Math.max(cumulated, e.getValue().sum()))
                    .append('\n');
            out.append("lethe_http_request_seconds_count")
                    .append(label)
                    .append(' ')
                    .append(e.getValue().sum())
                    .append('\n');
            out.append("lethe_http_request_seconds_sum")
                    .append(label)
                    .append(' ')
                    .append(latencySums.get(e.getKey()).sum() / 1e9)
                    .append('\n');
        });
        process(out);
        return out.toString();
    }

    /**
     * The process and the JVM, under the names Prometheus' own clients give them, read from the JVM's
     * management beans at each scrape; a reading the platform does not give is left out.
     */
    private static void process(StringBuilder out) {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean platform && platform.getProcessCpuTime() >= 0) {
            standard(out, "process_cpu_seconds_total", "counter");
            out.append("process_cpu_seconds_total ")
                    .append(platform.getProcessCpuTime() / 1e9)
                    .append('\n');
        }
        standard(out, "process_start_time_seconds", "gauge");
        out.append("process_start_time_seconds ")
                .append(java.lang.management.ManagementFactory.getRuntimeMXBean()
                                .getStartTime()
                        / 1e3)
                .append('\n');
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            standard(out, "process_open_fds", "gauge");
            out.append("process_open_fds ")
                    .append(unix.getOpenFileDescriptorCount())
                    .append('\n');
            standard(out, "process_max_fds", "gauge");
            out.append("process_max_fds ")
                    .append(unix.getMaxFileDescriptorCount())
                    .append('\n');
        }
        var memory = java.lang.management.ManagementFactory.getMemoryMXBean();
        standard(out, "jvm_memory_used_bytes", "gauge");
        out.append("jvm_memory_used_bytes{area=\"heap\"} ")
                .append(memory.getHeapMemoryUsage().getUsed())
                .append('\n');
        out.append("jvm_memory_used_bytes{area=\"nonheap\"} ")
                .append(memory.getNonHeapMemoryUsage().getUsed())
                .append('\n');
        standard(out, "jvm_memory_max_bytes", "gauge");
        out.append("jvm_memory_max_bytes{area=\"heap\"} ")
                .append(memory.getHeapMemoryUsage().getMax())
                .append('\n');
        out.append("jvm_memory_max_bytes{area=\"nonheap\"} ")
                .append(memory.getNonHeapMemoryUsage().getMax())
                .append('\n');
        standard(out, "jvm_threads_current", "gauge");
        out.append("jvm_threads_current ")
                .append(java.lang.management.ManagementFactory.getThreadMXBean().getThreadCount())
                .append('\n');
        standard(out, "jvm_gc_collection_seconds", "summary");
        for (var gc : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            String label = "{gc=\"" + gc.getName().replace("\"", "'") + "\"}";
            out.append("jvm_gc_collection_seconds_count")
                    .append(label)
                    .append(' ')
                    .append(Math.max(0, gc.getCollectionCount()))
                    .append('\n');
            out.append("jvm_gc_collection_seconds_sum")
                    .append(label)
                    .append(' ')
                    .append(Math.max(0, gc.getCollectionTime()) / 1e3)
                    .append('\n');
        }
    }
}
