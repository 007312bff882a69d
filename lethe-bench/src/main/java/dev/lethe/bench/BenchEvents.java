package dev.lethe.bench;

import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteEventStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** The events the benchmarks write: about 300 bytes of JSON each, a sale of a product for a reason. */
final class BenchEvents {
    static final int CUSTOMERS = 10_000;
    private static final String[] PRODUCTS = {"Global Equity Fund", "Euro Bond Fund", "Sustainable Growth Fund"};
    private static final String[] REASONS = {"retirement", "education", "house purchase", "savings"};

    private BenchEvents() {}

    static EventData sale(long n) {
        String json = String.format(
                Locale.ROOT,
                "{\"customer\":\"customer-%05d\",\"product\":\"%s\",\"reason\":\"%s\",\"amount\":%d.00,"
                        + "\"currency\":\"EUR\",\"channel\":\"advisor\",\"branch\":\"Lisbon-Baixa\",\"sequence\":%d,"
                        + "\"note\":\"Quarterly rebalancing of the model portfolio as agreed with the customer\"}",
                n % CUSTOMERS,
                PRODUCTS[(int) (n % PRODUCTS.length)],
                REASONS[(int) (n % REASONS.length)],
                1_000 + n % 50_000,
                n);
        return EventData.of("ProductSold", Json.parse(json));
    }

    static List<EventData> batch(long first, int size) {
        List<EventData> events = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            events.add(sale(first + i));
        }
        return events;
    }

    static StreamId customer(long n) {
        return StreamId.of(String.format(Locale.ROOT, "customer-%05d", n % CUSTOMERS));
    }

    /**
     * A store with {@code count} events under {@code target/bench-data}, written once and reused by
     * later forks and runs (a marker file records the count).
     */
    static Path populated(String name, long count) {
        Path directory = Path.of("target", "bench-data", name + "-" + count);
        Path marker = directory.resolve("complete");
        if (Files.exists(marker)) {
            return directory;
        }
        deleteRecursively(directory);
        try (SqliteEventStore store = SqliteEventStore.open(directory)) {
            int batch = 1_000;
            for (long n = 0; n < count; n += batch) {
                // Each batch goes to one customer's stream, as a bulk import would.
                store.append(customer(n / batch), ExpectedVersion.any(), batch(n, (int) Math.min(batch, count - n)));
            }
            Files.writeString(marker, Long.toString(count));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return directory;
    }

    static Path freshDirectory(String name) {
        try {
            Files.createDirectories(Path.of("target", "bench-data"));
            return Files.createTempDirectory(Path.of("target", "bench-data"), name);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteRecursively(Path directory) {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder())
                    .forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static long readAll(EventStore store) {
        long count = 0;
        for (long next = 0; ; ) {
            var page = store.readAll(next, EventStore.MAX_READ_LIMIT);
            count += page.size();
            if (page.size() < EventStore.MAX_READ_LIMIT) {
                return count;
            }
            next = page.get(page.size() - 1).position() + 1;
        }
    }
}
