package dev.lethe.core.projection;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/** A projection store in memory, for tests and the in-memory engine. */
public final class InMemoryProjectionStore implements ProjectionStore {
    private final Map<String, TreeMap<String, String>> states = new TreeMap<>();
    private final Map<String, Long> checkpoints = new TreeMap<>();
    private final Map<String, String> eventsBefore = new TreeMap<>();
    private final Map<String, Instant> updated = new TreeMap<>();

    @Override
    public synchronized OptionalLong checkpoint(String projection) {
        Long next = checkpoints.get(projection);
        return next == null ? OptionalLong.empty() : OptionalLong.of(next);
    }

    @Override
    public synchronized Optional<String> checkpointEvent(String projection) {
        return Optional.ofNullable(eventsBefore.get(projection));
    }

    @Override
    public synchronized Optional<String> loadState(String projection, String key) {
        return Optional.ofNullable(
                states.getOrDefault(projection, new TreeMap<>()).get(key));
    }

    @Override
    public synchronized void commit(
            String projection, Map<String, String> changed, long nextPosition, String eventBefore) {
        states.computeIfAbsent(projection, p -> new TreeMap<>()).putAll(changed);
        checkpoints.put(projection, nextPosition);
        if (eventBefore == null) {
            eventsBefore.remove(projection);
        } else {
            eventsBefore.put(projection, eventBefore);
        }
        updated.put(projection, Instant.now());
    }

    @Override
    public synchronized void reset(String projection) {
        states.remove(projection);
        checkpoints.remove(projection);
        eventsBefore.remove(projection);
        updated.remove(projection);
    }

    @Override
    public synchronized List<ProjectionInfo> list() {
        List<ProjectionInfo> out = new ArrayList<>();
        checkpoints.forEach((name, next) -> out.add(new ProjectionInfo(
                name,
                next,
                states.getOrDefault(name, new TreeMap<>()).size(),
                updated.get(name),
                eventsBefore.get(name))));
        return out;
    }

    @Override
    public synchronized List<String> keys(String projection, String afterKey, int limit) {
        TreeMap<String, String> all = states.getOrDefault(projection, new TreeMap<>());
        var tail = afterKey == null ? all : all.tailMap(afterKey, false);
        return tail.keySet().stream().limit(limit).toList();
    }

    @Override
    public void close() {}
}
