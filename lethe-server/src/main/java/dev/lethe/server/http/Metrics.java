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

    String prometheus() {
        StringBuilder out = new StringBuilder();
        counters.entrySet().stream()
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> out.append("# TYPE lethe_")
                        .append(e.getKey())
                        .append("_total counter\n")
                        .append("lethe_")
                        .append(e.getKey())
                        .append("_total ")
                        .append(e.getValue().sum())
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
