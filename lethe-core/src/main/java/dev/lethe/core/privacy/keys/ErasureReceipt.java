package dev.lethe.core.privacy.keys;

import dev.lethe.core.privacy.SubjectId;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Proof of a forget: who asked, when, on what legal basis, and what was destroyed. It holds no personal
 * data: the subject is named by its pseudonym only.
 *
 * @param destroyed what was deleted, e.g. {@code "subject key"}, {@code "2 blind-index entries"}
 */
public record ErasureReceipt(
        UUID id,
        SubjectId subject,
        String actor,
        Instant at,
        String legalBasis,
        String reason,
        List<String> destroyed) {
    /** The receipt as plain values (strings and a list), in a stable order: for JSON and GraphQL. */
    public java.util.Map<String, Object> asMap() {
        java.util.Map<String, Object> map = new java.util.LinkedHashMap<>();
        map.put("id", id.toString());
        map.put("subject", subject.toString());
        map.put("actor", actor);
        map.put("at", at.toString());
        map.put("legalBasis", legalBasis);
        map.put("reason", reason);
        map.put("destroyed", destroyed);
        return map;
    }

    /**
     * As {@link #asMap()}, naming the store it was made in (when known), as receipt-journal lines do: {@code
     * lethe subject forget-again} in another store leaves such a receipt out.
     */
    public java.util.Map<String, Object> asMap(java.util.Optional<String> store) {
        java.util.Map<String, Object> map = asMap();
        store.ifPresent(id -> map.put("store", id));
        return map;
    }
}
