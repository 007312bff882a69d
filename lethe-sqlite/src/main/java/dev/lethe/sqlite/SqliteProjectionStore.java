package dev.lethe.sqlite;

import dev.lethe.core.privacy.SubjectIndex;
import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.subscription.CheckpointStore;
import dev.lethe.sqlite.internal.DirectoryLock;
import dev.lethe.sqlite.internal.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Projection states and checkpoints, and named subscription checkpoints, in {@code projections.db}
 * beside the log. A projection's states and checkpoint are committed in one transaction. This file
 * runs with {@code synchronous=NORMAL}: a crash may lose its last commits, never its consistency, and
 * a projection then refolds from its older checkpoint — everything here can be rebuilt from the log.
 */
public final class SqliteProjectionStore implements ProjectionStore, CheckpointStore, SubjectIndex {
    /** The checkpoint row of the subject index (not a projection's, nor a subscription's). */
    private static final String SUBJECT_INDEX = "index:subjects";

    public static final String FILE_NAME = "projections.db";

    private final Connection connection;
    private final PreparedStatement upsertState;
    private final PreparedStatement selectState;
    private final PreparedStatement upsertCheckpoint;
    private final PreparedStatement selectCheckpoint;
    /** The column holding the event before a checkpoint, or {@code NULL} in a file from before it. */
    private final String eventBefore;

    private SqliteProjectionStore(Connection connection) throws SQLException {
        this(connection, true);
    }

    /** {@code createTables}: false for a connection that only reads a file a writer made. */
    private SqliteProjectionStore(Connection connection, boolean createTables) throws SQLException {
        this.connection = connection;
        if (createTables) {
            createTables(connection);
        }
        upsertState = connection.prepareStatement(
                "INSERT INTO projection_state VALUES (?, ?, ?) ON CONFLICT (projection, key) DO UPDATE SET state = excluded.state");
        selectState =
                connection.prepareStatement("SELECT state FROM projection_state WHERE projection = ? AND key = ?");
        // A file written by a version of Lethe before event_before, opened only to read: no such column.
        eventBefore = hasColumn(connection, "checkpoint", "event_before") ? "event_before" : "NULL";
        // Such a file is only read (its connection is query_only): nothing to prepare for writing it.
        upsertCheckpoint = eventBefore.equals("NULL")
                ? null
                : connection.prepareStatement(
                        "INSERT INTO checkpoint (name, next_position, updated_at, event_before) VALUES (?, ?, ?, ?)"
                                + " ON CONFLICT (name) DO UPDATE SET next_position = excluded.next_position,"
                                + " updated_at = excluded.updated_at, event_before = excluded.event_before");
        selectCheckpoint =
                connection.prepareStatement("SELECT next_position, " + eventBefore + " FROM checkpoint WHERE name = ?");
    }

