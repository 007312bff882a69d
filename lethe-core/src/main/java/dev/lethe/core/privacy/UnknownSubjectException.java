package dev.lethe.core.privacy;

/**
 * A request names a data subject this store never issued and never forgot: forgetting, scheduling a
 * forget for, or exporting it. (Over HTTP, 404.) Not thrown for an append that names one: there it is
 * the event that is invalid.
 */
public final class UnknownSubjectException extends SubjectException {
    public UnknownSubjectException(SubjectId subject, String detail) {
        super(subject, "subject " + subject + ": " + detail);
    }
}
