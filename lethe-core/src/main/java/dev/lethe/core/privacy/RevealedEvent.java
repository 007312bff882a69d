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

    /**
     * Without the decrypted data: an application that logs a revealed event ({@code log.info("{}",
     * revealed)}) must not write personal data to its log. {@link #data()} gives it when needed.
     */
    @Override
    public String toString() {
        return "RevealedEvent[" + event.streamId() + "@" + event.version() + " (position " + event.position() + "), "
                + event.type() + ", data not printed (" + data.size() + " bytes, personal values decrypted), groups "
                + "opened " + opened + ", redactions " + redactions + "]";
    }
}
