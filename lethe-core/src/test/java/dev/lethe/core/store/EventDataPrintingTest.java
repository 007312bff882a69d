package dev.lethe.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class EventDataPrintingTest {
    @Test
    void an_event_to_append_prints_its_type_and_sizes_but_not_its_plaintext() {
        EventData event = EventData.of("CustomerRegistered", "{\"email\":\"ada@example.com\"}")
                .withMetadata(Json.parse("{\"by\":\"Ada Lovelace\"}"));
        assertThat(event.toString())
                .contains("type=CustomerRegistered", "data not printed (27 bytes)", "metadata 21 bytes")
                .doesNotContain("ada@example.com", "Ada Lovelace");
    }

    record Born(String name, java.time.LocalDate dateOfBirth, java.time.Instant at) {}

    @Test
    void a_record_with_java_time_values_becomes_json_with_iso_text() {
        assertThat(Json.of(new Born("x", java.time.LocalDate.of(1815, 12, 10), java.time.Instant.EPOCH))
                        .toString())
                .isEqualTo("{\"name\":\"x\",\"dateOfBirth\":\"1815-12-10\",\"at\":\"1970-01-01T00:00:00Z\"}");
    }
}
