package dev.lethe.server.cli;

import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "tail",
        description = {
            "Subscribe to the log (or a category): print stored events from a position, then follow new ones live.",
            "Runs beside a process that writes to the same data directory: it reads read-only, so that it never"
                    + " stops a writer, and personal fields read as restricted (the server's /v1/subscribe reveals"
                    + " them for a token's role). Stop with Ctrl-C, --count N or --timeout S."
        })
final class TailCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Option(names = "--category", paramLabel = "C", description = "Only streams of this category.")
    String category;

    @Option(names = "--from", paramLabel = "P", description = "First position (default: only new events).")
    Long from;

    @Option(
            names = "--after",
            paramLabel = "CURSOR",
            description = "Instead of --from: go on after the event this cursor names (position:eventId:recordedAt,"
                    + " as tail says when it stops), once it is checked that the log still holds that event there.")
    String after;

    @Option(names = "--count", paramLabel = "N", description = "Stop after N events.")
    Long count;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "Stop after this many seconds.")
    Long timeoutSeconds;

    @Option(names = "--json", description = "One JSON object per line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (from != null && from < 0) {
            throw InvalidEventException.of("--from", from + " is negative");
        }
        if (after != null && from != null) {
            throw InvalidEventException.of("--after", "goes instead of --from, not with it");
        }
        if (count != null && count < 1) {
            throw InvalidEventException.of("--count", count + " must be at least 1");
        }
        if (timeoutSeconds != null && timeoutSeconds < 1) {
            throw InvalidEventException.of("--timeout", timeoutSeconds + " must be at least 1 (seconds)");
        }
        EventPrinter printer = new EventPrinter(parent.spec.commandLine().getOut(), json);
        java.nio.file.Path events = parent.store.directory.resolve("events.db");
        if (dev.lethe.sqlite.internal.Sql.onReadOnlyFileSystem(parent.store.directory)
                && !java.nio.file.Files.exists(java.nio.file.Path.of(events + "-wal"))) {
            // Opened as it is now (immutable): a writer that starts later, through another path, is not seen.
            parent.spec
                    .commandLine()
                    .getErr()
                    .println("warning: the data directory is on a read-only file system and no writer has it open:"
                            + " tail reads it as it is now, and will not see events of a writer that starts later");
        }
        CountDownLatch done = new CountDownLatch(1);
        AtomicLong delivered = new AtomicLong();
        java.util.concurrent.atomic.AtomicReference<dev.lethe.core.store.RecordedEvent> last =
                new java.util.concurrent.atomic.AtomicReference<>();
        // An event is printed and becomes "last" under this lock, and nothing is printed once stopped: the cursor
        // printed at the end names the last event shown (review Z: it named one ~50 events back, and a resume from
        // it printed those again).
        java.util.concurrent.locks.ReentrantLock printing = new java.util.concurrent.locks.ReentrantLock();
        java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
        try (Store.Opened opened = parent.store.openReadOnly(
                parent.spec.commandLine().getErr(),
                "note: tail reads the data directory read-only, so that it never stops a process that"
                        + " writes to it; personal fields read as restricted (the server's"
                        + " /v1/subscribe reveals them for a token's role)")) {
            long start = after != null
                    ? dev.lethe.server.LogCursor.next(
                            opened.lethe().store(), "--after", after, "tail again with --from")
                    : from == null ? SubscriptionRequest.FROM_END : from;
            SubscriptionRequest request = (category == null
                            ? SubscriptionRequest.allFromStart()
                            : SubscriptionRequest.categoryFromStart(category))
                    .from(start);
            // Closed at the end unless its delivery is stuck writing to an output nobody reads (close() waits for
            // it): then left to the process's exit (its thread is a daemon), not waited for without end.
            java.util.concurrent.atomic.AtomicBoolean stuck = new java.util.concurrent.atomic.AtomicBoolean();
            Subscription subscription = opened.lethe().store().subscribe(request, event -> {
                printing.lock();
                try {
                    if (!stopped.get() && (count == null || delivered.get() < count)) {
                        printer.print(opened.lethe().privacy().reveal(event, opened.principal()));
                        last.set(event);
                        if (delivered.incrementAndGet() == (count == null ? -1 : count)) {
                            done.countDown();
                        }
                    }
                } finally {
                    printing.unlock();
                }
            });
            try {
                // Ctrl-C (tail's usual end) or a kill: the cursor to go on from, as --count and --timeout print it.
                String samePlace = after != null
                        ? "--after " + after
                        : "--from "
                                + (start == SubscriptionRequest.FROM_END
                                        ? opened.lethe().store().headPosition() + 1
                                        : start);
                Thread onStop = new Thread(
                        () -> {
                            stopPrinting(printing, stopped);
                            parent.spec
                                    .commandLine()
                                    .getErr()
                                    .printf(
                                            last.get() != null
                                                    ? "%nto go on after the last event shown: --after %s%n"
                                                    : "%nno event arrived; to go on from the same place: %s%n",
                                            last.get() != null ? dev.lethe.server.LogCursor.of(last.get()) : samePlace);
                            parent.spec.commandLine().getErr().flush();
                        },
                        "lethe-tail-stopped");
                Runtime.getRuntime().addShutdownHook(onStop);
                try {
                    return follow(opened, subscription, done, start, last, printing, stopped, stuck);
                } finally {
                    try {
                        Runtime.getRuntime().removeShutdownHook(onStop);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook runs, or has run
                    }
                }
            } finally {
                if (!stuck.get()) {
                    subscription.close();
                }
            }
        }
    }

    /**
     * Stops printing: waits for an event being printed (up to 5 s: standard output may be a pipe nobody reads),
     * after which none is.
     */
    private static boolean stopPrinting(
            java.util.concurrent.locks.ReentrantLock printing, java.util.concurrent.atomic.AtomicBoolean stopped) {
        stopped.set(true);
        try {
            if (printing.tryLock(5, java.util.concurrent.TimeUnit.SECONDS)) {
                printing.unlock();
                return true;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return false; // an event is still being written
    }

    private Integer follow(
            Store.Opened opened,
            Subscription subscription,
            CountDownLatch done,
            long start,
            java.util.concurrent.atomic.AtomicReference<dev.lethe.core.store.RecordedEvent> last,
            java.util.concurrent.locks.ReentrantLock printing,
            java.util.concurrent.atomic.AtomicBoolean stopped,
            java.util.concurrent.atomic.AtomicBoolean stuck)
            throws Exception {
        parent.spec
                .commandLine()
                .getErr()
                .printf(
                        "following %s from position %d (head %d); Ctrl-C to stop%n",
                        category == null ? "the log" : "category " + category,
                        start == SubscriptionRequest.FROM_END
                                ? opened.lethe().store().headPosition() + 1
                                : start,
                        opened.lethe().store().headPosition());
        long firstPosition =
                start == SubscriptionRequest.FROM_END ? opened.lethe().store().headPosition() + 1 : start;
        boolean finished = await(done, subscription, timeoutSeconds);
        stuck.set(!stopPrinting(printing, stopped));
        if (last.get() != null && subscription.failure().isEmpty()) {
            // Checked when used, unlike a bare --from: the log must still hold this event there.
            parent.spec
                    .commandLine()
                    .getErr()
                    .printf(
                            "to go on after the last event shown: --after %s%s%n",
                            dev.lethe.server.LogCursor.of(last.get()),
                            stuck.get()
                                    ? " (standard output took nothing for 5 s: the event after it was being written,"
                                            + " perhaps in part; a resume from here shows it again)"
                                    : "");
        } else if (subscription.failure().isEmpty()) {
            // Nothing arrived: where this tail began is where the next one goes on.
            parent.spec
                    .commandLine()
                    .getErr()
                    .printf(
                            "no event arrived; to go on from the same place: %s%n",
                            after != null ? "--after " + after : "--from " + firstPosition);
        }
        if (subscription.failure().isPresent()) {
            Throwable failure = subscription.failure().get();
            if (failure instanceof EventPrinter.OutputClosed closed) {
                throw closed;
            }
            if (failure instanceof dev.lethe.core.store.LetheException lethe) {
                throw lethe; // one line, and its own exit code (a damaged envelope: tampering)
            }
            throw new IllegalStateException("subscription stopped: " + failure.getMessage(), failure);
        }
        return finished || timeoutSeconds != null ? 0 : 1;
    }

    /** Until {@code done}, the subscription fails (a closed output too), or the timeout (null: none) passes. */
    private static boolean await(CountDownLatch done, Subscription subscription, Long timeoutSeconds)
            throws InterruptedException {
        long started = System.nanoTime();
        long timeout = timeoutSeconds == null ? 0 : TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (!done.await(200, TimeUnit.MILLISECONDS)) {
            if (subscription.failure().isPresent()
                    || (timeoutSeconds != null && System.nanoTime() - started >= timeout)) {
                return false;
            }
        }
        return true;
    }
}
