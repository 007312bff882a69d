package dev.lethe.core.projection;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.memory.InMemoryEventStore;
import dev.lethe.core.privacy.PersonalValue;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.testing.LogCapture;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A fold that keeps a personal field's stored (sealed) text outside a {@link PersonalValue} — copies it, keys by it —
 * is warned of once, naming the projection and where, never the value; a fold that keeps it as a PersonalValue is not.
 */
class SealedTextInStatesTest {
    /** What a sealed field looks like as stored: the envelope's prefix, then base64url. */
    private static final String SEALED = "lethe:v1:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";

    record Copied(String owner, int sales) {}

    record Kept(PersonalValue owner, int sales) {}

    private static void sell(InMemoryEventStore store, int count) {
        for (int i = 0; i < count; i++) {
            store.append(
                    StreamId.of("customer-" + i),
                    ExpectedVersion.any(),
                    List.of(EventData.of("Sold", "{\"email\":\"" + SEALED + i + "\",\"product\":\"p\"}")));
        }
    }

    private static List<String> warningsOf(Projection<?> projection, int events) throws Exception {
        try (LogCapture log = LogCapture.of(RunningProjection.class);
                InMemoryEventStore store = new InMemoryEventStore();
                ProjectionRuntime runtime = new ProjectionRuntime(store, new InMemoryProjectionStore())) {
            sell(store, events);
            runtime.start(projection);
            assertThat(runtime.awaitPosition(projection.name(), store.headPosition(), Duration.ofSeconds(10)))
                    .isTrue();
            return log.messages().stream()
                    .filter(m -> m.contains("sealed text outside"))
                    .toList();
        }
    }

    @Test
    void a_fold_that_copies_sealed_text_is_warned_of_once_with_where_and_not_the_value() throws Exception {
        Projection<Copied> copied = Projection.perStream("copied", Copied.class, new Copied(null, 0))
                .on(
                        "Sold",
                        (state, event) ->
                                new Copied(event.data().asTree().path("email").asText(), state.sales() + 1))
                .build();
        assertThat(warningsOf(copied, 5))
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("projection 'copied'", "(at state.owner)", "PersonalValue.of(event, path)")
                .doesNotContain(SEALED);
    }

    @Test
    void a_fold_keyed_or_counting_by_sealed_text_is_warned_of_without_the_key() throws Exception {
        Projection<Integer> keyed = Projection.keyed(
                        "by-email",
                        Integer.class,
                        0,
                        event -> java.util.Optional.of(
                                event.data().asTree().path("email").asText()))
                .on("Sold", (count, event) -> count + 1)
                .build();
        assertThat(warningsOf(keyed, 3))
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("projection 'by-email'", "its states are keyed by it")
                .doesNotContain(SEALED);
        Projection<Map<String, Integer>> counted = Projection.global("per-email", mapType(), Map.<String, Integer>of())
                .on("Sold", (counts, event) -> {
                    Map<String, Integer> next = new java.util.TreeMap<>(counts);
                    next.merge(event.data().asTree().path("email").asText(), 1, Integer::sum);
                    return next;
                })
                .build();
        assertThat(warningsOf(counted, 3))
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("(as a member name in state)")
                .doesNotContain(SEALED);
    }

    @Test
    void a_state_keyed_inside_by_a_name_is_warned_of_without_the_name() throws Exception {
        // A map keyed by an unclassified owner's name: past the state's own members, names are not shown.
        Projection<Map<String, Map<String, String>>> byOwner = Projection.global(
                        "by-owner", nestedMapType(), Map.<String, Map<String, String>>of())
                .on(
                        "Sold",
                        (owners, event) -> Map.of(
                                "Ada_Lovelace",
                                Map.of(
                                        "email",
                                        event.data().asTree().path("email").asText())))
                .build();
        assertThat(warningsOf(byOwner, 2))
                .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
                .contains("(at state.…)")
                .doesNotContain("Ada")
                .doesNotContain(SEALED);
    }

    @SuppressWarnings("unchecked")
    private static Class<Map<String, Map<String, String>>> nestedMapType() {
        return (Class<Map<String, Map<String, String>>>) (Class<?>) Map.class;
    }

    @Test
    void a_fold_that_keeps_a_personal_value_is_not_warned_of() throws Exception {
        Projection<Kept> kept = Projection.perStream("kept", Kept.class, new Kept(null, 0))
                .on("Sold", (state, event) -> new Kept(PersonalValue.of(event, "email"), state.sales() + 1))
                .build();
        assertThat(warningsOf(kept, 5)).isEmpty();
    }

    @SuppressWarnings("unchecked")
    private static Class<Map<String, Integer>> mapType() {
        return (Class<Map<String, Integer>>) (Class<?>) Map.class;
    }
}
