package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;
import java.util.UUID;

/**
 * A personal field's ciphertext failed authentication: it was altered, or moved from another event or
 * field. Never an expected state, so not a redaction.
 */
public final class TamperedDataException extends LetheException {
    public TamperedDataException(UUID eventId, String path, String detail) {
        super("personal field " + path + " of event " + eventId + " failed authentication (" + detail
                + "): it was altered or copied from elsewhere");
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
