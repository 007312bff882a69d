package dev.lethe.core.privacy;

/**
 * An append carried personal data of a forgotten subject. A forgotten subject's pseudonym can never get
 * a key again: nothing of theirs is silently resurrected. Nothing of the batch was written.
 */
public final class ErasureFenceException extends SubjectException {
    public ErasureFenceException(SubjectId subject) {
        super(subject, "subject " + subject + " was forgotten: personal data for it cannot be stored again");
    }
}
