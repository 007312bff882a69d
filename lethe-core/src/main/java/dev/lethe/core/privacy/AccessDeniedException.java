package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;

/** The principal's role lacks a permission of the data policy (forget, export, rotate keys, change policy). */
public final class AccessDeniedException extends LetheException {
    public AccessDeniedException(Principal principal, String permission) {
        super("principal " + principal.name() + " (role " + principal.role() + ") may not " + permission);
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
