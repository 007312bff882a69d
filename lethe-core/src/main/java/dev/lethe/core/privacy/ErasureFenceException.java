package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;

/**
 * An append carried personal data of a forgotten subject. A forgotten subject's pseudonym can never get
 * a key again: nothing of theirs is silently resurrected. Nothing of the batch was written.
 */
public final class ErasureFenceException extends LetheException {
    private final SubjectId subject;

    public ErasureFenceException(SubjectId subject) {
        super("subject " + subject + " was forgotten: personal data for it cannot be stored again");
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
