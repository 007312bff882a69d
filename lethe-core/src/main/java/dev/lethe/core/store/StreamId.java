package dev.lethe.core.store;

import java.util.regex.Pattern;

/**
 * The id of a stream: 1 to {@value #MAX_LENGTH} characters, letters, digits and {@code - _ . :},
 * starting with a letter or digit; or a system stream, the same after a leading {@code $}.
 *
 * <p>The category of a stream is the part before its first {@code -}: {@code customer-7f3c} is in
 * category {@code customer}; a stream without {@code -} is its own category. Stream ids are visible
 * to every reader, are never encrypted and must not carry personal data: use a pseudonym
 * ({@code customer-7f3c…}), never an e-mail address.
 */
public record StreamId(String value) implements Comparable<StreamId> {
    public static final int MAX_LENGTH = 200;
    private static final Pattern VALID = Pattern.compile("\\$?[A-Za-z0-9][A-Za-z0-9_.:\\-]*");

    public StreamId {
        if (value == null || value.isEmpty()) {
            throw InvalidEventException.of("stream id", "must not be empty");
        }
        if (value.length() > MAX_LENGTH) {
            throw InvalidEventException.of(
                    "stream id", "is " + value.length() + " characters long, the limit is " + MAX_LENGTH);
        }
        if (!VALID.matcher(value).matches()) {
            // The id itself is not repeated: an invalid one is often an e-mail address ('@').
            int at = firstInvalid(value);
            int c = value.codePointAt(at);
            throw InvalidEventException.of(
                    "stream id",
                    "has "
                            + (Character.isISOControl(c) || Character.isWhitespace(c)
                                    ? String.format("U+%04X", c)
                                    : "'" + new String(Character.toChars(c)) + "'")
                            + " at index " + at
                            + ": a stream id may only hold ASCII letters (a-z, A-Z), digits and - _ . : "
                            + "(starting with a letter or digit, or $ for a system stream)");
        }
    }

    public static StreamId of(String value) {
        return new StreamId(value);
    }

    /** The part before the first {@code -}, or the whole id when it has none. */
    public String category() {
        return categoryOf(value);
    }

    /** The category of a stream id string, by the same rule as {@link #category()}. */
    public static String categoryOf(String streamId) {
        int dash = streamId.indexOf('-');
        return dash < 0 ? streamId : streamId.substring(0, dash);
    }

    /** The index of the first character that makes {@code value} invalid. */
    private static int firstInvalid(String value) {
        int start = value.startsWith("$") ? 1 : 0;
        for (int i = start; i < value.length(); i++) {
            char c = value.charAt(i);
            boolean letterOrDigit = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            if (!letterOrDigit && (i == start || (c != '_' && c != '.' && c != ':' && c != '-'))) {
                return i;
            }
        }
        return 0;
    }

    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        text.codePoints().limit(80).forEach(c -> {
            if (Character.isISOControl(c)) {
                out.append(String.format("\\u%04x", c));
            } else {
                out.appendCodePoint(c);
            }
        });
        return text.length() > 80 ? out + "…" : out.toString();
    }

    @Override
    public int compareTo(StreamId other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
