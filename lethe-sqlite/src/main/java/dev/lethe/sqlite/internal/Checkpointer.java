package dev.lethe.sqlite.internal;

import dev.lethe.core.spi.HeadSignal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Copies committed transactions from the write-ahead log into the database file on its own thread and
 * connection, so the sequencer's commits never pay for it (SQLite's automatic checkpoint is turned off
 * on the write connection). A passive checkpoint runs after new commits once
 * {@link #PASSIVE_BYTES} of events were committed since the last one or the last one is {@link #MAX_DELAY} old; when the WAL has grown past
 * {@link #RESTART_WAL_BYTES}, a restarting checkpoint holds writers back for at most
 * {@link #RESTART_WAIT_MILLIS} so that the next transaction starts the WAL from its beginning again,
 * keeping it bounded under constant load (a reader that keeps it from finishing lets the WAL grow until
 * a later one succeeds). Once
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
    /** How long a restarting checkpoint waits for readers, holding writers back meanwhile. */
    static final int RESTART_WAIT_MILLIS = 100;

    private static final Duration INTERVAL = Duration.ofMillis(200);
    static final Duration MAX_DELAY = Duration.ofSeconds(5);

    /** What one step did. */
    enum Action {
        NOTHING,
        PASSIVE,
        RESTART,
        TRUNCATE,
        /** A checkpoint ran, but a reader kept it from finishing; tried again at a later step. */
        BUSY
    }

    private final Connection connection;
    private final HeadSignal head;
    private final LongSupplier committedBytes;
    private final LongSupplier walBytes;
    private final LongSupplier nanoTime;
    private volatile boolean closed;
    private long checkpointedHead;
    private long checkpointedBytes;
    private long lastCheckpointNanos;
    private long seenHead = Long.MIN_VALUE;
    private long seenHeadNanos;

    Checkpointer(Connection connection, Path wal, HeadSignal head, LongSupplier committedBytes) {
        this(connection, head, committedBytes, () -> sizeOf(wal), System::nanoTime);
    }

    /** With the WAL's size and the time read from the given suppliers: the tests' clock. */
    Checkpointer(
            Connection connection,
            HeadSignal head,
            LongSupplier committedBytes,
            LongSupplier walBytes,
            LongSupplier nanoTime) {
        this.connection = connection;
        this.head = head;
        this.committedBytes = committedBytes;
        this.walBytes = walBytes;
        this.nanoTime = nanoTime;
        this.checkpointedHead = head.head(); // what a previous process left is copied with the next commits
        this.lastCheckpointNanos = nanoTime.getAsLong();
        this.seenHeadNanos = lastCheckpointNanos;
    }

    @Override
    public void run() {
        while (!closed) {
            try {
                head.awaitBeyond(checkpointedHead, INTERVAL);
                Thread.sleep(INTERVAL.toMillis());
                step();
            } catch (InterruptedException e) {
                return;
            } catch (SQLException e) {
                // A checkpoint that cannot run now loses nothing: the WAL keeps every transaction.
            }
        }
    }

    /** Looks at the head, the bytes committed, the WAL's size and the time, and checkpoints if due. */
    Action step() throws SQLException {
        long current = head.head();
        long now = nanoTime.getAsLong();
        if (current != seenHead) {
            seenHead = current;
            seenHeadNanos = now;
        }
        long bytes = committedBytes.getAsLong();
        // Each checkpoint syncs the database file, which delays the commits' own fsyncs on the same
        // disk: under light load (an audit entry per forget) checkpoint now and then, not after every
        // commit.
        boolean due = bytes - checkpointedBytes >= PASSIVE_BYTES || now - lastCheckpointNanos >= MAX_DELAY.toNanos();
        Action action = Action.NOTHING;
        if (closed) {
            return action;
        }
        if (current != checkpointedHead && due) {
            action = walBytes.getAsLong() > RESTART_WAL_BYTES
                    ? (checkpoint("RESTART", RESTART_WAIT_MILLIS) ? Action.RESTART : Action.BUSY)
                    : (checkpoint("PASSIVE", BUSY_TIMEOUT_MILLIS) ? Action.PASSIVE : Action.BUSY);
        } else if (now - seenHeadNanos >= MAX_DELAY.toNanos()
                && now - lastCheckpointNanos >= MAX_DELAY.toNanos()
                && walBytes.getAsLong() > IDLE_TRUNCATE_BYTES) {
            action = checkpoint("TRUNCATE", 0) ? Action.TRUNCATE : Action.BUSY;
        }
        if (action != Action.NOTHING) {
            checkpointedHead = current;
            checkpointedBytes = bytes;
            lastCheckpointNanos = nanoTime.getAsLong();
        }
        return action;
    }

    /**
     * Runs a checkpoint; returns false when SQLite reports it busy (a reader on an older snapshot kept a
     * restart or truncation from finishing). RESTART and TRUNCATE hold back writers while they wait for
     * readers, so they wait at most {@code waitMillis}, and are tried again at a later step.
     */
    private boolean checkpoint(String mode, int waitMillis) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            if (waitMillis != BUSY_TIMEOUT_MILLIS) {
                statement.execute("PRAGMA busy_timeout = " + waitMillis);
            }
            try (ResultSet result = statement.executeQuery("PRAGMA wal_checkpoint(" + mode + ")")) {
                return !result.next() || result.getInt(1) == 0;
            } finally {
                if (waitMillis != BUSY_TIMEOUT_MILLIS) {
                    statement.execute("PRAGMA busy_timeout = " + BUSY_TIMEOUT_MILLIS);
                }
            }
        }
    }

    private static long sizeOf(Path wal) {
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
