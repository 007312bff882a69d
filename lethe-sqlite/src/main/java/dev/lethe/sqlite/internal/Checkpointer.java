package dev.lethe.sqlite.internal;

import dev.lethe.core.spi.HeadSignal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Copies committed transactions from the write-ahead log into the database file on its own thread and
 * connection, so the sequencer's commits never pay for it (SQLite's automatic checkpoint is turned off
 * on the write connection). A passive checkpoint runs after new commits once
 * {@link #PASSIVE_BYTES} of events were committed since the last one or the last one is {@link #MAX_DELAY} old; when the WAL has grown past
 * {@link #RESTART_WAL_BYTES}, a restarting checkpoint briefly holds writers back so that the next
 * transaction starts the WAL from its beginning again, keeping it bounded under constant load. Once
 * nothing was committed for {@link #MAX_DELAY} and a burst has left the WAL file larger than
 * {@link #IDLE_TRUNCATE_BYTES}, a truncating checkpoint gives that space back to the file system: SQLite
 * reuses a WAL file from its start but never shrinks it by itself.
 */
final class Checkpointer implements Runnable {
    static final long RESTART_WAL_BYTES = 64L << 20;
    /**
     * Until this many bytes of events were committed since the last checkpoint, a passive checkpoint
     * waits for {@link #MAX_DELAY}: few, larger checkpoints. (Not the WAL file's size: a checkpoint does
     * not shrink it, so after one burst it would stay above any threshold.)
     */
    static final long PASSIVE_BYTES = 1L << 20;
    /** An idle store's WAL file larger than this is truncated. */
    static final long IDLE_TRUNCATE_BYTES = 4L << 20;
    /** The checkpoint connection's busy timeout. */
    static final int BUSY_TIMEOUT_MILLIS = 10_000;

    private static final Duration INTERVAL = Duration.ofMillis(200);
    private static final Duration MAX_DELAY = Duration.ofSeconds(5);

    private final Connection connection;
    private final Path wal;
    private final HeadSignal head;
    private volatile boolean closed;
    private long checkpointedHead = Long.MIN_VALUE;
    private long lastCheckpointNanos = System.nanoTime();
    private long seenHead = Long.MIN_VALUE;
    private long seenHeadNanos = System.nanoTime();
    private final LongSupplier committedBytes;
    private long checkpointedBytes;

    Checkpointer(Connection connection, Path wal, HeadSignal head, LongSupplier committedBytes) {
        this.connection = connection;
        this.committedBytes = committedBytes;
        this.wal = wal;
        this.head = head;
    }

    @Override
    public void run() {
        while (!closed) {
            try {
                head.awaitBeyond(checkpointedHead, INTERVAL);
                Thread.sleep(INTERVAL.toMillis());
                long current = head.head();
                long now = System.nanoTime();
                if (current != seenHead) {
                    seenHead = current;
                    seenHeadNanos = now;
                }
                long bytes = committedBytes.getAsLong();
                // Each checkpoint syncs the database file, which delays the commits' own fsyncs on the
                // same disk: under light load (an audit entry per forget) checkpoint now and then, not
                // after every commit.
                boolean due = bytes - checkpointedBytes >= PASSIVE_BYTES
                        || System.nanoTime() - lastCheckpointNanos >= MAX_DELAY.toNanos();
                if (current != checkpointedHead && due && !closed) {
                    checkpoint(walBytes() > RESTART_WAL_BYTES ? "RESTART" : "PASSIVE");
                    checkpointedHead = current;
                    checkpointedBytes = bytes;
                    lastCheckpointNanos = System.nanoTime();
                } else if (now - seenHeadNanos >= MAX_DELAY.toNanos()
                        && now - lastCheckpointNanos >= MAX_DELAY.toNanos()
                        && walBytes() > IDLE_TRUNCATE_BYTES
                        && !closed) {
                    truncate();
                    checkpointedHead = current;
                    checkpointedBytes = bytes;
                    lastCheckpointNanos = System.nanoTime();
                }
            } catch (InterruptedException e) {
                return;
            } catch (SQLException e) {
                // A checkpoint that cannot run now loses nothing: the WAL keeps every transaction.
            }
        }
    }

    private void checkpoint(String mode) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA wal_checkpoint(" + mode + ")");
        }
    }

    /**
     * Copies what is left and truncates the WAL, without waiting: a reader still on an older snapshot
     * makes it return at once (tried again {@link #MAX_DELAY} later) instead of holding back writers.
     */
    private void truncate() throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("PRAGMA busy_timeout = 0");
            try {
                statement.execute("PRAGMA wal_checkpoint(TRUNCATE)");
            } finally {
                statement.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MILLIS);
            }
        }
    }

    private long walBytes() {
        try {
            return Files.size(wal);
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    void close() {
        closed = true;
    }
}
