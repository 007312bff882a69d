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
        List<String> destroyed) {}
