package dev.lethe.core.subscription;

import java.time.Duration;
import java.util.Optional;

/**
 * A running subscription. Closing it stops delivery after the event in hand (a per-event listener) or
 * the page in hand (a batch listener).
 */
public interface Subscription extends AutoCloseable {
    /** The position of the next event to deliver. */
    long nextPosition();

    /** Whether every stored event has been delivered and the subscription follows live. */
    boolean isLive();

    /** Waits until the subscription is live (or has failed or closed); returns {@link #isLive()}. */
    boolean awaitLive(Duration timeout) throws InterruptedException;

    /** Waits until every event up to {@code position} has been handled; false on timeout or failure. */
    boolean awaitPosition(long position, Duration timeout) throws InterruptedException;

    /** Why the subscription stopped, if it failed. */
    Optional<Throwable> failure();

    /**
     * Stops the subscription and waits for its thread to finish the event (per-event listener) or page
     * (batch listener) in hand; once this returns, the listener is never called again. Called from the
     * listener itself, it returns at once, and no later event is delivered. A listener that closes its
     * subscription and then throws has the events of its page delivered again on a restart from its
     * checkpoint.
     */
    @Override
    void close();
}
