package dev.lethe.core.privacy.policy;

import dev.lethe.core.store.InvalidEventException;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;

/**
 * How a data group's time is cut into key periods: one key per day ({@code P1D}, periods like
 * {@code 2026-11-26}), per month ({@code P1M}, {@code 2026-11}) or per year ({@code P1Y}, {@code 2026}).
 */
public enum RetentionPeriods {
    DAY,
    MONTH,
    YEAR;

    /** One period's length: a day, a month or a year. */
    public java.time.Period length() {
        return switch (this) {
            case DAY -> java.time.Period.ofDays(1);
            case MONTH -> java.time.Period.ofMonths(1);
            case YEAR -> java.time.Period.ofYears(1);
        };
    }

    static RetentionPeriods parse(String text, String where) {
        switch (text) {
            case "P1D":
                return DAY;
            case "P1M":
                return MONTH;
            case "P1Y":
                return YEAR;
            default:
                throw InvalidEventException.of(
                        where, "'" + text + "' must be P1D, P1M or P1Y (one key per day, month or year)");
        }
    }

    /**
     * The id of the period holding {@code date}.
     *
     * @throws InvalidEventException the date's year has not four digits (a clock set wrong): its period could be
     *     named, but not read back by {@link #endOf}, and so never expire, and hold up every other key's expiry
     */
    public String idOf(LocalDate date) {
        if (date.getYear() < 1000 || date.getYear() > 9999) {
            throw InvalidEventException.of(
                    "clock",
                    "reads the year " + date.getYear() + ": data keys are made per period of a four-digit year"
                            + " (1000-9999), so nothing personal can be sealed at this time; check the clock");
        }
        switch (this) {
            case DAY:
                return date.toString();
            case MONTH:
                return YearMonth.from(date).toString();
            default:
                return Integer.toString(date.getYear());
        }
    }

    /**
     * The first day after the period, read from the period id's own form ({@code 2026}, {@code 2026-11},
     * {@code 2026-11-26}), not from this granularity: a key made before the group's period changed (say
     * from P1M to P1Y) still expires when its own month's retention ends.
     */
    public LocalDate endOf(String period) {
        try {
            if (period.matches("\\d{4}")) {
                return LocalDate.of(Integer.parseInt(period) + 1, 1, 1);
            }
            if (period.matches("\\d{4}-\\d{2}")) {
                return YearMonth.parse(period).plusMonths(1).atDay(1);
            }
            return LocalDate.parse(period).plusDays(1);
        } catch (DateTimeParseException | NumberFormatException e) {
            throw InvalidEventException.of(
                    "period", "'" + period + "' is not a period id (2026, 2026-11 or 2026-11-26)");
        }
    }
}
