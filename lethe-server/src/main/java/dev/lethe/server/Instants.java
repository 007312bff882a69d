package dev.lethe.server;

import dev.lethe.core.store.InvalidEventException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;

/** Parses the instants the command line (and the HTTP API) accept: {@code --as-of}, {@code --now}, {@code --at}. */
public final class Instants {
    private Instants() {}

    /**
     * Says on {@code err} when an {@code --as-of} instant is in the future: the answer is the state as of now,
     * which appends until then may still change (the same command later gives another answer).
     */
    public static void noteIfFuture(java.io.PrintWriter err, String option, Instant at, java.time.Clock clock) {
        Instant now = clock.instant();
        if (at.isAfter(now)) {
            err.println("note: " + option + " " + format(at) + " is in the future (now " + format(now)
                    + "): this is the state as of now, which appends until then may change");
        }
    }

    /** An instant as ISO-8601 text of one width: {@link dev.lethe.core.store.InstantText#of}. */
    public static String format(Instant instant) {
        return dev.lethe.core.store.InstantText.of(instant);
    }

    /**
     * Like {@link #parse}, but a date means the start of that day in UTC: a deadline ("forget on
     * 2027-01-01") is met at the day's first instant, not at its last.
     */
    public static Instant parseDeadline(String option, String text) {
        LocalDate date;
        try {
            date = LocalDate.parse(text);
        } catch (DateTimeParseException notDate) {
            return parse(option, text);
        }
        return date.atStartOfDay().toInstant(ZoneOffset.UTC);
    }

    /**
     * An ISO-8601 instant ({@code 2026-11-26T10:15:30Z}), a date-time with an offset
     * ({@code 2026-11-26T11:15:30+01:00}), or a date ({@code 2026-10-31}), which means the end of that
     * day in UTC: everything recorded on that day is included.
     */
    public static Instant parse(String option, String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException notInstant) {
            try {
                return OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException notOffset) {
                LocalDate date;
                try {
                    date = LocalDate.parse(text);
                } catch (DateTimeParseException notDate) {
                    throw InvalidEventException.of(
                            option,
                            "'" + text + "' is not an instant (2026-11-26T10:15:30Z), a date-time with offset"
                                    + " (2026-11-26T11:15:30+01:00) or a date (2026-10-31)");
                }
                if (date.equals(LocalDate.MAX)) {
                    // Its end is past the last instant Lethe can name.
                    return Instant.MAX;
                }
                return date.plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC).minusNanos(1);
            }
        }
    }
}
