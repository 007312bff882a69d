package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A loaded config can be printed without giving away its secrets; a misspelt key is refused. */
class ServerConfigTest {
    @TempDir
    Path dir;

    @Test
    void to_string_names_the_principals_but_not_the_bearer_tokens_or_the_jwt_secret() throws Exception {
        Path config = Files.writeString(dir.resolve("lethe.yaml"), """
                tokens:
                  tok-7f3a9c-bearer: { principal: ops, role: dpo }
                jwt:
                  hs256Secret: sec-0123456789abcdef0123456789abcdef
                """);

        ServerConfig loaded = ServerConfig.load(config, Map.of());

        assertThat(loaded.tokens()).containsKey("tok-7f3a9c-bearer");
        assertThat(loaded.jwt().hs256Secret()).startsWith("sec-");
        assertThat(loaded.toString())
                .contains("ops")
                .contains("hs256Secret=(set)")
                .doesNotContain("tok-7f3a9c")
                .doesNotContain("sec-0123");
        assertThat(loaded.withDemo().toString()).doesNotContain("demo-admin-token");
    }

    @Test
    void a_misspelt_or_unknown_key_is_refused_naming_it_and_the_known_ones() throws Exception {
        for (String[] bad : new String[][] {
            {"host: 127.0.0.1\ndta: /var/lib/lethe\n", "bad.yaml: has an unknown key 'dta'"},
            {
                "tokens:\n  0123456789abcdef0123: { principal: dora, rol: dpo }\n",
                "tokens (the token of dora): has an unknown key 'rol'; the keys are principal, role"
            },
            {"jwt:\n  hs256secret: 0123456789abcdef0123456789abcdef\n", "jwt: has an unknown key 'hs256secret'"},
            // A principal an earlier release took: which token, with what cannot be seen escaped.
            {
                "tokens:\n  0123456789abcdef0123: { principal: \"ops\\u3164\", role: dpo }\n",
                "tokens (the principal 'ops\\u3164'): principal: name contains a control character"
            },
            {
                "tokens:\n  0123456789abcdef0123: { principal: \"ops \", role: dpo }\n",
                "tokens (the principal 'ops\\u0020'): principal: name begins or ends with a space (rename it"
            },
            // A token without a role: said as such, not as a name to rename.
            {"tokens:\n  0123456789abcdef0123: { principal: dora }\n", "principal dora: needs a role"},
            {"- a\n- b\n", "must be a mapping of settings"},
            {"tokens: [a, b]\n", "tokens: must be a mapping"},
            // Read as text, a list was "" (data: the current directory), an alias the text of its name.
            {"data: [a]\n", "data: must be one value, not a list"},
            {"host: \"\"\n", "host: is empty"},
            {"jwt:\n  issuer: {a: b}\n", "jwt.issuer: must be one value, not a mapping"},
            {"host: &h 127.0.0.1\nbind: *h\n", "uses a YAML alias (*name) at line 2"},
            {"port: 1\n---\nport: 2\n", "holds more than one YAML document"},
            {"port: 99999999999\n", "port: '99999999999' is out of range"},
            {"port: 80.5\n", "port: '80.5' is not a whole number"},
            {"tokens:\n  0123456789abcdef0123: { role: dpo }\n", "bad.yaml, tokens: a token has no principal"}
        }) {
            Path config = Files.writeString(dir.resolve("bad.yaml"), bad[0]);
            assertThatThrownBy(() -> ServerConfig.load(config, Map.of()))
                    .as(bad[0])
                    .hasMessageContaining(bad[1]);
        }
        assertThatThrownBy(
                        () -> ServerConfig.load(Files.writeString(dir.resolve("bad.yaml"), "prot: 9000\n"), Map.of()))
                .hasMessageContaining("config file " + dir.resolve("bad.yaml") + ": has an unknown key 'prot'")
                .hasMessageContaining("the keys are host, port, data");
        // A token that lost its indentation under tokens: is not repeated in the error (it goes to a log).
        assertThatThrownBy(() -> ServerConfig.load(
                        Files.writeString(
                                dir.resolve("bad.yaml"),
                                "tokens:\n\"s3cr3t-0a1b2c3d4e5f6a7b8c9d\": { principal: ops, role: dpo }\n"),
                        Map.of()))
                .hasMessageContaining("not shown")
                .hasMessageNotContaining("s3cr3t");
        assertThatThrownBy(() -> ServerConfig.load(
                        Files.writeString(
                                dir.resolve("bad.yaml"), "tokens:\nadminToken2026: { principal: ops, role: dpo }\n"),
                        Map.of()))
                .as("short and setting-like, but no misspelling of a setting")
                .hasMessageNotContaining("adminToken2026");
    }

