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
}
