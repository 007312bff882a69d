package dev.lethe.sqlite.internal;

import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A pool of read-only connections. In WAL mode each read sees a consistent snapshot of committed
 * transactions and never waits for the writer.
 */
public final class Readers implements AutoCloseable {
    public static final String COLUMNS = "position, id, stream_id, version, type, data, metadata, recorded_at";

    private final BlockingQueue<Reader> pool;
    private final List<Reader> all = new ArrayList<>();

    public Readers(Path file, int size, int cacheMebibytes) {
        pool = new ArrayBlockingQueue<>(size);
        try {
            for (int i = 0; i < size; i++) {
                Reader reader =
                        new Reader(Sql.open(file, "query_only = ON", "cache_size = -" + (cacheMebibytes * 1024)));
                all.add(reader);
                pool.add(reader);
            }
        } catch (RuntimeException e) {
            close(); // the connections opened before the one that failed
            throw e;
        }
    }

    /** A query run on a borrowed connection. */
    @FunctionalInterface
    public interface Query<T> {
        T run(Reader reader) throws SQLException;
    }

    public <T> T read(String what, Query<T> query) {
        Reader reader;
        try {
            reader = pool.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw StorageException.transientFailure(what + ": interrupted while waiting for a connection", e);
        }
        try {
            return query.run(reader);
        } catch (SQLException e) {
            throw Sql.translate(what, e);
        } finally {
            pool.add(reader);
        }
    }

    @Override
    public void close() {
        for (Reader reader : all) {
            reader.close();
        }
    }

    /** One connection with its prepared statements. */
    public static final class Reader {
        private final Connection connection;
        private final Map<String, PreparedStatement> statements = new HashMap<>();

        Reader(Connection connection) {
            this.connection = connection;
        }

        public PreparedStatement prepare(String sql) throws SQLException {
            PreparedStatement statement = statements.get(sql);
            if (statement == null) {
                statement = connection.prepareStatement(sql);
                statements.put(sql, statement);
            }
            return statement;
        }

        /** Runs a prepared query whose columns are {@link #COLUMNS} and maps every row. */
        public List<RecordedEvent> events(PreparedStatement statement, int expected) throws SQLException {
            return events(statement, expected, Long.MAX_VALUE);
        }

        /** The events the statement selects, up to the one that brings their data and metadata to {@code maxBytes}. */
        public List<RecordedEvent> events(PreparedStatement statement, int expected, long maxBytes)
                throws SQLException {
            List<RecordedEvent> out = new ArrayList<>(Math.min(expected, 1024));
            long bytes = 0;
            String lastStream = null;
            StreamId lastStreamId = null;
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    String stream = rs.getString(3);
                    if (!stream.equals(lastStream)) {
                        lastStream = stream;
                        lastStreamId = StreamId.of(stream);
                    }
                    RecordedEvent event = new RecordedEvent(
                            Sql.uuid(rs.getBytes(2)),
                            lastStreamId,
                            rs.getLong(4),
                            rs.getLong(1),
                            rs.getString(5),
                            Json.trusted(rs.getBytes(6)),
                            Json.trusted(rs.getBytes(7)),
                            Sql.instant(rs.getLong(8)));
                    out.add(event);
                    bytes += dev.lethe.core.store.EventStore.sizeOf(event);
                    if (bytes >= maxBytes) {
                        break; // the rest stays unread: a page of large events does not fill the heap
                    }
                }
            }
            return out;
        }

        void close() {
            try {
                connection.close();
            } catch (SQLException e) {
                // Closing a read-only connection loses nothing.
            }
        }
    }
}
