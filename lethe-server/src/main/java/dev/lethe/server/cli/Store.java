package dev.lethe.server.cli;

import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.sqlite.SqliteEventStore;
import dev.lethe.sqlite.SqliteProjectionStore;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** The {@code --data} option every command shares, and how commands open what lives there. */
final class Store {
    @Option(
            names = "--data",
            scope = ScopeType.INHERIT,
            paramLabel = "DIR",
            defaultValue = "${env:LETHE_DATA:-./lethe-data}",
            description = "Data directory (default: $LETHE_DATA or ./lethe-data).")
    Path directory;

    /** For commands that write: takes the directory's lock. */
    SqliteEventStore openForWriting() {
        return SqliteEventStore.open(directory);
    }

    /** For commands that only read: works beside a running writer. */
    SqliteEventStore openForReading() {
        return SqliteEventStore.openReadOnly(directory);
    }

    ProjectionStore openProjections() {
        return SqliteProjectionStore.open(directory);
    }
}