    @Test
    void a_trailing_document_marker_is_no_second_document() throws Exception {
        assertThat(ServerConfig.load(Files.writeString(dir.resolve("ends.yaml"), "port: 18799\n---\n"), Map.of())
                        .port())
                .isEqualTo(18799);
    }

    @Test
    void a_bad_setting_from_the_environment_is_named_by_its_variable() {
        assertThat(ServerConfig.load(null, Map.of("LETHE_DATA", "")).data())
                .as("empty is unset, as for LETHE_MASTER_KEY_DIR")
                .isEqualTo(java.nio.file.Path.of("./lethe-data"));
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("LETHE_PORT", "notaport")))
                .hasMessageContaining("LETHE_PORT (environment)");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("LETHE_JWT_SECRET", "short")))
                .hasMessageContaining("LETHE_JWT_SECRET (environment): must be at least 32 characters");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("LETHE_MAX_BODY_BYTES", "lots")))
                .hasMessageContaining("LETHE_MAX_BODY_BYTES (environment)");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("LETHE_PORT", "99999")))
                .hasMessageContaining("LETHE_PORT (environment): 99999 is outside 0..65535");
        assertThatThrownBy(() -> ServerConfig.load(null, Map.of("LETHE_MAX_BODY_BYTES", "-5")))
                .hasMessageContaining("LETHE_MAX_BODY_BYTES (environment): -5 is below 1024");
    }

    @Test
    void a_token_written_twice_or_too_short_is_refused_without_showing_it() throws Exception {
        // Listed for two principals: the last one won, and the audit trail named the wrong person.
        assertThatThrownBy(() -> ServerConfig.load(
                        Files.writeString(
                                dir.resolve("twice.yaml"),
                                "tokens:\n  tok-dpo-0123456789abcdef: { principal: dora, role: dpo }\n"
                                        + "  tok-dpo-0123456789abcdef: { principal: ann, role: advisor }\n"),
                        Map.of()))
                .hasMessageContaining("a key is written twice")
                .hasMessageNotContaining("tok-dpo");
        assertThatThrownBy(() -> ServerConfig.load(
                        Files.writeString(dir.resolve("short.yaml"), "tokens:\n  xq7: { principal: ops, role: dpo }\n"),
                        Map.of()))
                .hasMessageContaining("the token of ops has 3 characters", "at least 16")
                .hasMessageNotContaining("xq7");
        // A space no request can send (the header is trimmed), or a character a bearer token cannot carry.
        for (String token :
                new String[] {"\"                \"", "\" padded-token-0123456789\"", "\"tok\u00e9n-0123456789abcdef\""
                }) {
            assertThatThrownBy(() -> ServerConfig.load(
                            Files.writeString(
                                    dir.resolve("spaced.yaml"),
                                    "tokens:\n  " + token + ": { principal: ops, role: dpo }\n"),
                            Map.of()))
                    .as(token)
                    .hasMessageContaining("the token of ops starts or ends with white space, or has a control or"
                            + " non-ASCII character")
                    .hasMessageNotContaining("padded-token");
        }
        // What a password generator writes is fine: a request presents it as it is.
        assertThat(ServerConfig.load(
                                Files.writeString(
                                        dir.resolve("generated.yaml"),
                                        "tokens:\n  \"Xk9!pL#4qR$7vT%2w Z@8\": { principal: dora, role: dpo }\n"),
                                Map.of())
                        .tokens())
                .containsKey("Xk9!pL#4qR$7vT%2w Z@8");
        // One principal under two roles: the audit trail could not tell which acted.
        assertThatThrownBy(() -> ServerConfig.load(
                        Files.writeString(
                                dir.resolve("two-roles.yaml"),
                                "tokens:\n  tok-dpo-0123456789abcdef: { principal: dora, role: dpo }\n"
                                        + "  tok-adv-0123456789abcdef: { principal: dora, role: advisor }\n"),
                        Map.of()))
                .hasMessageContaining("principal dora has tokens for two roles (dpo, advisor)")
                .hasMessageNotContaining("tok-");
        // Two tokens of one principal and role (a rollover) are fine.
        assertThat(ServerConfig.load(
                                Files.writeString(
                                        dir.resolve("rollover.yaml"),
                                        "tokens:\n  tok-old-0123456789abcdef: { principal: dora, role: dpo }\n"
                                                + "  tok-new-0123456789abcdef: { principal: dora, role: dpo }\n"),
                                Map.of())
                        .tokens())
                .hasSize(2);
        // A syntax error: the parser's snippet would quote the line, token and all.
        assertThatThrownBy(() -> ServerConfig.load(
                        Files.writeString(
                                dir.resolve("broken.yaml"),
                                "tokens:\n  supersecrettoken-BBBB: { principal: ops, role: dpo\n"),
                        Map.of()))
                .hasMessageContaining("is not valid YAML at line")
                .hasMessageNotContaining("supersecrettoken");
    }
}
