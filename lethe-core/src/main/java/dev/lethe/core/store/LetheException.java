package dev.lethe.core.store;

/**
 * The root of every exception Lethe throws for a store's work: appends, reads, keys, forgets, policy.
 * Misuse of a builder or a lifecycle ({@code ProjectionBuilder.on} with a type twice, {@code start} of a
 * running projection) is an {@link IllegalArgumentException} or {@link IllegalStateException}, as in the
 * JDK.
 *
 * <p>{@link #isTransient()} tells a caller whether the same request may succeed if retried
 * unchanged (a storage hiccup, a full disk, a key service that does not answer) or never will (bad input, a
 * concurrency conflict that needs a fresh read first).
 */
public abstract class LetheException extends RuntimeException {
    protected LetheException(String message) {
        super(message);
    }

    protected LetheException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Whether retrying the same request unchanged may succeed. */
    public abstract boolean isTransient();
}
