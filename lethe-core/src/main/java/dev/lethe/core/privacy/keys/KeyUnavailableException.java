package dev.lethe.core.privacy.keys;

import dev.lethe.core.store.LetheException;

/** A key could not be unwrapped or the key service could not be reached; reads redact as unavailable. */
public final class KeyUnavailableException extends LetheException {
    private final boolean masterKeyUnreachable;

    public KeyUnavailableException(String message, Throwable cause) {
        this(message, cause, false);
    }

    /**
     * @param masterKeyUnreachable whether the master key itself could not be used (an HSM that does not
     *     answer, a token removed, a handle gone), rather than this key failing to unwrap
     */
    public KeyUnavailableException(String message, Throwable cause, boolean masterKeyUnreachable) {
        super(message, cause);
        this.masterKeyUnreachable = masterKeyUnreachable;
    }

    /**
     * Whether the master key could not be used at all (its token or device failed), which says nothing
     * about the key being unwrapped: the same call may succeed once the device is back.
     */
    public boolean masterKeyUnreachable() {
        return masterKeyUnreachable;
    }

    @Override
    public boolean isTransient() {
        return true;
    }
}
