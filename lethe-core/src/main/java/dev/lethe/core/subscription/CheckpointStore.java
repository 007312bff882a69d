package dev.lethe.core.subscription;

import java.util.Optional;
import java.util.OptionalLong;

/** Where named subscriptions keep the position of the next event to deliver. */
public interface CheckpointStore {
    OptionalLong load(String subscriptionName);

    void save(String subscriptionName, long nextPosition);

    /**
     * Saves the position with the {@link CheckpointFit#witness} of the log's event just before it ({@code
     * null} at 0). With it, a later subscription checks that the log is still the one the subscriber read
     * ({@link CheckpointFit}).
     * A store that cannot keep the id saves the position alone.
     */
    default void save(String subscriptionName, long nextPosition, String eventBefore) {
        save(subscriptionName, nextPosition);
    }

    /** The witness saved with the position by {@link #save(String, long, String)}; empty when none was. */
    default Optional<String> loadEventBefore(String subscriptionName) {
        return Optional.empty();
    }
}
