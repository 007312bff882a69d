package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.store.RecordedEvent;
import java.util.UUID;

/**
 * A personal field kept in a read model as it is in the log: sealed, with the event id and path its
 * ciphertext is bound to. {@link PrivacyCodec#revealState} opens it at query time for the caller's
 * role, so forgetting a subject reaches read models at once, without a rebuild.
 *
 * <p>Store it in a projection's state instead of the plaintext: {@code PersonalValue.of(event, "name")}.
 * The value is kept as stored: a field the log holds in plaintext (no registered schema, or not
 * classified) stays plaintext here, and {@link PrivacyCodec#revealState} returns it unchanged.
 */
public record PersonalValue(UUID event, String path, String sealed) {
    /**
     * The value of {@code path} in the event, as stored; null if the event has none.
     *
     * @throws IllegalArgumentException if the value is an object or array that holds sealed fields: take each
     *     of them by its own path ({@code "address.street"}, not {@code "address"}); or if {@code path} has an
     *     empty part ({@code "name."}, {@code "a..b"}), which no field's path has
     */
    public static PersonalValue of(RecordedEvent event, String path) {
        if (path == null || path.isEmpty() || path.startsWith(".") || path.endsWith(".") || path.contains("..")) {
            // "name." would find name's value, then be opened as another field's ("name."): read as tampered.
            throw new IllegalArgumentException("PersonalValue.of(event, " + (path == null ? "null" : "\"" + path + "\"")
                    + "): a path names members joined by single dots (\"name\", \"address.street\"), none empty");
        }
        JsonNode value = PrivacyCodec.at(event.data().asTree(), path);
        if (value == null || value.isNull()) {
            return null;
        }
        // An envelope as its text; anything else (stored in plaintext) as its JSON text, so that the
        // string "42" and the number 42 stay apart when revealState reads it back.
        boolean sealed = value.isTextual() && Envelope.isEnvelope(value.asText());
        if (value.isContainerNode()) {
            java.util.List<String> inside = new java.util.ArrayList<>();
            sealedWithin(value, path, inside);
            if (!inside.isEmpty()) {
                // Kept as JSON text, its envelopes would never be opened, nor read as forgotten after a forget.
                throw new IllegalArgumentException("PersonalValue.of(event, \"" + path + "\"): the value holds sealed"
                        + " fields (" + String.join(", ", inside.subList(0, Math.min(MAX_NAMED, inside.size())))
                        + (inside.size() > MAX_NAMED ? ", …" : "")
                        + "); a PersonalValue keeps one field: take each sealed field by its own path");
            }
        }
        return new PersonalValue(event.id(), path, sealed ? value.asText() : value.toString());
    }

    private static final int MAX_NAMED = 5;

    /** The paths of the envelopes within {@code node} (one more than {@link #MAX_NAMED} at most: enough to tell). */
    private static void sealedWithin(JsonNode node, String path, java.util.List<String> found) {
        if (found.size() > MAX_NAMED) {
            return;
        }
        if (node.isTextual() && Envelope.isEnvelope(node.asText())) {
            found.add(path);
        } else if (node.isObject()) {
            node.fields().forEachRemaining(field -> sealedWithin(field.getValue(), path + "." + field.getKey(), found));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                sealedWithin(node.get(i), path + "[" + i + "]", found);
            }
        }
    }

    /** Whether {@code node} is a {@code PersonalValue} as Jackson writes one: {@code {event, path, sealed}}. */
    public static boolean looksLikeOne(JsonNode node) {
        return node.isObject() && node.size() == 3 && node.has("event") && node.has("path") && node.has("sealed");
    }
}
