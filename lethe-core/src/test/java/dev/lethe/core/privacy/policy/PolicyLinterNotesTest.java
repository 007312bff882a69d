package dev.lethe.core.privacy.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** What a free-text value (metadata, an undeclared member, a legal basis) is checked for. */
class PolicyLinterNotesTest {
    /** The pattern the one-pass search stands for. */
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[A-Za-z]{2,}");

    @Test
    void the_one_pass_address_search_finds_what_the_pattern_finds() {
        for (String text : new String[] {
            "ada@example.org",
            "call ada@example.org now",
            "@example.org",
            "ada@",
            "ada@.org",
            "ada@x.o",
            "ada@x.org",
            "a@b.cd",
            "a@@b.cd",
            "a@b@c.de",
            "a @b.cd",
            "a@b .cd",
            "a@b.c1",
            "x.y@z.co.uk",
            "a@b..cd",
            "a\t@b.cd",
            "a@b\n.cd",
            "mail: a@b.cd.",
            "a@b.cd@e",
            "",
            "@",
            "no at sign",
            "a@bcd",
            "a@b.c"
        }) {
            assertThat(PolicyLinter.holdsEmail(text))
                    .as(text)
                    .isEqualTo(EMAIL.matcher(text).find());
        }
        Random random = new Random(42);
        String alphabet = "ab.@ \t1Z-";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder text = new StringBuilder();
            for (int n = random.nextInt(14); n > 0; n--) {
                text.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            assertThat(PolicyLinter.holdsEmail(text.toString()))
                    .as("'" + text + "'")
                    .isEqualTo(EMAIL.matcher(text).find());
        }
    }

    @Test
    void a_long_value_without_an_address_is_read_once_not_once_per_position() {
        // The pattern's search took minutes over 600 KB of one letter (an HTTP append of it timed out): quadratic.
        assertThat(PolicyLinter.personalDataInNote("x".repeat(600 * 1024))).isEmpty();
        assertThat(PolicyLinter.personalDataInNote("x".repeat(600 * 1024) + " ada@example.org"))
                .contains("what looks like an e-mail address");
        assertThat(PolicyLinter.personalDataInNote("a@" + "x".repeat(600 * 1024)))
                .isEmpty();
    }
}
