package dev.lethe.core.store;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Instants as ISO-8601 text of one width, as Lethe prints them everywhere (the command line, HTTP,
 * exports): six digits of fraction (the SQLite store keeps microseconds), nine when the instant has
 * nanoseconds. {@link Instant#toString} drops trailing zeros ({@code .123Z} beside {@code .123456Z}), so
 * the texts of one log would not sort as their instants do. Years outside 0000–9999 as {@code toString}
 * writes them.
 */
public final class InstantText {
    private InstantText() {}

    private static final DateTimeFormatter MICROS = DateTimeFormatter.ofPattern(
                    "uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter NANOS = DateTimeFormatter.ofPattern(
                    "uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'", Locale.ROOT)
            .withZone(ZoneOffset.UTC);

    /** {@code instant} as text of one width (see the class). */
    public static String of(Instant instant) {
        // 0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z
        if (instant.getEpochSecond() < -62_167_219_200L || instant.getEpochSecond() > 253_402_300_799L) {
            return instant.toString();
        }
        return (instant.getNano() % 1000 == 0 ? MICROS : NANOS).format(instant);
    }
}
