package dev.lethe.core.subscription;

import java.util.OptionalLong;

/** Where named subscriptions keep the position of the next event to deliver. */
public interface CheckpointStore {
    OptionalLong load(String subscriptionName);

    void save(String subscriptionName, long nextPosition);
}
