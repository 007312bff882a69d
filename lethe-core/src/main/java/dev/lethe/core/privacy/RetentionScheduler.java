package dev.lethe.core.privacy;

import dev.lethe.core.privacy.keys.KeyStore;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs retention in the running process: every {@code interval} (and once at start) it destroys the
 * period keys whose retention has ended and carries out the forgets scheduled until then. A failed run
 * is kept ({@link #lastFailure()}) and retried at the next tick; nothing is skipped, since each run
 * looks at every live period key.
 */
public final class RetentionScheduler implements AutoCloseable {
    public static final Duration DEFAULT_INTERVAL = Duration.ofHours(1);
    public static final Principal SCHEDULER = new Principal("retention-scheduler", "system");

    private final PrivateEventStore lethe;
    private final Clock clock;
    private final ScheduledExecutorService executor;
    private volatile Optional<Throwable> lastFailure = Optional.empty();
    private volatile long runs;
    private volatile List<KeyStore.PeriodRef> lastExpired = List.of();

    private final java.util.function.Consumer<PrivateEventStore.RetentionReport> onRun;

    public RetentionScheduler(PrivateEventStore lethe, Clock clock, Duration interval) {
        this(lethe, clock, interval, report -> {});
    }

    /**
     * With {@code onRun} told of every run that carried something out (keys destroyed, forgets done), so that
     * a server can log it beside the audit trail.
     */
    public RetentionScheduler(
            PrivateEventStore lethe,
            Clock clock,
            Duration interval,
            java.util.function.Consumer<PrivateEventStore.RetentionReport> onRun) {
        this.onRun = java.util.Objects.requireNonNull(onRun, "onRun");
        dev.lethe.core.spi.AppendRules.require(lethe, "store");
        dev.lethe.core.spi.AppendRules.require(clock, "clock");
        dev.lethe.core.spi.AppendRules.require(interval, "interval");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("retention interval must be positive, was " + interval);
        }
        this.lethe = lethe;
        this.clock = clock;
        this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "lethe-retention");
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(this::runOnce, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void runOnce() {
        try {
            // As of the clock: a clock far past the last run (set years ahead) is refused, destroying nothing.
            PrivateEventStore.RetentionReport report = lethe.retention(clock.instant(), SCHEDULER, true);
            lastExpired = report.expired();
            lastFailure = Optional.empty();
            if (!report.expired().isEmpty() || !report.forgotten().isEmpty()) {
                try {
                    onRun.accept(report);
                } catch (RuntimeException listener) {
                    // The run did what it did: a listener's failure does not make it a failed run.
                    System.getLogger(RetentionScheduler.class.getName())
                            .log(System.Logger.Level.WARNING, "retention run listener failed: " + listener);
                }
            }
            if (!report.undeclared().isEmpty()) {
                List<String> names = report.undeclared().stream()
                        .map(p -> p.group() + "/" + p.period())
                        .toList();
                System.getLogger(RetentionScheduler.class.getName())
                        .log(
                                System.Logger.Level.WARNING,
                                "retention: " + names.size() + " live period key(s) of data groups the policy does not"
                                        + " declare are never destroyed: "
                                        + String.join(", ", names.subList(0, Math.min(5, names.size())))
                                        + (names.size() > 5 ? ", …" : "")
                                        + "; declare those groups again to expire them");
            }
        } catch (RuntimeException e) {
            lastFailure = Optional.of(e);
            // Retried at the next tick; said now, so that a run failing every time does not go unseen.
            System.getLogger(RetentionScheduler.class.getName())
                    .log(
                            System.Logger.Level.WARNING,
                            "retention run failed (retried at the next tick): " + e.getMessage());
        } finally {
            runs++;
        }
    }

    /** How many runs have finished, failed or not. */
    public long runs() {
        return runs;
    }

    public List<KeyStore.PeriodRef> lastExpired() {
        return lastExpired;
    }

    public Optional<Throwable> lastFailure() {
        return lastFailure;
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            executor.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
