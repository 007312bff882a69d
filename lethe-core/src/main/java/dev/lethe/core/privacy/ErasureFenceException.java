package dev.lethe.core.privacy;

/**
 * An append named a forgotten subject: its subject id in a key field (with or without personal data in the
 * event: the event would tie new facts to a person who was forgotten), or personal data sealed for it. A
 * forgotten subject's pseudonym can never get a key again: nothing of theirs is silently resurrected.
 * Nothing of the batch was written. Facts to record about a forgotten person without naming them go in an
 * event whose key field names no one.
 */
public final class ErasureFenceException extends SubjectException {
    public ErasureFenceException(SubjectId subject) {
        super(subject, "subject " + subject + " was forgotten: personal data for it cannot be stored again");
    }
}
