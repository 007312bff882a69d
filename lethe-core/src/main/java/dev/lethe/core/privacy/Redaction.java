package dev.lethe.core.privacy;

/**
 * A personal field that could not be shown to the caller, and why. Expected, not an error — but for
 * {@link Reason#TAMPERED}, which only an export gives.
 *
 * @param detail what failed, for {@link Reason#TAMPERED} (never the field's bytes); in an export, {@link
 *     #ANOTHER_SUBJECT} for a {@link Reason#RESTRICTED} field of another subject the event names; {@code null}
 *     otherwise
 */
public record Redaction(String path, Reason reason, String detail) {
    /** An export's detail for a field of another data subject than the one exported (Art. 15(4)). */
    public static final String ANOTHER_SUBJECT = "another data subject's field: not part of this export";

    public Redaction(String path, Reason reason) {
        this(path, reason, null);
    }

    public enum Reason {
        /** The data subject was forgotten: their key is destroyed. */
        FORGOTTEN,
        /** The retention period of the field's data group has ended: its period key is destroyed. */
        EXPIRED,
        /** The caller's role may not read the field's data group. */
        RESTRICTED,
        /** The key service could not be reached or could not unwrap the key. */
        UNAVAILABLE,
        /**
         * The field's ciphertext failed authentication (altered, or copied from another event or field).
         * Only in an export, which goes on past it so that the subject gets the rest of their data; every
         * read raises {@link TamperedDataException} instead.
         */
        TAMPERED;

        /** The lower-case name used in JSON and on the command line. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
