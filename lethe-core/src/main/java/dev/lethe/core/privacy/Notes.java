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
        int hidden = hiddenCharacter(text);
        if (hidden >= 0) {
            throw InvalidEventException.of(
                    what,
                    String.format(
                            "holds U+%04X, a control or invisible character (a bidirectional override, a line"
                                    + " separator…); write it as plain text",
                            hidden));
        }
    }

    /**
     * Whether {@code text} holds a control character other than tab and line feed (CRLF counts as one), a line
     * or paragraph separator, or an invisible format character (a bidirectional override or isolate, a tag
     * character, an invisible operator) — but for those ordinary text needs: the zero-width joiners, the
     * directional marks right-to-left text carries, the soft hyphen.
     */
    public static boolean hasHiddenCharacters(String text) {
        return hiddenCharacter(text) >= 0;
    }

    /** The first code point {@link #hasHiddenCharacters} refuses, or -1. */
    static int hiddenCharacter(String text) {
        if (text == null) {
            return -1;
        }
        String lines = text.replace("\r\n", "\n"); // line ends as a form sends them; a bare CR can overwrite a line
        int previous = -1;
        for (int i = 0; i < lines.length(); ) {
            int c = lines.codePointAt(i);
            i += Character.charCount(c);
            if ((Character.isISOControl(c) && c != '\t' && c != '\n')
                    || Character.getType(c) == Character.LINE_SEPARATOR
                    || Character.getType(c) == Character.PARAGRAPH_SEPARATOR
                    || (Character.getType(c) == Character.FORMAT && !ORDINARY_FORMAT.contains(c))
                    // A Hangul filler, a variation selector: blank, yet no format (a selector after an emoji works)
                    || (Invisible.blank(c)
                            && !Invisible.joins(previous, c, i < lines.length() ? lines.codePointAt(i) : -1))) {
                return c;
            }
            previous = c;
        }
        return -1;
    }

    /** Format characters ordinary text carries: ZWNJ, ZWJ, LRM, RLM, ALM, the soft hyphen. */
    private static final java.util.Set<Integer> ORDINARY_FORMAT =
            java.util.Set.of(0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0x00AD);
}
