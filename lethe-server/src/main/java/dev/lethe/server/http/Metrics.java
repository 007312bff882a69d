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

    String prometheus() {
        StringBuilder out = new StringBuilder();
        Map<String, LongSupplier> allCounters = new java.util.TreeMap<>(readCounters);
        counters.forEach((name, adder) -> allCounters.put(name, adder::sum));
        allCounters.forEach((name, value) -> out.append("# TYPE lethe_")
                .append(name)
                .append("_total counter\n")
                .append("lethe_")
                .append(name)
                .append("_total ")
                .append(value.getAsLong())
                .append('\n'));
        gauges.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> out.append("# TYPE lethe_")
                        .append(e.getKey())
                        .append(" gauge\n")
                        .append("lethe_")
                        .append(e.getKey())
                        .append(' ')
                        .append(e.getValue().getAsLong())
                        .append('\n'));
        out.append("# TYPE lethe_http_responses_total counter\n");
        responses.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> out.append("lethe_http_responses_total{status=\"")
                        .append(e.getKey())
                        .append("\"} ")
                        .append(e.getValue().sum())
                        .append('\n'));
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
