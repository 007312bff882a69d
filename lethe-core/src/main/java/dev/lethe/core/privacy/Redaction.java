package dev.lethe.core.privacy;

/** A personal field that could not be shown to the caller, and why. Expected, not an error. */
public record Redaction(String path, Reason reason) {
    public enum Reason {
        /** The data subject was forgotten: their key is destroyed. */
        FORGOTTEN,
        /** The retention period of the field's data group has ended: its period key is destroyed. */
        EXPIRED,
        /** The caller's role may not read the field's data group. */
        RESTRICTED,
        /** The key service could not be reached or could not unwrap the key. */
        UNAVAILABLE;

        /** The lower-case name used in JSON and on the command line. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
