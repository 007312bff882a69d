package dev.lethe.sqlite;

import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.tck.StorageEngineTck;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class SqliteEngineConformanceTest extends StorageEngineTck {
    @TempDir
    Path directory;

    @Override
    protected EventStore openEmptyStore() throws Exception {
        return SqliteEventStore.open(Files.createTempDirectory(directory, "store"));
    }

    @Override
    protected ProjectionStore openEmptyProjectionStore() throws Exception {
        return SqliteProjectionStore.open(Files.createTempDirectory(directory, "projections"));
    }
}
