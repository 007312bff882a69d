package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.InvalidEventException;
import org.junit.jupiter.api.Test;

class PrincipalTest {
    @Test
    void a_name_is_one_printable_line_of_at_most_256_characters() {
        assertThat(new Principal("a".repeat(Principal.MAX_NAME_CHARS), "dpo").name())
                .hasSize(256);
        assertThat(new Principal("Dora Ø'Brien <dora@example.com>", "dpo").name())
                .contains("Ø");
        assertThatThrownBy(() -> new Principal("a".repeat(257), "dpo"))
                .isInstanceOf(InvalidEventException.class)
                .hasMessage("principal: name is 257 characters long; at most 256 are allowed");
        for (String forged : new String[] {
            "dora\nSubjectForgotten", "dora\r", "dora\u0000", "dora\u2028x", "\u001b[2J", "ev\u202Eli", "do\u200Bra"
        }) {
            assertThatThrownBy(() -> new Principal(forged, "dpo"))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("control character, line separator or invisible format character");
        }
        assertThatThrownBy(() -> new Principal(" ", "dpo")).hasMessageContaining("needs a name");
        assertThatThrownBy(() -> new Principal("dora", "")).hasMessageContaining("needs a role");
    }
}
