package dev.lethe.sqlite.internal;

import dev.lethe.core.spi.HeadSignal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;

/** Starts and stops the {@link Checkpointer} with its own connection. */
public final class CheckpointThread implements AutoCloseable {
    private final Connection connection;
    private final Checkpointer checkpointer;
    private final Thread thread;

    public CheckpointThread(Path database, HeadSignal head, java.util.function.LongSupplier committedBytes) {
        this.connection =
                Sql.open(database, "synchronous = FULL", "busy_timeout = " + Checkpointer.BUSY_TIMEOUT_MILLIS);
        this.checkpointer = new Checkpointer(connection, Path.of(database + "-wal"), head, committedBytes);
        this.thread = new Thread(checkpointer, "lethe-checkpointer");
        this.thread.setDaemon(true);
        this.thread.start();
    }

    @Override
    public void close() {
        checkpointer.close();
        thread.interrupt();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            connection.close();
        } catch (SQLException e) {
            // A checkpoint connection holds no uncommitted state.
        }
    }
}
