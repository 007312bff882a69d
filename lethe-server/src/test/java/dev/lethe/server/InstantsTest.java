package dev.lethe.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.InvalidEventException;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class InstantsTest {
    @Test
    void a_date_is_the_end_of_its_day_for_reads_and_the_start_of_it_for_deadlines() {
        assertThat(Instants.parse("--as-of", "2026-10-31")).isEqualTo(Instant.parse("2026-10-31T23:59:59.999999999Z"));
        assertThat(Instants.parseDeadline("--at", "2027-01-01")).isEqualTo(Instant.parse("2027-01-01T00:00:00Z"));
        assertThat(Instants.parseDeadline("--at", "2027-01-01T10:00:00+01:00"))
                .isEqualTo(Instant.parse("2027-01-01T09:00:00Z"));
        assertThat(Instants.parse("--now", "+999999999-12-31"))
                .as("its end is past the calendar")
                .isEqualTo(Instant.MAX);
        assertThat(Instants.parseDeadline("--at", "+999999999-12-31"))
                .isEqualTo(Instant.parse("+999999999-12-31T00:00:00Z"));
        assertThatThrownBy(() -> Instants.parseDeadline("--at", "next week"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("--at");
    }

    @Test
    void instants_print_at_one_width_so_that_their_texts_sort_as_they_do() {
        assertThat(Instants.format(Instant.parse("2026-11-28T01:05:59.123Z"))).isEqualTo("2026-11-28T01:05:59.123000Z");
        assertThat(Instants.format(Instant.parse("2026-11-28T01:05:59Z"))).isEqualTo("2026-11-28T01:05:59.000000Z");
        assertThat(Instants.format(Instant.parse("2026-11-28T01:05:59.123456Z")))
                .isEqualTo("2026-11-28T01:05:59.123456Z");
        assertThat(Instants.format(Instant.parse("2026-11-28T01:05:59.123456789Z")))
                .isEqualTo("2026-11-28T01:05:59.123456789Z");
        assertThat(Instant.parse(Instants.format(Instant.parse("2026-11-28T01:05:59.1Z"))))
                .isEqualTo(Instant.parse("2026-11-28T01:05:59.1Z"));
        assertThat(Instants.format(Instant.MAX)).isEqualTo(Instant.MAX.toString());
    }
}
