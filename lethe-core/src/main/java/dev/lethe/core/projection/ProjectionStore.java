package dev.lethe.core.projection;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where projections keep their states (as JSON) and checkpoints. {@link #commit} stores a set of
 * states and the checkpoint they correspond to in one transaction, so after a crash a projection
 * resumes from a checkpoint that matches its states exactly.
 */
public interface ProjectionStore extends AutoCloseable {
    /** The position of the next event the projection has to fold, if it ever committed. */
    OptionalLong checkpoint(String projection);

    /** The stored state of one key, as JSON. */
    Optional<String> loadState(String projection, String key);

    /** Stores the given states (key to JSON) and the checkpoint, atomically. */
    void commit(String projection, java.util.Map<String, String> states, long nextPosition);

    /** Deletes every state and the checkpoint of a projection, atomically. */
    void reset(String projection);

    /** The projections that have committed at least once. */
    List<ProjectionInfo> list();

    /** Up to {@code limit} keys of a projection, in key order, after {@code afterKey} (exclusive; null: from the start). */
    List<String> keys(String projection, String afterKey, int limit);

    @Override
    void close();

    /** A stored projection: its name, checkpoint, number of keys, time of its last commit. */
    record ProjectionInfo(String name, long nextPosition, long keyCount, java.time.Instant updatedAt) {}
}
