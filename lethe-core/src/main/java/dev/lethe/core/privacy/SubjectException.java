package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;

/** A request refused because of the state of the data subject it names; retrying it unchanged fails again. */
public abstract sealed class SubjectException extends LetheException
        permits UnknownSubjectException, ErasureFenceException, AlreadyForgottenException {
    private final SubjectId subject;

    SubjectException(SubjectId subject, String message) {
        super(message);
        this.subject = subject;
    }

    /** The subject the request named. */
    public SubjectId subject() {
        return subject;
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
