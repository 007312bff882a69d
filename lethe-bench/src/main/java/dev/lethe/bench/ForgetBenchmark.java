package dev.lethe.bench;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The latency of {@code privacy().forget} (key and blind index deleted, fence raised, WAL truncated,
 * {@code SubjectForgotten} and an audit entry appended, all durable) for a subject with 10 and with
 * 100,000 events, in milliseconds.
 *
 * <p>Every forget needs a subject not yet forgotten, so the run is single-shot: each measured iteration
 * forgets exactly one subject from a pool written in the setup, and JMH's percentiles are over those
 * iterations (with the default 20, p99 is the slowest one; ask for more with {@code -i}). Sample-time
 * mode would call forget as often as an iteration's time allows, which no finite pool can serve. The
 * pool's size follows the iteration counts and batch sizes. Warm-up forgets (500: the JIT needs about
 * that many before the latency settles) take subjects with 10 events in both cases, since writing
 * 100,000 events per subject (about 6 s each) is the setup's whole cost; only measured forgets take
 * subjects with {@code events} events.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 10, batchSize = 50)
@Measurement(iterations = 20, batchSize = 1)
@Fork(1)
@State(Scope.Benchmark)
public class ForgetBenchmark {
    private static final int WARM_UP_EVENTS = 10;
    private static final int BATCH = 1_000;

    @Param({"10", "100000"})
    public int events;

    private final Queue<SubjectId> pool = new ArrayDeque<>();
    private Path directory;
    private SqliteLethe lethe;

    @Setup(Level.Trial)
    public void open(BenchmarkParams params) {
        directory = BenchEvents.freshDirectory("forget");
        lethe = SqliteLethe.open(directory);
        PrivateBenchEvents.register(lethe);
        long started = System.nanoTime();
        int warmUp = params.getWarmup().getCount() * params.getWarmup().getBatchSize();
        int measured =
                params.getMeasurement().getCount() * params.getMeasurement().getBatchSize();
        for (int i = 0; i < warmUp + measured; i++) {
            pool.add(subjectWith(i < warmUp ? WARM_UP_EVENTS : events, i));
        }
        // Measure forgets on a store at rest, not beside the setup's background checkpoint: reopening
        // empties the WAL the pool was written to.
        lethe.close();
        lethe = SqliteLethe.open(directory);
        System.out.printf(
                Locale.ROOT,
                "pool: %d subjects with %d events and %d with %d events, written in %.1f s%n",
                warmUp,
                WARM_UP_EVENTS,
                measured,
                events,
                (System.nanoTime() - started) / 1e9);
    }

    private SubjectId subjectWith(int count, int index) {
        String customer = String.format(Locale.ROOT, "F%07d", index);
        StreamId stream = StreamId.of("forget-" + customer);
        for (int from = 0; from < count; from += BATCH) {
            List<EventData> batch = new ArrayList<>(BATCH);
            for (int n = from; n < Math.min(count, from + BATCH); n++) {
                batch.add(PrivateBenchEvents.event(PrivateBenchEvents.SALE, n, customer));
            }
            lethe.privacy().append(stream, ExpectedVersion.any(), batch);
        }
        return lethe.privacy().subjectFor(customer);
    }

    @TearDown(Level.Trial)
    public void close() {
        lethe.close();
        BenchEvents.deleteRecursively(directory);
    }

    @Benchmark
    public Object forget() {
        SubjectId subject = pool.poll();
        if (subject == null) {
            throw new IllegalStateException("the pool of subjects to forget is exhausted");
        }
        return lethe.privacy().forget(subject, "GDPR Art. 17(1)(a)", "benchmark", PrivateBenchEvents.DPO);
    }
}
