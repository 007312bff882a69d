package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class GraphQlPeriodTest {
    @Test
    void a_period_is_a_year_month_or_day_that_exists() {
        for (String period : List.of("2026", "2026-11", "2026-11-26", "2024-02-29")) {
            assertThat(GraphQlApi.isPeriod(period)).as(period).isTrue();
        }
        for (String period :
                List.of("2026-13", "2026-02-30", "2025-02-29", "+202", "26", "2026-1", "Ada Lovelace", "")) {
            assertThat(GraphQlApi.isPeriod(period)).as(period).isFalse();
        }
    }
}
