package dev.lethe.core.store;

/**
 * The root of every exception Lethe throws.
 *
 * <p>{@link #isTransient()} tells a caller whether the same request may succeed if retried
 * unchanged (a storage hiccup, a closed store being reopened) or never will (bad input, a
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
