package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;
import java.util.UUID;

/**
 * The pseudonymous id of a data subject: a random UUID given by the key service. It carries no
 * personal data; once the subject is forgotten, it points at nothing.
 */
public record SubjectId(UUID value) {
    public SubjectId {
        if (value == null) {
            throw InvalidEventException.of("subject id", "is missing");
        }
    }

    public static SubjectId random() {
        return new SubjectId(UUID.randomUUID());
    }

    /**
     * Parses a UUID; anything else is bad input. The text is not repeated in the error: where a
     * subject id is expected, callers sometimes pass the natural key (an e-mail address).
     */
    private static final java.util.regex.Pattern CANONICAL = java.util.regex.Pattern.compile(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    public static SubjectId parse(String text) {
        try {
            if (!CANONICAL.matcher(text).matches()) {
                // UUID.fromString takes '0057f8eb90-1ac7-…' as another id: a garbled one must not name someone.
                throw new IllegalArgumentException("not in the 8-4-4-4-12 form");
            }
            return new SubjectId(UUID.fromString(text));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw InvalidEventException.of(
                    "subject id",
                    text == null
                            ? "is missing"
                            : "is not a UUID (" + text.length() + " characters given; a subject id looks like"
                                    + " 3f2504e0-4f89-41d3-9a0c-0305e82c3301; natural keys are looked up first:"
                                    + " lethe subject lookup, POST /v1/subjects over HTTP, GraphQL subject(naturalKey))");
        }
    }

    /** Whether the text is a UUID in its 8-4-4-4-12 form (and so may name a subject), as {@link #parse} takes. */
    public static boolean looksLikeOne(String text) {
        return text != null && CANONICAL.matcher(text).matches();
    }

    @Override
    public String toString() {
        return value.toString();
    }
}
