package dev.lethe.sqlite;

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
public final class SqliteProjectionStore implements ProjectionStore, CheckpointStore {
    public static final String FILE_NAME = "projections.db";

    private final Connection connection;
    private final PreparedStatement upsertState;
    private final PreparedStatement selectState;
    private final PreparedStatement upsertCheckpoint;
    private final PreparedStatement selectCheckpoint;

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
        upsertCheckpoint = connection.prepareStatement("INSERT INTO checkpoint VALUES (?, ?, ?) ON CONFLICT (name)"
                + " DO UPDATE SET next_position = excluded.next_position, updated_at = excluded.updated_at");
        selectCheckpoint = connection.prepareStatement("SELECT next_position FROM checkpoint WHERE name = ?");
    }

    private static void createTables(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS projection_state (
                      projection TEXT NOT NULL, key TEXT NOT NULL, state TEXT NOT NULL,
                      PRIMARY KEY (projection, key)) WITHOUT ROWID""");
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS checkpoint (
                      name TEXT PRIMARY KEY, next_position INTEGER NOT NULL, updated_at INTEGER NOT NULL)""");
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
    public synchronized OptionalLong load(String subscriptionName) {
        return loadCheckpoint(subscriptionCheckpoint(subscriptionName));
    }

    @Override
    public synchronized void save(String subscriptionName, long nextPosition) {
        transaction(
                "save checkpoint " + subscriptionName,
                () -> saveCheckpoint(subscriptionCheckpoint(subscriptionName), nextPosition));
    }

    private OptionalLong loadCheckpoint(String name) {
        try {
            selectCheckpoint.setString(1, name);
            try (ResultSet rs = selectCheckpoint.executeQuery()) {
                return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
            }
        } catch (SQLException e) {
            throw Sql.translate("read checkpoint " + name, e);
        }
    }

    private void saveCheckpoint(String name, long nextPosition) throws SQLException {
        upsertCheckpoint.setString(1, name);
        upsertCheckpoint.setLong(2, nextPosition);
        upsertCheckpoint.setLong(3, Sql.micros(Instant.now()));
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
            throw Sql.translate("read state of " + projection + "/" + key, e);
        }
    }

    @Override
    public synchronized void commit(String projection, Map<String, String> states, long nextPosition) {
        transaction("commit projection " + projection, () -> {
            for (Map.Entry<String, String> state : states.entrySet()) {
                upsertState.setString(1, projection);
                upsertState.setString(2, state.getKey());
                upsertState.setString(3, state.getValue());
                upsertState.addBatch();
            }
            upsertState.executeBatch();
            saveCheckpoint(projectionCheckpoint(projection), nextPosition);
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
                + " (SELECT count(*) FROM projection_state s WHERE s.projection = substr(c.name, 12))"
                + " FROM checkpoint c WHERE c.name LIKE 'projection:%' ORDER BY c.name";
        try (Statement statement = connection.createStatement();
                ResultSet rs = statement.executeQuery(sql)) {
            List<ProjectionInfo> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new ProjectionInfo(rs.getString(1), rs.getLong(2), rs.getLong(4), Sql.instant(rs.getLong(3))));
            }
            return out;
        } catch (SQLException e) {
            throw Sql.translate("list projections", e);
        }
    }

    @Override
    public synchronized List<String> keys(String projection, String afterKey, int limit) {
        if (limit < 1) {
            throw dev.lethe.core.store.InvalidEventException.of("limit", limit + " must be at least 1");
        }
        String sql = "SELECT key FROM projection_state WHERE projection = ? AND key > ? ORDER BY key LIMIT ?";
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, projection);
            statement.setString(2, afterKey == null ? "" : afterKey);
            statement.setInt(3, limit);
            List<String> out = new ArrayList<>();
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        } catch (SQLException e) {
            throw Sql.translate("list keys of " + projection, e);
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
                try {
                    connection.rollback();
                } catch (SQLException rollbackFailure) {
                    e.addSuppressed(rollbackFailure);
                }
                throw e;
            } finally {
                connection.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw Sql.translate(what, e);
        }
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
