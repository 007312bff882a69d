package dev.lethe.core.subscription;

import dev.lethe.core.store.RecordedEvent;

/**
 * Receives a subscription's events, one at a time, in position order, on the subscription's thread.
 * An exception thrown by {@link #onEvent} stops the subscription and is passed to {@link #onError};
 * the event is not acknowledged (with a checkpoint, it will be delivered again on restart).
 */
@FunctionalInterface
public interface EventListener {
    void onEvent(RecordedEvent event) throws Exception;

    /** The subscription has delivered every event stored when it started and now follows live. */
    default void onCaughtUp(long lastPosition) {}

    /** The subscription stopped because of {@code error}. */
    default void onError(Throwable error) {}
}
