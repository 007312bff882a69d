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
        return Character.isISOControl(c)
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
                || (c >= 0xE0000 && c <= 0xE0FFF);
    }
}
