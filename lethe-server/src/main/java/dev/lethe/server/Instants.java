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

    private static final java.time.format.DateTimeFormatter MICROS = java.time.format.DateTimeFormatter.ofPattern(
                    "uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'", java.util.Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final java.time.format.DateTimeFormatter NANOS = java.time.format.DateTimeFormatter.ofPattern(
                    "uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'", java.util.Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    /**
     * An instant as ISO-8601 text of one width: six digits of fraction (the SQLite store keeps
     * microseconds), nine when it has nanoseconds. {@link Instant#toString} drops trailing zeros
     * ({@code .123Z} beside {@code .123456Z}), so texts of one log would not sort as their instants do.
     * Years outside 0000–9999 as {@code toString} writes them.
     */
    public static String format(Instant instant) {
        // 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z
        if (instant.getEpochSecond() < -62_167_219_200L || instant.getEpochSecond() > 253_402_300_799L) {
            return instant.toString();
        }
        return (instant.getNano() % 1000 == 0 ? MICROS : NANOS).format(instant);
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
