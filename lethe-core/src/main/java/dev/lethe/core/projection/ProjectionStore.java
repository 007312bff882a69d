package dev.lethe.core.projection;

import dev.lethe.core.subscription.CheckpointFit;
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

    /**
     * The {@link CheckpointFit#witness} of the event just before the checkpoint (at its position minus
     * one), as last committed; empty when the checkpoint is 0, or was committed by a version of Lethe that
     * did not record it.
     */
    Optional<String> checkpointEvent(String projection);

    /**
     * Stores the given states (key to JSON) and the checkpoint, atomically. {@code eventBefore} is the
     * witness of the log's event at {@code nextPosition - 1} (null when {@code nextPosition} is 0): it lets a
     * later start tell whether the log still is the one the states were folded from ({@link
     * CheckpointFit}).
     */
    void commit(String projection, java.util.Map<String, String> states, long nextPosition, String eventBefore);

    /** Deletes every state and the checkpoint of a projection, atomically. */
    void reset(String projection);

    /** The projections that have committed at least once. */
    List<ProjectionInfo> list();

    /** Up to {@code limit} keys of a projection, in key order, after {@code afterKey} (exclusive; null: from the start). */
    List<String> keys(String projection, String afterKey, int limit);

    @Override
    void close();

    /**
     * A stored projection: its name, checkpoint, number of keys, time of its last commit, and the id of
     * the event just before its checkpoint (its witness; null when none is recorded).
     */
    record ProjectionInfo(
            String name, long nextPosition, long keyCount, java.time.Instant updatedAt, String eventBefore) {
        /** How this checkpoint fits {@code log}; reads at most one event. */
        public CheckpointFit fit(dev.lethe.core.store.EventStore log) {
            return CheckpointFit.of(nextPosition, eventBefore, log);
        }

        /**
         * Events of {@code log} this read model has still to fold; -1 when its checkpoint does not fit
         * the log (the next start rebuilds it).
         */
        public long lag(dev.lethe.core.store.EventStore log) {
            return fit(log) == CheckpointFit.FITS ? Math.max(0, log.headPosition() + 1 - nextPosition) : -1;
        }
    }
}
