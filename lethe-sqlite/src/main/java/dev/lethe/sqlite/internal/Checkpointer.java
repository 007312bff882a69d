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
 * transaction starts the WAL from its beginning again, keeping it bounded under constant load.
 */
final class Checkpointer implements Runnable {
    static final long RESTART_WAL_BYTES = 64L << 20;
    /**
     * Until this many bytes of events were committed since the last checkpoint, a passive checkpoint
     * waits for {@link #MAX_DELAY}: few, larger checkpoints. (Not the WAL file's size: a checkpoint does
     * not shrink it, so after one burst it would stay above any threshold.)
     */
    static final long PASSIVE_BYTES = 1L << 20;

    private static final Duration INTERVAL = Duration.ofMillis(200);
    private static final Duration MAX_DELAY = Duration.ofSeconds(5);

    private final Connection connection;
    private final Path wal;
    private final HeadSignal head;
    private volatile boolean closed;
    private long checkpointedHead = Long.MIN_VALUE;
    private long lastCheckpointNanos = System.nanoTime();
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
