package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;

/**
 * Who is asking: a name for the audit trail and a role of the data policy. The name is kept in audit
 * entries, erasure receipts and receipt-journal lines, so it is one printable line of at most {@value
 * #MAX_NAME_CHARS} characters.
 */
public record Principal(String name, String role) {
    /** The longest name, in characters. */
    public static final int MAX_NAME_CHARS = 256;

    public Principal {
        if (name == null || name.isBlank()) {
            throw InvalidEventException.of("principal", "needs a name");
        }
        if (name.length() > MAX_NAME_CHARS) {
            throw InvalidEventException.of(
                    "principal",
                    "name is " + name.length() + " characters long; at most " + MAX_NAME_CHARS + " are allowed");
        }
        if (name.codePoints()
                .anyMatch(c -> Character.isISOControl(c)
                        || Character.getType(c) == Character.LINE_SEPARATOR
                        || Character.getType(c) == Character.PARAGRAPH_SEPARATOR
                        || Character.getType(c) == Character.FORMAT
                        || invisible(c))) {
            // Format characters too: a right-to-left override would make the name read as another one. And
            // characters that show nothing ("ops" and a variation selector would read as the principal "ops").
            throw InvalidEventException.of(
                    "principal",
                    "name contains a control character, line separator or invisible character (format, variation"
                            + " selector, filler or blank)");
        }
        if (role == null || role.isBlank()) {
            throw InvalidEventException.of("principal " + name, "needs a role");
        }
    }

    /**
     * Unicode's default-ignorable code points that are not format characters (a combining grapheme joiner,
     * variation selectors, Hangul and Mongolian fillers, Khmer inherent vowels, reserved ones), and the braille
     * blank: each shows nothing, so a name holding one reads as the name without it.
     */
    private static boolean invisible(int c) {
        return c == 0x034F
                || c == 0x115F
                || c == 0x1160
                || c == 0x17B4
                || c == 0x17B5
                || (c >= 0x180B && c <= 0x180F)
                || c == 0x2800
                || c == 0x3164
                || (c >= 0xFE00 && c <= 0xFE0F)
                || c == 0xFFA0
                || (c >= 0xFFF0 && c <= 0xFFF8)
                || (c >= 0x1BCA0 && c <= 0x1BCA3)
                || (c >= 0x1D173 && c <= 0x1D17A)
                || (c >= 0xE0000 && c <= 0xE0FFF);
    }

    /** The principal of the process itself, for key service work that reads no personal data. */
    public static final Principal SYSTEM = new Principal("lethe", "system");
}
