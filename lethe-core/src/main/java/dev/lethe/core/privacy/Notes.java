package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;

/**
 * The free text of forgets, schedules and cancellations (a legal basis, a reason): bounded, since it is
 * kept in the key store, the audit trail, {@code $erasures} and the receipt journal, whose lines must
 * stay far under the journal's line limit.
 */
public final class Notes {
    /** The longest legal basis or reason, in characters. */
    public static final int MAX_CHARS = 2_000;

    private Notes() {}

    /**
     * {@code text} cut to {@value #MAX_CHARS} characters (ending with an ellipsis when cut): for text read
     * back from what an earlier version of Lethe stored without this bound, which must not be refused.
     */
    public static String shortened(String text) {
        return text == null || text.length() <= MAX_CHARS ? text : text.substring(0, MAX_CHARS - 1) + "…";
    }

    /** Refuses {@code text} longer than {@value #MAX_CHARS} characters, naming {@code what}. */
    public static String bounded(String what, String text) {
        if (text != null && text.length() > MAX_CHARS) {
            throw InvalidEventException.of(
                    what, "is " + text.length() + " characters long; at most " + MAX_CHARS + " are kept");
        }
        return text;
    }

    /**
     * Refuses, in a new note, a control character (but tab and line feed: an escape sequence would reach the
     * terminal of whoever lists the receipts) or a bidirectional override (text that reads otherwise than it
     * is), naming {@code what}. Notes stored before are not checked again (a scheduled forget carried out).
     */
    public static void requirePlain(String what, String text) {
        if (hasHiddenCharacters(text)) {
            throw InvalidEventException.of(
                    what, "holds a control character or a bidirectional override; write it as plain text");
        }
    }

    /**
     * Whether {@code text} holds a control character other than tab and line feed (CRLF counts as one), a
     * bidirectional control, a line or paragraph separator, or an invisible space; the zero-width joiners,
     * which some scripts need, are allowed.
     */
    public static boolean hasHiddenCharacters(String text) {
        return text != null
                && text.replace("\r\n", "\n") // line ends as a form sends them; a bare CR can overwrite a line
                        .chars()
                        .anyMatch(c -> (Character.isISOControl(c) && c != '\t' && c != '\n')
                                || (c >= 0x202A && c <= 0x202E) // bidirectional embeddings and overrides
                                || (c >= 0x2066 && c <= 0x2069) // bidirectional isolates
                                || c == 0x200E
                                || c == 0x200F
                                || c == 0x061C // directional marks
                                || c == 0x2028
                                || c == 0x2029 // line and paragraph separators
                                || c == 0x200B
                                || c == 0x2060
                                || c == 0xFEFF); // zero-width (not the joiners)
    }
}
