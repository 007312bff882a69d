package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.store.InvalidEventException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the PKCS#11 settings are read and checked, without a token. */
class Pkcs11SettingsTest {
    @TempDir
    Path dir;

    @Test
    void a_pin_file_holds_the_pin_and_at_most_one_line_break() throws Exception {
        for (String text : new String[] {"1234", "1234\n", "1234\r\n"}) {
            Path file = Files.writeString(dir.resolve("pin"), text);
            assertThat(new Pkcs11Settings("lib.so", "0", file.toString(), null)
                            .resolve()
                            .pin())
                    .as(text)
                    .containsExactly('1', '2', '3', '4');
        }
        for (String text : new String[] {"1234 \n", "1234\n\n", " 1234", "12\t34", "\uFEFF1234", "  \n", "\r"}) {
            Path file = Files.writeString(dir.resolve("pin"), text);
            assertThatThrownBy(() -> new Pkcs11Settings("lib.so", "0", file.toString(), null).resolve())
                    .as(text.replace("\n", "\\n"))
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining("--pkcs11-pin-file");
        }
    }

    @Test
    void a_pin_given_where_its_file_or_the_slot_is_expected_is_never_printed() {
        assertThatThrownBy(() -> new Pkcs11Settings("lib.so", "0", "1234-secret-PIN", null).resolve())
                .hasMessageContaining("--pkcs11-pin-file: cannot read the file it names (15 characters, not shown")
                .hasMessageNotContaining("1234-secret-PIN");
        assertThat(new Pkcs11Settings("lib.so", "0", "1234-secret-PIN", null).toString())
                .doesNotContain("1234-secret-PIN");
        assertThatThrownBy(() -> new Pkcs11Settings("lib.so", "1234-secret-PIN", null, "1234").resolve())
                .hasMessageContaining("--pkcs11-slot: is not a slot id")
                .hasMessageNotContaining("1234-secret-PIN");
        // Digits past what SunPKCS11 takes as a slot: refused here, before its own message could print them.
        assertThatThrownBy(() -> new Pkcs11Settings("lib.so", "3141592653", null, "1234").resolve())
                .hasMessageContaining("--pkcs11-slot: is not a slot id")
                .hasMessageNotContaining("3141592653");
        // A name with a dot that is no file: not shown either ('pa.ss' may be the PIN).
        assertThatThrownBy(() -> new Pkcs11Settings("lib.so", "0", "pa.ss", null).resolve())
                .hasMessageNotContaining("pa.ss");
        assertThatThrownBy(() ->
                        new Pkcs11Settings("lib.so", "0", dir.resolve("absent").toString(), null).resolve())
                .as("a path is named")
                .hasMessageContaining(dir.resolve("absent").toString());
    }

    @Test
    void the_environment_pin_overrides_the_config_files_pin_file_and_a_flag_overrides_both() throws Exception {
        Path config = Files.writeString(
                dir.resolve("lethe.yaml"), "pkcs11: {library: lib.so, slot: 3, pinFile: /nonexistent/pin}\n");
        Path flagPin = Files.writeString(dir.resolve("flag-pin"), "9999\n");

        ServerConfig fromEnvironment = ServerConfig.load(config, Map.of("LETHE_PKCS11_PIN", "1234"));
        assertThat(fromEnvironment.pkcs11().resolve().pin()).containsExactly('1', '2', '3', '4');
        assertThat(fromEnvironment.pkcs11().resolve().slot()).isEqualTo(3);

        // A slot id as pkcs11-tool -L prints it, in hex, is the same slot.
        assertThat(new Pkcs11Settings("lib.so", "0x2f197538", null, "1234")
                        .resolve()
                        .slot())
                .isEqualTo(0x2f197538L);
        assertThatThrownBy(() -> new Pkcs11Settings("lib.so", "0xnothex", null, "1234").resolve())
                .hasMessageContaining("or 0x and its hex digits");
        ServerConfig flagged = fromEnvironment.withPkcs11(new Pkcs11Settings(null, "5", flagPin.toString(), null));
        assertThat(flagged.pkcs11().resolve().pin()).containsExactly('9', '9', '9', '9');
        assertThat(flagged.pkcs11().resolve().slot()).isEqualTo(5);
        // The PIN file's path (a random temporary directory, any digits) is left out of this check.
        assertThat(flagged.pkcs11().toString().replace(flagPin.toString(), "flag-pin"))
                .contains("pinFile=flag-pin")
                .doesNotContain("1234");
    }

    @Test
    void a_malformed_pkcs11_block_in_the_config_file_is_refused_not_ignored() throws Exception {
        for (String[] bad : new String[][] {
            {"pkcs11: /usr/lib/softhsm/libsofthsm2.so\n", "must be a mapping"},
            {"pkcs11: {libary: x.so, slot: 0}\n", "unknown key 'libary'"},
            {"pkcs11: {library: x.so, slot: 0, pin: 1234}\n", "a PIN is never written in the config file"}
        }) {
            Path config = Files.writeString(dir.resolve("lethe.yaml"), bad[0]);
            assertThatThrownBy(() -> ServerConfig.load(config, Map.of()))
                    .as(bad[0])
                    .isInstanceOf(InvalidEventException.class)
                    .hasMessageContaining(bad[1])
                    .hasMessageNotContaining("1234");
        }
    }
}
