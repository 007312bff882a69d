package dev.lethe.sqlite.internal;

import dev.lethe.core.store.StorageException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The event log's tables. Positions are the table's rowid, so a read of the log is a scan of the
 * table in its own order; versions are unique per stream and ids unique across the log.
 */
public final class EventSchema {
    /** The format of events.db; a file with a newer one is refused rather than misread. */
    public static final int VERSION = 1;

    private EventSchema() {}

    /**
     * Starts a writer session: a random nonce for the events appended from the log's next position on,
     * committed (and synced) before any of them. A session that appended nothing is replaced.
     */
    public static String startWriterSession(Connection connection) throws SQLException {
        String nonce = java.util.UUID.randomUUID().toString();
        try (java.sql.PreparedStatement insert = connection.prepareStatement(
                "INSERT OR REPLACE INTO writer_session VALUES ((SELECT coalesce(max(position), -1) + 1 FROM events), ?)")) {
            insert.setString(1, nonce);
            insert.executeUpdate();
        }
        return nonce;
    }

    public static void create(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE IF NOT EXISTS lethe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS events (
                      position    INTEGER PRIMARY KEY,
                      id          BLOB    NOT NULL,
                      stream_id   TEXT    NOT NULL,
                      version     INTEGER NOT NULL,
                      category    TEXT    NOT NULL,
                      type        TEXT    NOT NULL,
                      data        BLOB    NOT NULL,
                      metadata    BLOB    NOT NULL,
                      recorded_at INTEGER NOT NULL
                    )""");
            statement.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_by_id ON events (id)");
            statement.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_by_stream ON events (stream_id, version)");
            statement.execute("CREATE INDEX IF NOT EXISTS events_by_category ON events (category, position)");
            // Each writer open, from the first position it appends: see EventStore.writerSession.
            statement.execute("CREATE TABLE IF NOT EXISTS writer_session (first_position INTEGER PRIMARY KEY,"
                    + " nonce TEXT NOT NULL)");
            statement.execute("INSERT OR IGNORE INTO lethe_meta VALUES ('schema_version', '" + VERSION + "')");
            try (ResultSet rs = statement.executeQuery("SELECT value FROM lethe_meta WHERE key = 'schema_version'")) {
                rs.next();
                requireReadable(rs.getString(1));
            }
        }
    }

    /**
     * Refuses a store whose format ({@code lethe_meta.schema_version}) is newer than this Lethe reads: a
     * writer, and a read-only open too (a check after a restore or an upgrade would read it wrong, and say
     * nothing).
     */
    public static void requireReadable(String schemaVersion) {
        int found;
        try {
            found = Integer.parseInt(schemaVersion.trim());
        } catch (RuntimeException notANumber) {
            throw StorageException.permanent(
                    "events.db has format '" + schemaVersion
                            + "', which no Lethe writes: not a Lethe store, or damaged",
                    null);
        }
        if (found > VERSION) {
            throw StorageException.permanent(
                    "events.db has format " + found + ", this Lethe reads up to " + VERSION
                            + "; upgrade Lethe to open it",
                    null);
        }
    }
}
