package dev.lethe.core.privacy;

/**
 * A forget, a scheduled forget or a cancellation names a subject this store has already forgotten. The
 * message names the first forget's receipt when the store has it (the caller of that forget may never
 * have seen its answer). For a caller that forgets idempotently, the work is done. (Over HTTP, 409.)
 */
public final class AlreadyForgottenException extends SubjectException {
    public AlreadyForgottenException(SubjectId subject, String detail) {
        super(subject, "subject " + subject + ": " + detail);
    }
}
