package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A loaded config can be printed without giving away its secrets. */
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
}
