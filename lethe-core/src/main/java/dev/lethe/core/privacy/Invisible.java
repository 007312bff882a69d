package dev.lethe.core.privacy;

/**
 * Characters that show nothing where people read text: a name made of them, or ending in them, reads as another
 * name (or as none). One list for principals' names, natural keys and notes.
 */
public final class Invisible {
    private Invisible() {}

    /**
     * Whether the code point shows nothing: a control, format, line or paragraph separator character, white space
     * of any kind, or a {@link #blank} character.
     */
    public static boolean showsNothing(int c) {
        int type = Character.getType(c);
        return type == Character.UNASSIGNED // noncharacters too (U+FFFF), and what this JDK's Unicode lacks
                || Character.isISOControl(c)
                || Character.isWhitespace(c)
                || Character.isSpaceChar(c)
                || type == Character.FORMAT
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR
                || blank(c);
    }

    /**
     * Unicode's default-ignorable code points that are neither format nor control characters (the combining
     * grapheme joiner, variation selectors, Hangul and Mongolian fillers and selectors, Khmer inherent vowels,
     * reserved ones), and characters drawn blank (the braille blank, the musical null notehead): each shows
     * nothing, though Unicode counts most of them as letters, marks or symbols.
     */
    public static boolean blank(int c) {
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
                || c == 0x1D159
                || c == 0x16FE4
                || (c >= 0xE0000 && c <= 0xE0FFF);
    }

    /**
     * The text with every character outside printable ASCII, and a space at either end, written as a {@code \\u}
     * escape ({@code \\U} and eight digits beyond the Basic Multilingual Plane): a name shown so that what cannot
     * be seen is seen ({@code ops} and U+034F as {@code ops\\u034f}, {@code "ops "} as {@code ops\\u0020}).
     */
    public static String escaped(String text) {
        StringBuilder out = new StringBuilder();
        int[] points = text.codePoints().toArray();
        for (int i = 0; i < points.length; i++) {
            int c = points[i];
            boolean inside = i > 0 && i < points.length - 1;
            if ((c > 0x20 && c < 0x7F && c != '\\') || (c == ' ' && inside)) {
                out.append((char) c);
            } else {
                out.append(String.format(c > 0xFFFF ? "\\U%08x" : "\\u%04x", c));
            }
        }
        return out.toString();
    }

    /**
     * Whether {@code c}, a joiner or selector that shows nothing alone, does its work between the visible
     * characters around it (-1: none there), as ordinary names and text use it: a zero-width (non-)joiner inside a
     * word of a script other than Latin, Greek or Cyrillic (Persian, the Indic scripts), or between emoji; a
     * variation selector after an emoji or other symbol (U+FE0E, U+FE0F), a CJK ideograph (U+E0100 to U+E01EF)
     * or a Mongolian letter (U+180B to U+180D, U+180F). Anywhere else it hides: {@code ops} and U+FE0F reads as
     * {@code ops}.
     */
    public static boolean joins(int previous, int c, int next) {
        if (previous < 0) {
            return false;
        }
        int before = Character.getType(previous);
        boolean symbolBefore = before == Character.OTHER_SYMBOL || before == Character.MODIFIER_SYMBOL;
        if (c == 0x200C || c == 0x200D) {
            if (next < 0) {
                return false;
            }
            if (c == 0x200D
                    && (symbolBefore || previous == 0xFE0F)
                    && Character.getType(next) == Character.OTHER_SYMBOL) {
                return true; // an emoji sequence
            }
            Character.UnicodeScript script = Character.UnicodeScript.of(previous);
            return Character.isLetter(previous)
                    && Character.isLetter(next)
                    && Character.UnicodeScript.of(next) == script
                    && script != Character.UnicodeScript.LATIN
                    && script != Character.UnicodeScript.GREEK
                    && script != Character.UnicodeScript.CYRILLIC
                    && script != Character.UnicodeScript.COMMON;
        }
        if (c == 0xFE0E || c == 0xFE0F) {
            return symbolBefore || (previous >= '0' && previous <= '9') || previous == '#' || previous == '*';
        }
        if (c >= 0xE0100 && c <= 0xE01EF) {
            return Character.isIdeographic(previous);
        }
        if ((c >= 0x180B && c <= 0x180D) || c == 0x180F) {
            return Character.UnicodeScript.of(previous) == Character.UnicodeScript.MONGOLIAN;
        }
        return false;
    }
}
