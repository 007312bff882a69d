package dev.lethe.core.store;

/**
 * The storage engine failed (I/O error, disk full, database locked). When thrown by an append, the
 * batch was not acknowledged and, thanks to the transaction, not partly written: it may be retried.
 */
public final class StorageException extends LetheException {
    private final boolean transientFailure;

    private StorageException(String message, Throwable cause, boolean transientFailure) {
        super(message, cause);
        this.transientFailure = transientFailure;
    }

    /** A failure that may pass (I/O, lock contention). */
    public static StorageException transientFailure(String message, Throwable cause) {
        return new StorageException(message, cause, true);
    }

    /** A failure that will not pass by retrying (corrupt file, store closed, directory in use). */
    public static StorageException permanent(String message, Throwable cause) {
        return new StorageException(message, cause, false);
    }

    /**
     * What went wrong with a file, in words: a file-system exception's message is often only the path
     * ("…/master.keyset.json"); its class says what happened to it.
     */
    public static String reasonOf(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.charset.CharacterCodingException) {
            return "it is not UTF-8 text";
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        String message = e.getMessage();
        return message == null || message.isBlank()
                ? e.getClass().getSimpleName()
                : message.lines().findFirst().orElse(message);
    }

    @Override
    public boolean isTransient() {
        return transientFailure;
    }
}
