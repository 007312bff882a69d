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

    void time(String route, long nanos) {
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
            Map.entry("log_head_position", "Position of the last event in the log (-1: empty)."),
            Map.entry("data_free_bytes", "Free bytes on the data directory's file system (-1: unknown)."),
            Map.entry("ready", "1 while the server is ready (appends possible, master key usable), else 0."),
            Map.entry("projections_failed", "Read models whose fold failed (stale until fixed and rebuilt)."),
            Map.entry("projection_lag_events_max", "Events the furthest-behind read model has yet to fold."),
            Map.entry("retention_held", "1 while retention runs are refused for a clock far ahead of the last run."),
            Map.entry("subject_index_lag_events", "Events the subject index (exports) has yet to take in."),
            Map.entry("http_responses_total", "HTTP responses by status class."),
            Map.entry("http_request_seconds", "HTTP request time by route pattern."));

    private static void help(StringBuilder out, String series) {
        String text = HELP.get(series);
        if (text != null) {
            out.append("# HELP lethe_").append(series).append(' ').append(text).append('\n');
        }
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
        out.append("# TYPE lethe_http_request_seconds summary\n");
        latencyCounts.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            String label = "{route=\"" + e.getKey().replace("\"", "'") + "\"}";
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
        return out.toString();
    }
}
