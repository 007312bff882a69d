package dev.lethe.core.memory;

import dev.lethe.core.projection.InMemoryProjectionStore;
import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.tck.StorageEngineTck;

class InMemoryEngineConformanceTest extends StorageEngineTck {
    @Override
    protected EventStore openEmptyStore() {
        return new InMemoryEventStore();
    }

    @Override
    protected ProjectionStore openEmptyProjectionStore() {
        return new InMemoryProjectionStore();
    }
}
