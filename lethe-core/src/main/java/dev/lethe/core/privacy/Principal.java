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
        int previous = -1;
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            i += Character.charCount(c);
            int type = Character.getType(c);
            boolean hides = type == Character.FORMAT || Invisible.blank(c);
            if (Character.isISOControl(c)
                    || type == Character.LINE_SEPARATOR
                    || type == Character.PARAGRAPH_SEPARATOR
                    || type == Character.PRIVATE_USE
                    || type == Character.UNASSIGNED
                    || (hides && !Invisible.joins(previous, c, i < name.length() ? name.codePointAt(i) : -1))) {
                // Format characters too: a right-to-left override would make the name read as another one. And
                // characters that show nothing, or may not ("ops" and a variation selector would read as "ops"; a
                // private-use or unassigned code point draws as its font pleases) — but for joiners and selectors
                // doing their work in a name (a Persian name's ZWNJ, an emoji's variation selector).
                throw InvalidEventException.of(
                        "principal",
                        "name contains a control character, line separator or invisible character (format, variation"
                                + " selector, filler, blank, private-use or unassigned)");
            }
            previous = c;
        }
        if (space(name.codePointAt(0)) || space(name.codePointBefore(name.length()))) {
            // "ops " (or with a no-break space) would read as the principal "ops".
            throw InvalidEventException.of("principal", "name begins or ends with a space");
        }
        if (role == null || role.isBlank()) {
            throw InvalidEventException.of("principal " + name, "needs a role");
        }
    }

    private static boolean space(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    /** The principal of the process itself, for key service work that reads no personal data. */
    public static final Principal SYSTEM = new Principal("lethe", "system");
}
