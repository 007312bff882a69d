package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import graphql.parser.Parser;
import org.junit.jupiter.api.Test;

class GraphQlExpansionTest {
    private static long expanded(String query) {
        return GraphQlApi.expandedFields(new Parser().parseDocument(query));
    }

    @Test
    void fields_are_counted_with_every_spread_spelt_out() {
        assertThat(expanded("{ a b { c d } }")).isEqualTo(4);
        assertThat(expanded("{ a ...F ...F } fragment F on Query { b { c } }")).isEqualTo(5);
        assertThat(expanded("{ ... on Query { a } x: a }")).isEqualTo(2);
        // Nested spreads multiply: F1 spreads F2 three times, F2 has two fields.
        assertThat(expanded("{ ...F1 } fragment F1 on Query { ...F2 ...F2 ...F2 } fragment F2 on Query { a b }"))
                .isEqualTo(6);
    }

    /**
     * Fragments {@code NAME0} … {@code NAME<depth>}, each spreading the next twice, the last {@code __typename}:
     * {@code 2^depth} fields once spelt out.
     */
    static String doubling(String name, int depth) {
        StringBuilder fragments = new StringBuilder();
        for (int i = 0; i < depth; i++) {
            fragments
                    .append(" fragment ")
                    .append(name)
                    .append(i)
                    .append(" on Query { ...")
                    .append(name)
                    .append(i + 1)
                    .append(" ...")
                    .append(name)
                    .append(i + 1)
                    .append(" }");
        }
        return fragments
                .append(" fragment ")
                .append(name)
                .append(depth)
                .append(" on Query { __typename }")
                .toString();
    }

    @Test
    void a_fragment_bomb_is_counted_without_being_spelt_out_and_capped() {
        assertThat(expanded("{ ...F0 }" + doubling("F", 60))).isEqualTo(GraphQlApi.MAX_EXPANDED_FIELDS + 1);
        // Below the limit, exact: 2^13 = 8192.
        assertThat(expanded("{ ...F0 }" + doubling("F", 13))).isEqualTo(8192);
    }

    @Test
    void unknown_and_self_spreading_fragments_count_nothing_validation_refuses_them() {
        assertThat(expanded("{ a ...Nowhere }")).isEqualTo(1);
        assertThat(expanded("{ a ...A } fragment A on Query { b ...A }")).isEqualTo(2);
    }
}
