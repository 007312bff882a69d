package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;

/**
 * A request names a data subject this store never issued and never forgot: forgetting, scheduling a
 * forget for, or exporting it. (Over HTTP, 404.) Not thrown for an append that names one: there it is
 * the event that is invalid.
 */
public final class UnknownSubjectException extends LetheException {
    private final SubjectId subject;

    public UnknownSubjectException(SubjectId subject, String detail) {
        super("subject " + subject + ": " + detail);
        this.subject = subject;
    }

    public SubjectId subject() {
        return subject;
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
