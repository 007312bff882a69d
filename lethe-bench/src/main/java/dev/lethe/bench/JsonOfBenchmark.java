package dev.lethe.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.lethe.core.privacy.schema.DataSubject;
import dev.lethe.core.privacy.schema.PersonalData;
import dev.lethe.core.store.Json;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code Json.of(record)}, which notes where a record's marked components are written and checks that none
 * is written elsewhere, against the same mapper writing the same record with no checks ({@code
 * Json.exactMapper()}: the baseline), for a sale record of 10 components, 3 of them marked, and for an
 * unmarked record of the same shape. Microseconds per call.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(1)
@State(Scope.Benchmark)
public class JsonOfBenchmark {
    /** A customer's sale: the e-mail address names the subject; name and birth date are personal. */
    public record MarkedSale(
            @DataSubject @PersonalData(group = "contact") String email,
            @PersonalData(group = "identity") String name,
            @PersonalData(group = "identity") LocalDate born,
            String product,
            String reason,
            BigDecimal amount,
            String currency,
            int quantity,
            Instant at,
            List<String> tags) {}

    /** The same shape with nothing marked. */
    public record PlainSale(
            String email,
            String name,
            LocalDate born,
            String product,
            String reason,
            BigDecimal amount,
            String currency,
            int quantity,
            Instant at,
            List<String> tags) {}

    private final MarkedSale marked = new MarkedSale(
            "customer-17@example.com",
            "Customer Seventeen",
            LocalDate.of(1980, 5, 17),
            "fund-a",
            "retirement",
            new BigDecimal("1250.00"),
            "EUR",
            3,
            Instant.parse("2026-11-28T10:00:00Z"),
            List.of("advised", "online"));
    private final PlainSale plain = new PlainSale(
            "customer-17@example.com",
            "Customer Seventeen",
            LocalDate.of(1980, 5, 17),
            "fund-a",
            "retirement",
            new BigDecimal("1250.00"),
            "EUR",
            3,
            Instant.parse("2026-11-28T10:00:00Z"),
            List.of("advised", "online"));
    private final ObjectMapper mapper = Json.exactMapper();

    @Benchmark
    public Json jsonOfMarked() {
        return Json.of(marked);
    }

    @Benchmark
    public Json jsonOfPlain() {
        return Json.of(plain);
    }

    @Benchmark
    public byte[] baselineMapperMarked() throws Exception {
        return mapper.writeValueAsBytes(marked);
    }

    @Benchmark
    public byte[] baselineMapperPlain() throws Exception {
        return mapper.writeValueAsBytes(plain);
    }
}
