package dev.lethe.core.privacy;

import dev.lethe.core.store.Json;
import dev.lethe.core.store.RecordedEvent;
import java.util.List;

/**
 * An event as one principal may see it: its data with every personal field decrypted, or set to
 * {@code null} and listed in {@link #redactions()} with the reason.
 */
public record RevealedEvent(
        RecordedEvent event, Json data, List<Redaction> redactions, java.util.Set<DataGroup> opened) {
    public RevealedEvent {
        redactions = List.copyOf(redactions);
        opened = java.util.Set.copyOf(opened);
    }

    /** An event with nothing sealed in it. */
    public RevealedEvent(RecordedEvent event, Json data, List<Redaction> redactions) {
        this(event, data, redactions, java.util.Set.of());
    }

    public boolean isRedacted(String path) {
        return redactions.stream().anyMatch(r -> r.path().equals(path));
    }
}
