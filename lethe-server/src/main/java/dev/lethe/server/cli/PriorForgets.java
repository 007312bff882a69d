package dev.lethe.server.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.PrivateEventStore.CancelledForget;
import dev.lethe.core.privacy.PrivateEventStore.PriorForget;
import dev.lethe.core.privacy.PrivateEventStore.ScheduledForget;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.store.InvalidEventException;
import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the forgets another copy of a store made, for {@code lethe subject forget-again}: erasure
 * receipts ({@code lethe subject receipts --json}, {@code GET /v1/receipts}), audit entries ({@code lethe
 * read '$audit' --json}, {@code GET /v1/audit}) or receipt-journal lines, one JSON value per line or in
 * arrays; and the forgets it scheduled for later ({@code ForgetScheduled} audit entries, journal lines of
 * kind {@code schedule}). Entries of other types are counted and skipped; anything else is refused with
 * its line, before anything is forgotten.
 */
final class PriorForgets {
    static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A forget read, or a forget scheduled (the other null), and, for a receipt-journal line, the id of
     * the store it was made in (else null).
     */
    record Entry(PriorForget forget, ScheduledForget schedule, CancelledForget cancel, String store) {
        boolean madeIn(java.util.Optional<String> storeId) {
            return store == null || storeId.isEmpty() || storeId.get().equals(store);
        }
    }

    /**
     * The forgets read, how many audit entries of other types were skipped, and the lowest and highest
     * {@code $audit} version read (-1 when the file held no audit entries).
     */
    record Read(List<Entry> entries, int skipped, int unscheduled, long firstVersion, long lastVersion) {
        /** The forgets made in {@code storeId}'s directories, or not saying where. */
        List<PriorForget> forgetsOf(java.util.Optional<String> storeId) {
            return entries.stream()
                    .filter(e -> e.forget() != null && e.madeIn(storeId))
                    .map(Entry::forget)
                    .toList();
        }

        /** The cancellations of scheduled forgets made in {@code storeId}'s directories, or not saying where. */
        List<CancelledForget> cancelsOf(java.util.Optional<String> storeId) {
            return entries.stream()
                    .filter(e -> e.cancel() != null && e.madeIn(storeId))
                    .map(Entry::cancel)
                    .toList();
        }

        /** The forgets scheduled in {@code storeId}'s directories, or not saying where. */
        List<ScheduledForget> schedulesOf(java.util.Optional<String> storeId) {
            return entries.stream()
                    .filter(e -> e.schedule() != null && e.madeIn(storeId))
                    .map(Entry::schedule)
                    .toList();
        }
    }

    private PriorForgets() {}

    static Read read(Reader reader, String source) throws IOException {
        List<Entry> forgets = new ArrayList<>();
        int[] skipped = {0, 0}; // other entries; ForgetScheduled entries that cannot be scheduled again
        long[] versions = {Long.MAX_VALUE, -1};
        try (JsonParser parser = JSON.createParser(reader)) {
            JsonToken token;
            while ((token = parser.nextToken()) != null) {
                long line = parser.currentTokenLocation().getLineNr();
                JsonNode value = JSON.readTree(parser);
                if (token == JsonToken.START_ARRAY) {
                    for (JsonNode element : value) {
                        add(element, source, line, forgets, skipped, versions);
                    }
                } else {
                    add(value, source, line, forgets, skipped, versions);
                }
            }
        } catch (com.fasterxml.jackson.core.exc.StreamConstraintsException e) {
            throw InvalidEventException.of(
                    source, "is not what Lethe writes: " + e.getOriginalMessage() + " (nested too deep, or too long)");
        } catch (JsonProcessingException e) {
            throw InvalidEventException.of(
                    source,
                    "is not JSON"
                            + (e.getLocation() == null
                                    ? ""
                                    : " at line " + e.getLocation().getLineNr())
                            + " (expected receipts or $audit entries, one JSON value per line or a JSON array)");
        }
        if (forgets.isEmpty() && skipped[1] > 0) {
            throw InvalidEventException.of(
                    source,
                    "holds only ForgetScheduled entries written before Lethe recorded a schedule's id and legal"
                            + " basis in them (" + skipped[1] + "): schedule those forgets again by hand (lethe"
                            + " subject forget SUBJECT --legal-basis ... --at ...)");
        }
        if (forgets.isEmpty()) {
            int others = skipped[0] + skipped[1];
            throw InvalidEventException.of(
                    source,
                    "holds no forget (" + others + " other audit entr" + (others == 1 ? "y" : "ies")
                            + "): expected erasure receipts (`lethe subject receipts --json`), SubjectForgotten"
                            + " or ForgetScheduled entries (`lethe read '$audit' --json`), or receipt-journal lines");
        }
        return new Read(List.copyOf(forgets), skipped[0], skipped[1], versions[1] < 0 ? -1 : versions[0], versions[1]);
    }

