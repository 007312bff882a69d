package dev.lethe.server;

import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.RecordedEvent;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * A place in the log that can be checked: {@code position:eventId:recordedSeconds.nanos}, the event read
 * last. Going on after it ({@code GET /v1/events?after=}, {@code lethe read --all --after}, {@code lethe
 * tail --after}, an SSE {@code Last-Event-ID}) first checks that the log still holds that event there,
 * recorded at that instant: a log restored from an older copy and appended to since, or another store,
 * holds other events at those positions, and a bare position would go on among them without a word.
 */
public final class LogCursor {
    private static final Pattern UUID_TEXT =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern INSTANT_TEXT = Pattern.compile("-?[0-9]{1,18}\\.[0-9]{9}");

    private LogCursor() {}

    /** The cursor of {@code event}. */
    public static String of(RecordedEvent event) {
        // Locale.ROOT: a default locale with other digits (fa, ar-EG) would write them into the cursor.
        return event.position() + ":" + event.id() + ":" + event.recordedAt().getEpochSecond() + "."
                + String.format(Locale.ROOT, "%09d", event.recordedAt().getNano());
    }

    /**
     * The log holds no longer the event a cursor names, at its position (or has no event there): it was
     * restored from an older copy, or is another store. Not an input error: a conflict with the log.
     */
    public static final class Mismatch extends dev.lethe.core.store.LetheException {
        public Mismatch(String message) {
            super(message);
        }

        @Override
        public boolean isTransient() {
            return false;
        }
    }

    /**
     * Checks a whole cursor ({@code what} names it in errors: "after", "--after") against {@code store};
     * returns the position to go on from (the cursor's + 1). {@code then} says what to do when the log
     * does not hold the event ("read on with ?from=").
     *
     * @throws InvalidEventException when the text is not a cursor
     * @throws Mismatch when the log does not hold that event there
     */
    public static long next(EventStore store, String what, String text, String then) {
        int colon = text.indexOf(':');
        if (colon < 0) { // "position:event id" (no instant) is checked too, by its id only
            throw InvalidEventException.of(
                    what,
                    "'" + text + "' is not a cursor (position:event id:recorded instant, as the last event read gives"
                            + " it); for a bare position, use from (--from)");
        }
        long position = position(what, text.substring(0, colon));
        if (position < 0) {
            throw InvalidEventException.of(what, "names position " + position + ", which is not a position");
        }
        check(store, what, -1, text.substring(colon + 1), -1, then); // its form first: a malformed one is a 400
        long head = store.headPosition();
        if (position > head) {
            throw new Mismatch(what + " names position " + position + ", which this log (head " + head
                    + ") does not hold: a cursor from another store, or this log was restored from an older copy; "
                    + then + " at most " + (head + 1) + " once you know where the histories part");
        }
        check(store, what, position, text.substring(colon + 1), head, then);
        return position + 1;
    }

    /** A cursor's position as a number. */
    public static long position(String what, String text) {
        try {
            if (!text.matches("-?[0-9]{1,19}")) { // ASCII digits only: parseLong takes other scripts' too
                throw new NumberFormatException();
            }
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw InvalidEventException.of(what, "'" + text + "' is not a whole number");
        }
    }

    /**
     * Checks that the log holds, at {@code position}, the event {@code witness} names: "eventId" or
     * "eventId:recordedSeconds.nanos". A negative position (before the log) holds nothing to check.
     */
    public static void check(EventStore store, String what, long position, String witness, long head, String then) {
        int colon = witness.indexOf(':');
        String eventId = colon < 0 ? witness : witness.substring(0, colon);
        if (!UUID_TEXT.matcher(eventId).matches()) {
            throw InvalidEventException.of(what, "'" + eventId + "' after the ':' is not an event id (a UUID)");
        }
        UUID id = UUID.fromString(eventId);
        String recorded = colon < 0 ? null : witness.substring(colon + 1);
        Instant recordedAt = recorded == null ? null : instant(what, recorded);
        if (position < 0) {
            return;
        }
        List<RecordedEvent> at = store.readAll(position, 1);
        boolean there = !at.isEmpty() && at.get(0).position() == position;
        boolean holds = there
                && at.get(0).id().equals(id)
                && (recordedAt == null || recordedAt.equals(at.get(0).recordedAt()));
        if (!holds) {
            throw new Mismatch(what + " names event " + id + " at position " + position + ", but this log holds "
                    + (!there
                            ? "no event"
                            : at.get(0).id().equals(id)
                                    ? "an event of that id recorded at another instant"
                                    : "another event")
                    + " there: it was restored from an older copy (and appended to since), or is another store."
                    + " Resuming by position would skip the events now in between. Find where the two histories part"
                    + " (GET /v1/events?from=…, lethe read --all --from …; head position " + head + "), then " + then
                    + " the position where they part");
        }
    }

    /**
     * A cursor's recorded instant: "seconds.nanoseconds" as cursors write it, or an ISO-8601 instant as
     * events print their {@code recordedAt} (so that a cursor can be made from a JSON line).
     */
    private static Instant instant(String what, String recorded) {
        if (INSTANT_TEXT.matcher(recorded).matches()) {
            int dot = recorded.indexOf('.');
            try {
                return Instant.ofEpochSecond(
                        Long.parseLong(recorded.substring(0, dot)), Integer.parseInt(recorded.substring(dot + 1)));
            } catch (java.time.DateTimeException e) {
                throw InvalidEventException.of(what, "'" + recorded + "' after the event id is past the calendar");
            }
        }
        try {
            return Instant.parse(recorded);
        } catch (java.time.format.DateTimeParseException e) {
            throw InvalidEventException.of(
                    what,
                    "'" + recorded + "' after the event id is not seconds.nanoseconds (nor an instant such as"
                            + " 2026-11-27T10:15:30.123456Z)");
        }
    }
}
