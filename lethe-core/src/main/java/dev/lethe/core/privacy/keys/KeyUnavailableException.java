package dev.lethe.core.privacy.keys;

import dev.lethe.core.store.LetheException;

/** A key could not be unwrapped or the key service could not be reached; reads redact as unavailable. */
public final class KeyUnavailableException extends LetheException {
    public KeyUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public boolean isTransient() {
        return true;
    }
}