    private static void add(
            JsonNode value, String source, long line, List<Entry> forgets, int[] skipped, long[] versions) {
        String where = source + " line " + line;
        if (!value.isObject()) {
            throw InvalidEventException.of(where, "is not a JSON object (an erasure receipt or an $audit entry)");
        }
        // A receipt-journal line names the store it was written in.
        String store = null;
        if (value.has("store")) {
            if (!value.path("store").isTextual()) {
                throw InvalidEventException.of(where, "is a receipt-journal line whose store is not text");
            }
            store = value.path("store").asText();
        }
        JsonNode subject;
        JsonNode receipt;
        JsonNode legalBasis;
        if (value.has("type")) { // an $audit entry, as `lethe read --json` and /v1/audit print events
            // Versions of $audit only: they say which part of the trail the file holds.
            boolean trail =
                    !value.has("stream") || "$audit".equals(value.path("stream").asText());
            if (trail && value.path("version").canConvertToLong()) {
                versions[0] = Math.min(versions[0], value.path("version").asLong());
                versions[1] = Math.max(versions[1], value.path("version").asLong());
            }
            if ("ForgetScheduled".equals(value.path("type").asText())) {
                addSchedule(value, where, forgets, skipped);
                return;
            }
            if ("ForgetCancelled".equals(value.path("type").asText())) {
                try {
                    forgets.add(new Entry(null, null, CancelledForget.of(value.path("data")), null));
                } catch (RuntimeException e) {
                    throw InvalidEventException.of(
                            where, "is a ForgetCancelled entry that is not one: " + e.getMessage());
                }
                return;
            }
            if (!"SubjectForgotten".equals(value.path("type").asText())) {
                skipped[0]++;
                return;
            }
            JsonNode data = value.path("data");
            subject = data.path("subject");
            receipt = data.path("receipt");
            legalBasis = data.path("legalBasis");
        } else if (value.has("kind")) { // a receipt-journal line of a forget scheduled, or of its cancellation
            String kind = value.path("kind").asText();
            boolean schedule = ScheduledForget.KIND.equals(kind);
            if (!schedule && !(CancelledForget.KIND.equals(kind) && !value.has("scheduleId"))) {
                throw InvalidEventException.of(where, "is a receipt-journal line of an unknown kind");
            }
            try {
                forgets.add(
                        schedule
                                ? new Entry(null, ScheduledForget.of(value), null, store)
                                : new Entry(null, null, CancelledForget.of(value), store));
            } catch (RuntimeException e) {
                throw InvalidEventException.of(where, "is not a " + kind + " line: " + e.getMessage());
            }
            return;
        } else { // an erasure receipt
            subject = value.path("subject");
            receipt = value.path("id");
            legalBasis = value.path("legalBasis");
        }
        if (!subject.isTextual() || !receipt.isTextual()) {
            throw InvalidEventException.of(
                    where,
                    "is neither an erasure receipt (with \"id\" and \"subject\") nor an $audit entry (with \"type\""
                            + " and \"data\")");
        }
        SubjectId id;
        try {
            id = SubjectId.parse(subject.asText());
        } catch (RuntimeException e) {
            throw InvalidEventException.of(where, "names a subject that is not a subject id: " + e.getMessage());
        }
        try {
            forgets.add(new Entry(new PriorForget(id, receipt.asText(), legalBasis.asText("")), null, null, store));
        } catch (InvalidEventException e) {
            throw e.at(where + ": " + e.subject());
        }
    }

    /**
     * A {@code ForgetScheduled} audit entry's schedule. Entries written before Lethe recorded a schedule's
     * id and legal basis there cannot be scheduled again: counted, to be scheduled again by hand.
     */
    private static void addSchedule(JsonNode value, String where, List<Entry> forgets, int[] skipped) {
        JsonNode data = value.path("data");
        // An entry of $erasures (`lethe read '$erasures' --json`) says when in "at", and holds its
        // schedule id in "scheduleId" or, when written before Lethe recorded one, as its event id.
        boolean erasures = "$erasures".equals(value.path("stream").asText()) && !data.has("forgetAt");
        JsonNode id = erasures && !data.has("scheduleId") ? value.path("id") : data.path("scheduleId");
        if (id.isMissingNode() || !data.has("legalBasis")) {
            skipped[1]++;
            return;
        }
        ObjectNode line = JSON.createObjectNode();
        line.set("id", id);
        line.set("subject", data.path("subject"));
        line.set("at", erasures ? data.path("at") : data.path("forgetAt"));
        line.set("legalBasis", data.path("legalBasis"));
        line.set("actor", erasures ? data.path("actor") : data.path("principal"));
        try {
            forgets.add(new Entry(null, ScheduledForget.of(line), null, null));
        } catch (RuntimeException e) {
            throw InvalidEventException.of(where, "is a ForgetScheduled entry that is not one: " + e.getMessage());
        }
    }
}
