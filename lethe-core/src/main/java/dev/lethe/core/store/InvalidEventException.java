package dev.lethe.core.store;

/**
 * Bad input: a request that can never succeed as it is. Names what is wrong ({@link #subject()}) and
 * why. Nothing of the request has been written when this is thrown.
 */
public final class InvalidEventException extends LetheException {
    private final String subject;

    private InvalidEventException(String subject, String message) {
        super(subject + ": " + message);
        this.subject = subject;
    }

    /** A problem with the named part of the request (e.g. {@code "stream id"}, {@code "events[2].data"}). */
    public static InvalidEventException of(String subject, String problem) {
        return new InvalidEventException(subject, problem);
    }

    /** Which part of the request is wrong. */
    public String subject() {
        return subject;
    }

    /** Re-labels the problem with a more precise subject, e.g. {@code events[2].data}. */
    public InvalidEventException at(String preciseSubject) {
        String problem = getMessage().substring(subject.length() + 2);
        return new InvalidEventException(preciseSubject, problem);
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
