package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each event's data and metadata are cut from the request body exactly as written, whatever they are. */
class HubRawMembersTest {
    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Test
    void scalars_strings_objects_and_arrays_are_cut_exactly_without_their_neighbours() {
        String body =
                "{\"expectedVersion\":\"any\", \"events\" : [ {\"type\":\"A\",\"data\": 7 ,\"metadata\":{\"m\":-0.0}},"
                        + "{\"data\":\"a \\\"quoted\\\" é\",\"type\":\"B\"}, {\"type\":\"C\",\"data\":[1e2, true,null ] },"
                        + "{\"type\":\"D\",\"data\":1.50}, {\"type\":\"E\",\"data\":false}]}";
        List<Map<String, byte[]>> raw = Hub.rawMembers(body.getBytes(StandardCharsets.UTF_8));
        assertThat(raw).hasSize(5);
        assertThat(text(raw.get(0).get("data"))).isEqualTo("7");
        assertThat(text(raw.get(0).get("metadata"))).isEqualTo("{\"m\":-0.0}");
        assertThat(text(raw.get(1).get("data"))).isEqualTo("\"a \\\"quoted\\\" é\"");
        assertThat(text(raw.get(2).get("data"))).isEqualTo("[1e2, true,null ]");
        assertThat(text(raw.get(3).get("data"))).isEqualTo("1.50");
        assertThat(text(raw.get(4).get("data"))).isEqualTo("false");
    }

    @Test
    void a_body_not_shaped_as_an_append_gives_no_cuts() {
        assertThat(Hub.rawMembers("[1]".getBytes(StandardCharsets.UTF_8))).isNull();
        assertThat(Hub.rawMembers("{\"events\":[1,{\"data\":2}]}".getBytes(StandardCharsets.UTF_8)))
                .isNull();
        assertThat(Hub.rawMembers("{\"events\":[{\"data\":".getBytes(StandardCharsets.UTF_8)))
                .isNull();
    }
}
