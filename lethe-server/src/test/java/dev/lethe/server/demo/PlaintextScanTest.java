package dev.lethe.server.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's proof is only as good as its scan: planted values are found, wherever they are in a file. */
class PlaintextScanTest {
    @TempDir
    Path data;

    @Test
    void planted_values_are_found_in_every_file_under_the_directory_at_any_offset() throws Exception {
        Files.createDirectories(data.resolve("nested"));
        Files.write(data.resolve("events.db-wal"), bytes("\u0000\u0001ada@example.com\u0000"));
        Files.write(data.resolve("nested/keys.db"), bytes("prefix Rua Augusta 12"));
        Files.write(data.resolve("projections.db"), bytes("Zoë Smith")); // UTF-8, not ASCII
        Files.write(data.resolve("empty"), new byte[0]);

        PlaintextScan.Result result =
                PlaintextScan.scan(data, List.of("ada@example.com", "Rua Augusta 12", "Zoë Smith", "never-written"));

        assertThat(result.files()).isEqualTo(4);
        assertThat(result.bytes()).isEqualTo(18 + 21 + "Zoë Smith".getBytes(StandardCharsets.UTF_8).length);
        assertThat(result.hits())
                .containsExactlyInAnyOrder(
                        "ada@example.com in events.db-wal",
                        "Rua Augusta 12 in " + Path.of("nested", "keys.db"),
                        "Zoë Smith in projections.db");
    }

    @Test
    void a_value_split_or_changed_by_one_byte_is_not_a_hit() {
        byte[] content = bytes("ada@example.co m ada@example.con");
        assertThat(PlaintextScan.indexOf(content, bytes("ada@example.com"))).isNegative();
        assertThat(PlaintextScan.indexOf(bytes("xxada@example.com"), bytes("ada@example.com")))
                .isEqualTo(2);
        assertThat(PlaintextScan.indexOf(bytes("ada"), bytes("ada@example.com")))
                .isNegative();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
