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
            "dora\nSubjectForgotten",
            "dora\r",
            "dora\u0000",
            "dora\u2028x",
            "\u001b[2J",
            "ev\u202Eli",
            "do\u200Bra",
            // Characters that show nothing without being format characters: each would read as "ops".
            "ops\u034F",
            "ops\uFE0F",
            "ops\u3164",
            "ops\u2800",
            "ops\u115F",
            "o\u180Bps",
            "ops\uDB40\uDD00",
            // And those that draw as the font pleases, or as nothing: private use, unassigned, a noncharacter, the
            // musical null notehead.
            "cli\uE000",
            "ops\u0378",
            "ops\uFDD0",
            "lethe\uD834\uDD59",
            // Joiners where they join nothing: in a Latin word, at the end.
            "o\u200Cps",
            "ops\u200D",
            "\u200Dops"
        }) {
            assertThatThrownBy(() -> new Principal(forged, "dpo"))
                    .as(forged)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("control character, line separator or invisible character");
        }
        // A space of any kind around it: "ops " reads as "ops".
        for (String spaced : new String[] {"ops ", " ops", "ops\u00a0", "\u3000ops", "ops\u202F"}) {
            assertThatThrownBy(() -> new Principal(spaced, "dpo"))
                    .as(spaced)
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessage("principal: name begins or ends with a space");
        }
        assertThat(new Principal("Ada Lovelace", "dpo").name()).isEqualTo("Ada Lovelace");
        // Joiners and selectors doing their work in a name are kept: a Persian name's ZWNJ, an emoji's variation
        // selector, a family emoji's ZWJs, a Mongolian free variation selector, a CJK ideographic variation.
        for (String name : new String[] {
            "\u0639\u0644\u06CC\u200C\u0631\u0636\u0627",
            "ops \u2764\uFE0F",
            "\uD83D\uDC68\u200D\uD83D\uDC69\u200D\uD83D\uDC67",
            "\u1820\u182E\u1824\u1837\u180B",
            "\u845B\uDB40\uDD00"
        }) {
            assertThat(new Principal(name, "dpo").name()).as(name).isEqualTo(name);
        }
        // Visible combining marks and other scripts are names like any other.
        assertThat(new Principal("Jos\u0065\u0301", "dpo").name()).isEqualTo("Jos\u0065\u0301");
        assertThat(new Principal("\uD55C\uAE00", "dpo").name()).hasSize(2);
        assertThatThrownBy(() -> new Principal(" ", "dpo")).hasMessageContaining("needs a name");
        assertThatThrownBy(() -> new Principal("dora", "")).hasMessageContaining("needs a role");
    }
}
