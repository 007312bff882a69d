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

    record Envelope(String kind, Json payload) {}

    record Marked(
            @dev.lethe.core.privacy.schema.PersonalData(group = "contact")
            String email) {}

    @Test
    void a_json_given_to_json_of_or_inside_a_record_is_its_own_json_not_jackson_s_view_of_a_bean() {
        Json data = Json.parse("{\"amount\": 1.50, \"tags\": [\"a\"]}");
        assertThat(Json.of(data)).isSameAs(data);
        assertThat(Json.of(new Envelope("copy", data)).toString())
                .isEqualTo("{\"kind\":\"copy\",\"payload\":{\"amount\": 1.50, \"tags\": [\"a\"]}}");
        // Its marks could not follow it into the outer value: refused, not written past the record check.
        Json marked = Json.of(new Marked("ada@example.com"));
        assertThat(marked.writtenMarks()).isNotEmpty();
        assertThat(Json.of(marked)).isSameAs(marked);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Json.of(new Envelope("copy", marked)))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("cannot be written inside another value")
                .hasMessageNotContaining("ada@example.com");
    }
}
