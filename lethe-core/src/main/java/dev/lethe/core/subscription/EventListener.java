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

    /**
     * The subscription stopped because of {@code error}. By default, a warning (see {@link #logStopped}), so that
     * a subscription whose listener threw does not stop unseen; override it to alert otherwise.
     */
    default void onError(Throwable error) {
        logStopped(error);
    }

    /**
     * Logs a stopped subscription as a warning on the {@code System.Logger} "dev.lethe.core.subscription": the
     * exception's class only, never its message (it may quote an event's data); {@link Subscription#failure()}
     * gives the exception.
     */
    static void logStopped(Throwable error) {
        System.getLogger("dev.lethe.core.subscription")
                .log(
                        System.Logger.Level.WARNING,
                        "a subscription stopped: " + error.getClass().getName()
                                + " (its message is not logged, as it may quote data: Subscription.failure() gives it)");
    }
}
