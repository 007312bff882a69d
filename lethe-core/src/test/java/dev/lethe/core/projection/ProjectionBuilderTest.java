package dev.lethe.core.projection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.InvalidEventException;
import org.junit.jupiter.api.Test;

/** A projection built wrong is refused when it is built, naming the part, not when it first runs. */
class ProjectionBuilderTest {
    @Test
    void a_bad_category_a_missing_state_type_or_fold_is_refused_naming_it() {
        assertThatThrownBy(() -> Projection.perStream("p", Integer.class, 0).category("bad cat!"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageStartingWith("category:")
                .hasMessageContaining("U+0020 at index 3");
        assertThatThrownBy(() -> Projection.perStream("p", Integer.class, 0).category("order-lines"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("must not contain '-'");
        assertThatThrownBy(() -> Projection.perStream("p", null, 0))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("projection p: needs its state's type");
        assertThatThrownBy(() -> Projection.perStream("p", Integer.class, null))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("projection p: needs an initial state");
        assertThatThrownBy(() -> Projection.perStream("p", Integer.class, 0).on(null, (s, e) -> s))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("the type is missing");
        assertThatThrownBy(() -> Projection.perStream("p", Integer.class, 0).on("A", null))
                .isInstanceOf(InvalidEventException.class)
                .hasMessageContaining("the fold is missing");
        assertThat(Projection.perStream("p", Integer.class, 0)
                        .category("order")
                        .on("A", (s, e) -> s + 1)
                        .build()
                        .category())
                .contains("order");
    }

    record ByEmail(java.util.Map<String, java.util.List<String>> firstOrder) {}

    record Sum(long total) {}

    record ByEmailNowASum(Sum firstOrder) {}

    @Test
    void a_map_that_became_a_record_is_not_named_by_its_keys() {
        java.io.IOException failure = null;
        try {
            new com.fasterxml.jackson.databind.ObjectMapper()
                    .readValue("{\"firstOrder\":{\"ada@example.com\":3}}", ByEmailNowASum.class);
        } catch (java.io.IOException e) {
            failure = e;
        }
        org.assertj.core.api.Assertions.assertThat(failure).isNotNull();
        org.assertj.core.api.Assertions.assertThat(
                        ProjectionRuntime.unreadableState("orders", ByEmailNowASum.class, failure)
                                .getMessage())
                .contains("at 'firstOrder.{…}'")
                .doesNotContain("ada@");
    }

    @Test
    void an_unreadable_state_names_its_member_but_never_a_maps_key() {
        java.io.IOException failure = null;
        try {
            new com.fasterxml.jackson.databind.ObjectMapper()
                    .readValue("{\"firstOrder\":{\"ada@example.com\":{\"x\":1}}}", ByEmail.class);
        } catch (java.io.IOException e) {
            failure = e;
        }
        org.assertj.core.api.Assertions.assertThat(failure).isNotNull();
        org.assertj.core.api.Assertions.assertThat(ProjectionRuntime.unreadableState("orders", ByEmail.class, failure)
                        .getMessage())
                .contains("projection 'orders'", "does not read as ByEmail at 'firstOrder.{…}'")
                .doesNotContain("ada@");
    }
}
