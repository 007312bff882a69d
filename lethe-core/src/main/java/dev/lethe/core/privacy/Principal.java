package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;

/** Who is asking: a name for the audit trail and a role of the data policy. */
public record Principal(String name, String role) {
    public Principal {
        if (name == null || name.isBlank()) {
            throw InvalidEventException.of("principal", "needs a name");
        }
        if (role == null || role.isBlank()) {
            throw InvalidEventException.of("principal " + name, "needs a role");
        }
    }

    /** The principal of the process itself, for key service work that reads no personal data. */
    public static final Principal SYSTEM = new Principal("lethe", "system");
}
