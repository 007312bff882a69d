package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Which key periods an envelope of an event recorded at an instant may name (a header edited otherwise). */
class PeriodNearTest {
    private static final Instant RECORDED = Instant.parse("2026-11-29T10:00:00Z");

    @Test
    void a_period_must_reach_within_a_day_of_the_recording() {
        assertThat(PrivacyCodec.periodNear("2026", RECORDED)).isTrue();
        assertThat(PrivacyCodec.periodNear("2026-11", RECORDED)).isTrue();
        assertThat(PrivacyCodec.periodNear("2026-11-29", RECORDED)).isTrue();
        assertThat(PrivacyCodec.periodNear("2026-11-28", RECORDED))
                .as("sealed just before midnight")
                .isTrue();
        assertThat(PrivacyCodec.periodNear("2026-11-30", RECORDED))
                .as("a clock stepped back")
                .isTrue();
        assertThat(PrivacyCodec.periodNear("2026-11-27", RECORDED)).isFalse();
        assertThat(PrivacyCodec.periodNear("2026-10", RECORDED)).isFalse();
        assertThat(PrivacyCodec.periodNear("2025", RECORDED)).isFalse();
        assertThat(PrivacyCodec.periodNear("2026-10", Instant.parse("2026-11-01T05:00:00Z")))
                .as("the month before, recorded within a day of its end")
                .isTrue();
        assertThat(PrivacyCodec.periodNear("2025", Instant.parse("2026-01-01T00:00:01Z")))
                .isTrue();
    }

    @Test
    void a_period_that_is_no_period_id_is_not_near_anything() {
        for (String bad : new String[] {
            "", "26", "2026-1", "2026-13", "2026-11-31", "20x6", "2026/11", "2026-11-2x", "+2026", "2026-11-29T00"
        }) {
            assertThat(PrivacyCodec.periodNear(bad, RECORDED)).as(bad).isFalse();
        }
    }
}
