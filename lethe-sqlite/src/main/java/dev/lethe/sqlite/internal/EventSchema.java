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
            statement.execute("INSERT OR IGNORE INTO lethe_meta VALUES ('schema_version', '" + VERSION + "')");
            try (ResultSet rs = statement.executeQuery("SELECT value FROM lethe_meta WHERE key = 'schema_version'")) {
                rs.next();
                int found = Integer.parseInt(rs.getString(1));
                if (found > VERSION) {
                    throw StorageException.permanent(
                            "events.db has format " + found + ", this Lethe reads up to " + VERSION
                                    + "; upgrade Lethe to open it",
                            null);
                }
            }
        }
    }
}