    private static boolean hasColumn(Connection connection, String table, String column) throws SQLException {
        try (PreparedStatement statement =
                connection.prepareStatement("SELECT 1 FROM pragma_table_info(?) WHERE name = ?")) {
            statement.setString(1, table);
            statement.setString(2, column);
            try (ResultSet rs = statement.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void createTables(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS projection_state (
                      projection TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
                      PRIMARY KEY (projection, key)) WITHOUT ROWID""");
            // The subject index: where each subject's events are, for exports (SubjectIndexer).
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS subject_event (
                      subject BLOB NOT NULL, position INTEGER NOT NULL,
                      PRIMARY KEY (subject, position)) WITHOUT ROWID""");
            // event_before: the witness (id and recorded instant) of the log's event just before the
            // checkpoint (CheckpointFit).
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS checkpoint (
                      name TEXT PRIMARY KEY, next_position INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                      event_before TEXT)""");
            if (!hasColumn(connection, "checkpoint", "event_before")) {
                statement.execute("ALTER TABLE checkpoint ADD COLUMN event_before TEXT");
            }
        }
    }

    /**
     * An empty store in memory, for a read-only open of a data directory without {@code projections.db}
     * (which creates no file): no read model has a state or a checkpoint.
     */
    static SqliteProjectionStore openEmptyInMemory() {
        try {
            return new SqliteProjectionStore(java.sql.DriverManager.getConnection("jdbc:sqlite::memory:"));
        } catch (SQLException e) {
            throw Sql.translate("cannot open an in-memory projection store", e);
        }
    }

    /**
     * Opens the existing {@code projections.db} beside the process that writes it: the connection only
     * reads ({@code query_only}), and the file's journal mode and schema are left as they are.
     */
    static SqliteProjectionStore openForReading(Path directory) {
        Connection connection = Sql.open(
                directory.resolve(FILE_NAME), "query_only = ON", "busy_timeout = 10000", "cache_size = -65536");
        try {
            return new SqliteProjectionStore(connection, false);
        } catch (SQLException e) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Reporting the first failure matters more.
            }
            throw Sql.translate("cannot open " + directory.resolve(FILE_NAME), e);
        }
    }

    /** Opens (or creates) {@code projections.db} in the data directory. */
    public static SqliteProjectionStore open(Path directory) {
        DirectoryLock.ensureDirectory(directory);
        Connection connection = Sql.open(
                directory.resolve(FILE_NAME),
                "journal_mode = WAL",
                "synchronous = NORMAL",
                "busy_timeout = 10000",
                "cache_size = -65536");
        try {
            return new SqliteProjectionStore(connection);
        } catch (SQLException e) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Reporting the first failure matters more.
            }
            throw Sql.translate("cannot open " + directory.resolve(FILE_NAME), e);
        }
    }

    private static String projectionCheckpoint(String projection) {
        return "projection:" + projection;
    }

    private static String subscriptionCheckpoint(String subscription) {
        return "subscription:" + subscription;
    }

    @Override
    public synchronized OptionalLong checkpoint(String projection) {
        return loadCheckpoint(projectionCheckpoint(projection));
    }

    @Override
    public synchronized Optional<String> checkpointEvent(String projection) {
        return eventBeforeOf(projectionCheckpoint(projection));
    }

    /** The witness of the event before a checkpoint; whatever else stands there fits no event. */
    private Optional<String> eventBeforeOf(String name) {
        try {
            selectCheckpoint.setString(1, name);
            try (ResultSet rs = selectCheckpoint.executeQuery()) {
                return Optional.ofNullable(rs.next() ? rs.getString(2) : null);
            }
        } catch (SQLException e) {
            throw failure("read checkpoint " + name, e);
        }
    }

    @Override
    public synchronized OptionalLong load(String subscriptionName) {
        return loadCheckpoint(subscriptionCheckpoint(subscriptionName));
    }

    @Override
    public synchronized void save(String subscriptionName, long nextPosition) {
        save(subscriptionName, nextPosition, null);
    }

    @Override
    public synchronized void save(String subscriptionName, long nextPosition, String eventBefore) {
        transaction(
                "save checkpoint " + subscriptionName,
                () -> saveCheckpoint(subscriptionCheckpoint(subscriptionName), nextPosition, eventBefore));
    }

    @Override
    public synchronized Optional<String> loadEventBefore(String subscriptionName) {
        return eventBeforeOf(subscriptionCheckpoint(subscriptionName));
    }

    private OptionalLong loadCheckpoint(String name) {
        try {
            selectCheckpoint.setString(1, name);
            try (ResultSet rs = selectCheckpoint.executeQuery()) {
                return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
            }
        } catch (SQLException e) {
            throw failure("read checkpoint " + name, e);
        }
    }

    private void saveCheckpoint(String name, long nextPosition, String eventBefore) throws SQLException {
        if (upsertCheckpoint == null) {
            throw StorageException.permanent(
                    "cannot save checkpoint " + name + ": projections.db is open only to read", null);
        }
        upsertCheckpoint.setString(1, name);
        upsertCheckpoint.setLong(2, nextPosition);
        upsertCheckpoint.setLong(3, Sql.micros(Instant.now()));
        upsertCheckpoint.setString(4, eventBefore);
        upsertCheckpoint.executeUpdate();
    }

    @Override
    public synchronized Optional<String> loadState(String projection, String key) {
        try {
            selectState.setString(1, projection);
            selectState.setString(2, key);
            try (ResultSet rs = selectState.executeQuery()) {
                return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw failure("read a state of " + projection, e); // not the key: it may be personal (an e-mail)
        }
    }

    @Override
    public synchronized void commit(
            String projection, Map<String, String> states, long nextPosition, String eventBefore) {
        transaction("commit projection " + projection, () -> {
            for (Map.Entry<String, String> state : states.entrySet()) {
                upsertState.setString(1, projection);
                upsertState.setString(2, state.getKey());
                upsertState.setString(3, state.getValue());
                upsertState.addBatch();
            }
            upsertState.executeBatch();
            saveCheckpoint(projectionCheckpoint(projection), nextPosition, eventBefore);
        });
    }

    @Override
    public synchronized void reset(String projection) {
        transaction("reset projection " + projection, () -> {
            try (PreparedStatement states =
                            connection.prepareStatement("DELETE FROM projection_state WHERE projection = ?");
                    PreparedStatement checkpoint =
                            connection.prepareStatement("DELETE FROM checkpoint WHERE name = ?")) {
                states.setString(1, projection);
                states.executeUpdate();
                checkpoint.setString(1, projectionCheckpoint(projection));
                checkpoint.executeUpdate();
            }
        });
    }

    @Override
    public synchronized List<ProjectionInfo> list() {
        String sql = "SELECT substr(c.name, 12), c.next_position, c.updated_at,"
                + " (SELECT count(*) FROM projection_state s WHERE s.projection = substr(c.name, 12)), "
                + eventBefore
                + " FROM checkpoint c WHERE c.name LIKE 'projection:%' ORDER BY c.name";
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery(sql)) {
            List<ProjectionInfo> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new ProjectionInfo(
                        rs.getString(1), rs.getLong(2), rs.getLong(4), Sql.instant(rs.getLong(3)), rs.getString(5)));
            }
            return out;
        } catch (SQLException e) {
            throw failure("list projections", e);
        }
    }

    @Override
    public synchronized List<String> keys(String projection, String afterKey, int limit) {
        if (limit < 1) {
            throw dev.lethe.core.store.InvalidEventException.of("limit", limit + " must be at least 1");
        }
        // From the first key when none is given: "key > ''" would leave out a key that is the empty string.
        String sql = afterKey == null
                ? "SELECT key FROM projection_state WHERE projection = ? ORDER BY key LIMIT ?"
                : "SELECT key FROM projection_state WHERE projection = ? AND key > ? ORDER BY key LIMIT ?";
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            int parameter = 1;
            statement.setString(parameter++, projection);
            if (afterKey != null) {
                statement.setString(parameter++, afterKey);
            }
            statement.setInt(parameter, limit);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        } catch (SQLException e) {
            throw failure("list keys of " + projection, e);
        }
    }

    @FunctionalInterface
    private interface Work {
        void run() throws SQLException;
    }

    private void transaction(String what, Work work) {
        try {
            connection.setAutoCommit(false);
            try {
                work.run();
                connection.commit();
            } catch (SQLException | RuntimeException e) {
                // SQLite rolls a transaction back by itself after some failures (a full disk, SQLITE_FULL): the
                // rollback and the return to autocommit then fail with "no transaction is active", an
                // SQLITE_ERROR that must not hide the failure that says what happened (and whether it passes).
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailure) {
                    e.addSuppressed(rollbackFailure);
                }
                try {
                    connection.setAutoCommit(true);
                } catch (SQLException autoCommitFailure) {
                    e.addSuppressed(autoCommitFailure);
                }
                throw e;
            }
            connection.setAutoCommit(true);
        } catch (SQLException e) {
            throw failure(what, e);
        }
    }

    @Override
    public synchronized SubjectIndex.Checkpoint subjectIndexCheckpoint() {
        return new SubjectIndex.Checkpoint(
                loadCheckpoint(SUBJECT_INDEX).orElse(0),
                eventBeforeOf(SUBJECT_INDEX).orElse(null));
    }

    @Override
    public synchronized void addToSubjectIndex(
            Map<dev.lethe.core.privacy.SubjectId, List<Long>> positions, long next, String eventBefore) {
        transaction("add to the subject index", () -> {
            try (PreparedStatement insert =
                    connection.prepareStatement("INSERT OR IGNORE INTO subject_event VALUES (?, ?)")) {
                for (var subject : positions.entrySet()) {
                    for (long position : subject.getValue()) {
                        insert.setBytes(1, bytes(subject.getKey()));
                        insert.setLong(2, position);
                        insert.addBatch();
                    }
                }
                insert.executeBatch();
            }
            // Never back: two indexers (a server's, an export's catch-up) may commit out of order.
            if (next > loadCheckpoint(SUBJECT_INDEX).orElse(-1)) {
                saveCheckpoint(SUBJECT_INDEX, next, eventBefore);
            }
        });
    }

    @Override
    public synchronized List<Long> subjectPositions(dev.lethe.core.privacy.SubjectId subject) {
        try (PreparedStatement select =
                connection.prepareStatement("SELECT position FROM subject_event WHERE subject = ? ORDER BY position")) {
            select.setBytes(1, bytes(subject));
            List<Long> out = new ArrayList<>();
            try (ResultSet rs = select.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
            return out;
        } catch (SQLException e) {
            throw failure("read the subject index", e);
        }
    }

    /** A subject id as its 16 bytes: half the size of its text, in a table with a row per event. */
    private static byte[] bytes(dev.lethe.core.privacy.SubjectId subject) {
        return java.nio.ByteBuffer.allocate(16)
                .putLong(subject.value().getMostSignificantBits())
                .putLong(subject.value().getLeastSignificantBits())
                .array();
    }

    @Override
    public synchronized void resetSubjectIndex() {
        transaction("reset the subject index", () -> {
            try (Statement statement = connection.createStatement()) {
                statement.executeUpdate("DELETE FROM subject_event");
                statement.executeUpdate("DELETE FROM checkpoint WHERE name = '" + SUBJECT_INDEX + "'");
            }
        });
    }

    /**
     * A failed statement, told as {@link Sql#translate} tells it; on a closed store, as that ("statement is
     * not executing" said nothing of it).
     */
    private StorageException failure(String what, SQLException e) {
        boolean closed;
        try {
            closed = connection.isClosed();
        } catch (SQLException unknown) {
            closed = false;
        }
        return closed
                ? StorageException.permanent(FILE_NAME + " is closed: cannot " + what + " (open the store again)", e)
                : Sql.translate(what, e);
    }

    @Override
    public synchronized void close() {
        try {
            connection.close();
        } catch (SQLException e) {
            throw StorageException.permanent("cannot close " + FILE_NAME + ": " + e.getMessage(), e);
        }
    }
}
