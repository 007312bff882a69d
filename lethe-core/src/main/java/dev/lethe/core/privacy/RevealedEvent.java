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

    /**
     * The event's metadata as this reader may see it. The subject a key field names ({@code
     * lethe.subjects}) is left out when that field reads as {@code restricted} (the reader may not read
     * its group) or {@code expired}: a pseudonym links events to one person, and one who may append could
     * otherwise learn whose a natural key is (append an event naming it, read the subject back, compare it
     * with other events'), which only a role that may export (look up) should. A forgotten subject's
     * pseudonym stays: its natural keys no longer lead to it. Otherwise the stored metadata, as is.
     */
    public Json metadata() {
        Json stored = event.metadata();
        List<String> unlinkable = null;
        for (Redaction redaction : redactions) {
            if (redaction.reason() == Redaction.Reason.RESTRICTED || redaction.reason() == Redaction.Reason.EXPIRED) {
                if (unlinkable == null) {
                    unlinkable = new java.util.ArrayList<>();
                }
                unlinkable.add(redaction.path());
            }
        }
        if (unlinkable == null) {
            return stored;
        }
        com.fasterxml.jackson.databind.JsonNode subjects =
                stored.asTree().path(PrivacyCodec.METADATA_KEY).path("subjects");
        if (!subjects.isObject() || unlinkable.stream().noneMatch(subjects::has)) {
            return stored;
        }
        com.fasterxml.jackson.databind.node.ObjectNode copy =
                (com.fasterxml.jackson.databind.node.ObjectNode) stored.asTree().deepCopy();
        com.fasterxml.jackson.databind.node.ObjectNode copied = (com.fasterxml.jackson.databind.node.ObjectNode)
                copy.path(PrivacyCodec.METADATA_KEY).path("subjects");
        unlinkable.forEach(copied::remove);
        return Json.of(copy);
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
