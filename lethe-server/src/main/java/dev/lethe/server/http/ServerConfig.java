package dev.lethe.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.store.InvalidEventException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How {@code lethe serve} runs. Every setting has a default, may be set in a YAML config file, and is
 * overridden by an environment variable, then by a command-line flag:
 *
 * <pre>
 * host: 127.0.0.1          # LETHE_HOST       --host
 * port: 8080               # LETHE_PORT       --port
 * data: ./lethe-data       # LETHE_DATA       --data
 * masterKeyDir: /run/keys  # LETHE_MASTER_KEY_DIR  --master-key-dir  (default: the data directory)
 * pkcs11:                  # or the master key in a PKCS#11 token (an HSM), not in a keyset file
 *   library: /usr/lib/softhsm/libsofthsm2.so  # LETHE_PKCS11_LIBRARY   --pkcs11-library
 *   slot: 0                                   # LETHE_PKCS11_SLOT      --pkcs11-slot
 *   pinFile: /run/secrets/hsm-pin             # LETHE_PKCS11_PIN_FILE  --pkcs11-pin-file
 *                                             # (or the PIN itself in LETHE_PKCS11_PIN)
 * maxBodyBytes: 16777216   # LETHE_MAX_BODY_BYTES
 * tokens:                  # bearer token -> principal and role of the data policy
 *   a-long-random-token: { principal: ops, role: dpo }   # 16 characters at least
 * jwt:                     # optional: JWT bearer tokens (sub = principal, roles[0] = role)
 *   hs256Secret: …         # LETHE_JWT_SECRET; at least 32 characters
 *   rs256PublicKey: |      # PEM
 *     -----BEGIN PUBLIC KEY----- …
 *   issuer: https://idp.example.com   # checked when given
 *   audience: lethe                   # aud must name it; without it, a token with an aud is refused
 *   rolesClaim: roles
 * </pre>
 */
public record ServerConfig(
        String host,
        int port,
        Path data,
        long maxBodyBytes,
        Map<String, Principal> tokens,
        boolean demo,
        Jwt jwt,
        Path masterKeyDir,
        Pkcs11Settings pkcs11) {
    /**
     * JWT settings: an HS256 secret and/or an RS256 public key (PEM), an optional issuer, this server's
     * audience (a token's {@code aud} must name it; without one, a token that has an {@code aud} is
     * refused, as RFC 7519 §4.1.3 requires), the claim holding the roles (default {@code roles}). Empty:
     * JWTs are not accepted.
     */
    public record Jwt(String hs256Secret, String rs256PublicKeyPem, String issuer, String audience, String rolesClaim) {
        public static final Jwt NONE = new Jwt(null, null, null, null, "roles");

        public boolean enabled() {
            return hs256Secret != null || rs256PublicKeyPem != null;
        }

        /** Without the HS256 secret: says only whether there is one. */
        @Override
        public String toString() {
            return "Jwt[hs256Secret=" + (hs256Secret == null ? "none" : "(set)")
                    + ", rs256PublicKey=" + (rs256PublicKeyPem == null ? "none" : "(set)")
                    + ", issuer=" + issuer + ", audience=" + audience + ", rolesClaim=" + rolesClaim + "]";
        }
    }

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8080;
    public static final long DEFAULT_MAX_BODY_BYTES = 16L << 20;

    /** The three principals of {@code lethe serve --demo}, documented in docs/api.md. */
    public static final Map<String, Principal> DEMO_TOKENS = Map.of(
            "demo-admin-token", new Principal("demo-admin", "dpo"),
            "demo-advisor-token", new Principal("demo-advisor", "advisor"),
            "demo-analyst-token", new Principal("demo-analyst", "analyst"));

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw InvalidEventException.of("port", port + " is outside 0..65535");
        }
        if (maxBodyBytes < 1024) {
            throw InvalidEventException.of("maxBodyBytes", maxBodyBytes + " is below 1024");
        }
        tokens = Map.copyOf(tokens);
        jwt = jwt == null ? Jwt.NONE : jwt;
        pkcs11 = pkcs11 == null ? Pkcs11Settings.NONE : pkcs11;
    }

    /**
     * Without the bearer tokens (only the principals they stand for) or the JWT secret: a config may be
     * printed or logged.
     */
    @Override
    public String toString() {
        return "ServerConfig[host=" + host + ", port=" + port + ", data=" + data + ", maxBodyBytes=" + maxBodyBytes
                + ", tokens=" + tokens.size() + " for "
                + tokens.values().stream().map(Principal::name).sorted().toList()
                + ", demo=" + demo + ", jwt=" + jwt + ", masterKeyDir=" + masterKeyDir + ", pkcs11=" + pkcs11 + "]";
    }

    /**
     * The engine's options for this config: the master key in {@code masterKeyDir} or in the PKCS#11
     * token, checked (a missing PIN, a bad slot, or both places named are refused here).
     */
    public dev.lethe.sqlite.SqliteOptions storeOptions() {
        return storeOptions(masterKeyDir, pkcs11);
    }

    /** The engine's options with the master key in {@code masterKeyDir} (or null) or the token; checked. */
    public static dev.lethe.sqlite.SqliteOptions storeOptions(Path masterKeyDir, Pkcs11Settings pkcs11) {
        dev.lethe.sqlite.SqliteOptions.Pkcs11 token = pkcs11.resolve();
        if (token != null && masterKeyDir != null) {
            throw InvalidEventException.of(
                    "--pkcs11-library",
                    "and --master-key-dir (or LETHE_MASTER_KEY_DIR) both name a master key; a store has one:"
                            + " give one of them");
        }
        return dev.lethe.sqlite.SqliteOptions.DEFAULT
                .withMasterKeyDirectory(masterKeyDir)
                .withPkcs11(token);
    }

    private static final List<String> TOP_LEVEL_KEYS =
            List.of("host", "port", "data", "maxBodyBytes", "tokens", "jwt", "masterKeyDir", "pkcs11");
    private static final List<String> JWT_KEYS =
            List.of("hs256Secret", "rs256PublicKey", "issuer", "audience", "rolesClaim");

    /** Levenshtein distance: a misspelt key is within 2 of a known one; a token is not. */
    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            int[] current = new int[b.length() + 1];
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            previous = current;
        }
        return previous[b.length()];
    }

    private static void requireKnownKeys(JsonNode node, String where, List<String> known) {
        for (java.util.Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                // Named only when it reads like a setting: a bearer token that lost its indentation under
                // tokens: is a key here too, and this message goes to the service's log.
                boolean setting = name.matches("[A-Za-z][A-Za-z0-9_]{0,23}")
                        && known.stream().anyMatch(k -> editDistance(k.toLowerCase(), name.toLowerCase()) <= 2);
                throw InvalidEventException.of(
                        where,
                        (setting
                                        ? "has an unknown key '" + name + "'"
                                        : "has an unknown key (not shown: is it a token that lost its indentation"
                                                + " under tokens:?)")
                                + "; the keys are " + String.join(", ", known));
            }
        }
    }

    /** Where a setting was read from, for its error: the environment variable, else the config file's key. */
    private static String from(Map<String, String> env, String variable, String key) {
        return env.containsKey(variable) ? variable + " (environment)" : key;
    }

    /** The shortest bearer token a config file may name (the demo's are 16 characters). */
    static final int MIN_TOKEN_LENGTH = 16;

    /**
     * A setting's text, or {@code fallback} when it is absent or null; a list or mapping, or blank text, is
     * refused naming it (read as text, a list was "" — the current directory for {@code data}).
     */
    private static String setting(JsonNode parent, String key, String name, String fallback) {
        JsonNode node = parent.path(key);
        if (node.isMissingNode() || node.isNull()) {
            return fallback;
        }
        if (!node.isValueNode()) {
            throw InvalidEventException.of(name, "must be one value, not a " + (node.isArray() ? "list" : "mapping"));
        }
        String text = node.asText();
        if (text.isBlank()) {
            throw InvalidEventException.of(name, "is empty: give a value, or leave the setting out");
        }
        return text;
    }

    /** Whether a document with something in it follows (a trailing "---", as generators write, is none). */
    private static boolean anotherDocument(ObjectMapper yaml, com.fasterxml.jackson.core.JsonParser documents)
            throws IOException {
        while (documents.nextToken() != null) {
            JsonNode next = yaml.readTree(documents);
            if (next != null && !next.isMissingNode() && !next.isNull()) {
                return true;
            }
        }
        return false;
    }

    /** Reads the config file (if any) and the environment; flags are applied by the caller with withers. */
    public static ServerConfig load(Path file, Map<String, String> env) {
        JsonNode root = null;
        String text = null;
        if (file != null) {
            try {
                // A key written twice (a token listed for two principals) is a mistake, not "the last one wins".
                text = Files.readString(file);
                ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
                        .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
                try (com.fasterxml.jackson.core.JsonParser documents = yaml.createParser(text)) {
                    root = yaml.readTree(documents);
                    if (anotherDocument(yaml, documents)) {
                        // Only the first would be read: the settings after a "---" would be ignored.
                        throw InvalidEventException.of(
                                "config file", file + " holds more than one YAML document ('---'); give one");
                    }
                }
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                // Not Jackson's message as it is: it quotes the key, which may be a bearer token.
                // Nor the parser's reason: it may quote the line (a token) as it is.
                com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
                String where = at == null || at.getLineNr() < 0
                        ? ""
                        : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
                throw InvalidEventException.of(
                        "config file",
                        file + " is not valid YAML" + where + ": "
                                + (String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field")
                                        ? "a key is written twice (not shown: it may be a token); write each setting"
                                                + " and each token once"
                                        : "the reason is not shown, as it could quote a token; check the quotes,"
                                                + " brackets and indentation there"));
            } catch (IOException e) {
                throw InvalidEventException.of(
                        "config file", "cannot read " + file + ": " + dev.lethe.server.IoErrors.describe(e));
            }
        }
        JsonNode config = root == null || root.isMissingNode() ? new ObjectMapper().createObjectNode() : root;
        // A misspelt key would be ignored without a word: a typo in 'data' serves a new, empty store.
        if (!config.isObject()) {
            throw InvalidEventException.of(
                    "config file", file + " must be a mapping of settings (host, port, data, …)");
        }
        if (text != null) {
            dev.lethe.core.spi.YamlAliases.firstLine(text).ifPresent(line -> {
                throw InvalidEventException.of(
                        "config file",
                        file + " uses a YAML alias (*name) at line " + line
                                + ", which would be read as the text of its name: write the value out");
            });
        }
        requireKnownKeys(config, file == null ? "config file" : "config file " + file, TOP_LEVEL_KEYS);
        if (config.has("jwt")) {
            if (!config.get("jwt").isObject()) {
                throw InvalidEventException.of("jwt", "must be a mapping with hs256Secret or rs256PublicKey, …");
            }
            requireKnownKeys(config.get("jwt"), "jwt", JWT_KEYS);
        }
        if (config.has("tokens") && !config.get("tokens").isObject()) {
            throw InvalidEventException.of("tokens", "must be a mapping of token to {principal, role}");
        }
        String host = env.getOrDefault("LETHE_HOST", setting(config, "host", "host", DEFAULT_HOST));
        int port = parseInt(
                from(env, "LETHE_PORT", "port"),
                env.getOrDefault("LETHE_PORT", setting(config, "port", "port", String.valueOf(DEFAULT_PORT))));
        // An empty LETHE_DATA is unset here, as LETHE_MASTER_KEY_DIR is (--data wins over either; lethe serve
        // refuses an empty one); data: blank in the file is refused by setting().
        String dataEnv = env.get("LETHE_DATA");
        Path data = Path.of(
                dataEnv != null && !dataEnv.isBlank() ? dataEnv : setting(config, "data", "data", "./lethe-data"));
        long maxBody = parseLong(
                from(env, "LETHE_MAX_BODY_BYTES", "maxBodyBytes"),
                env.getOrDefault(
                        "LETHE_MAX_BODY_BYTES",
                        setting(config, "maxBodyBytes", "maxBodyBytes", String.valueOf(DEFAULT_MAX_BODY_BYTES))));
        Map<String, Principal> tokens = new LinkedHashMap<>();
        config.path("tokens").fields().forEachRemaining(e -> {
            if (e.getValue().isObject()) {
                // A misspelt 'rol' would read as a token without a role: named, as a setting is.
                requireKnownKeys(
                        e.getValue(),
                        (file == null ? "" : "config file " + file + ", ") + "tokens (the token of "
                                + e.getValue().path("principal").asText("?") + ")",
                        List.of("principal", "role"));
            }
            String where = (file == null ? "" : "config file " + file + ", ") + "tokens";
            if (!e.getValue().isObject()) {
                throw InvalidEventException.of(
                        where, "a token's value must be {principal: NAME, role: ROLE} (the token is not shown)");
            }
            String name = setting(e.getValue(), "principal", where + ": principal", null);
            if (name == null) {
                throw InvalidEventException.of(
                        where,
                        "a token has no principal (the token is not shown): give each {principal: NAME, role: ROLE}");
            }
            Principal principal;
            try {
                principal = new Principal(name, setting(e.getValue(), "role", where + ": role", null));
            } catch (InvalidEventException refused) {
                if (!"principal".equals(refused.subject())) {
                    throw refused; // not the name (a missing role): said as before
                }
                // Which token: its principal, with what cannot be seen written as \\u escapes.
                throw InvalidEventException.of(
                        where + " (the principal '" + dev.lethe.core.privacy.Invisible.escaped(name) + "')",
                        refused.getMessage() + " (rename it: earlier releases took such names)");
            }
            if (e.getKey().length() < MIN_TOKEN_LENGTH) {
                // Named by its principal: the token itself is a secret, and this message goes to the log.
                throw InvalidEventException.of(
                        "tokens",
                        "the token of " + principal.name() + " has "
                                + e.getKey().length() + " characters; a bearer"
                                + " token needs at least " + MIN_TOKEN_LENGTH
                                + " (a guessable one lets anyone in as its principal): e.g. openssl rand -hex 24");
            }
            if (!e.getKey().matches("[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?")) {
                // The header's value is trimmed, and a header carries visible ASCII: it would never match.
                throw InvalidEventException.of(
                        "tokens",
                        "the token of " + principal.name() + " starts or ends with white space, or has a control or"
                                + " non-ASCII character: no request could present it; e.g. openssl rand -hex 24");
            }
            tokens.values().stream()
                    .filter(other -> other.name().equals(principal.name())
                            && !java.util.Objects.equals(other.role(), principal.role()))
                    .findFirst()
                    .ifPresent(other -> {
                        // The audit trail names principals: one name under two roles could not tell them apart.
                        throw InvalidEventException.of(
                                "tokens",
                                "principal " + principal.name() + " has tokens for two roles (" + other.role()
                                        + ", " + principal.role() + "): give each role's token its own principal"
                                        + " name (two tokens of one principal and role, for a rollover, are fine)");
                    });
            tokens.put(e.getKey(), principal);
        });
        JsonNode jwtNode = config.path("jwt");
        String secret = env.getOrDefault("LETHE_JWT_SECRET", setting(jwtNode, "hs256Secret", "jwt.hs256Secret", null));
        if (secret != null && secret.length() < 32) {
            throw InvalidEventException.of(
                    from(env, "LETHE_JWT_SECRET", "jwt.hs256Secret"), "must be at least 32 characters");
        }
        Jwt jwt = new Jwt(
                secret,
                setting(jwtNode, "rs256PublicKey", "jwt.rs256PublicKey", null),
                setting(jwtNode, "issuer", "jwt.issuer", null),
                setting(jwtNode, "audience", "jwt.audience", null),
                setting(jwtNode, "rolesClaim", "jwt.rolesClaim", "roles"));
        String keyDir = env.getOrDefault("LETHE_MASTER_KEY_DIR", setting(config, "masterKeyDir", "masterKeyDir", null));
        JsonNode hsm = config.path("pkcs11");
        if (!hsm.isMissingNode() && !hsm.isNull()) {
            // A misspelt key would leave the store on a keyset file without a word: refused instead.
            if (!hsm.isObject()) {
                throw InvalidEventException.of("pkcs11", "must be a mapping with library, slot and pinFile");
            }
            for (java.util.Iterator<String> names = hsm.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (name.equals("pin")) {
                    throw InvalidEventException.of(
                            "pkcs11.pin", "a PIN is never written in the config file: use pinFile or LETHE_PKCS11_PIN");
                }
            }
            // An unknown key named only when it reads like a setting: a token pasted here is a key too.
            requireKnownKeys(hsm, "pkcs11", List.of("library", "slot", "pinFile"));
        }
        Pkcs11Settings pkcs11 = new Pkcs11Settings(
                        setting(hsm, "library", "pkcs11.library", null),
                        setting(hsm, "slot", "pkcs11.slot", null),
                        setting(hsm, "pinFile", "pkcs11.pinFile", null),
                        null)
                .overriddenBy(Pkcs11Settings.fromEnvironment(env));
        // The ranges the constructor checks, named by where the value came from.
        if (port < 0 || port > 65535) {
            throw InvalidEventException.of(from(env, "LETHE_PORT", "port"), port + " is outside 0..65535");
        }
        if (maxBody < 1024) {
            throw InvalidEventException.of(
                    from(env, "LETHE_MAX_BODY_BYTES", "maxBodyBytes"), maxBody + " is below 1024");
        }
        return new ServerConfig(
                host,
                port,
                data,
                maxBody,
                tokens,
                false,
                jwt,
                keyDir == null || keyDir.isBlank() ? null : Path.of(keyDir),
                pkcs11);
    }

    private static int parseInt(String name, String text) {
        long value = parseLong(name, text);
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw InvalidEventException.of(name, "'" + text + "' is out of range");
        }
        return (int) value;
    }

    private static long parseLong(String name, String text) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            boolean digits = text.trim().matches("[+-]?[0-9]+");
            throw InvalidEventException.of(
                    name, "'" + text + "' is " + (digits ? "out of range" : "not a whole number"));
        }
    }

    public ServerConfig withJwt(Jwt newJwt) {
        return new ServerConfig(host, port, data, maxBodyBytes, tokens, demo, newJwt, masterKeyDir, pkcs11);
    }

    public ServerConfig withHost(String newHost) {
        return new ServerConfig(newHost, port, data, maxBodyBytes, tokens, demo, jwt, masterKeyDir, pkcs11);
    }

    public ServerConfig withPort(int newPort) {
        return new ServerConfig(host, newPort, data, maxBodyBytes, tokens, demo, jwt, masterKeyDir, pkcs11);
    }

    public ServerConfig withMasterKeyDir(Path directory) {
        return new ServerConfig(host, port, data, maxBodyBytes, tokens, demo, jwt, directory, pkcs11);
    }

    /** With these PKCS#11 settings replacing the ones given (command-line flags over the file and environment). */
    public ServerConfig withPkcs11(Pkcs11Settings flags) {
        return new ServerConfig(
                host, port, data, maxBodyBytes, tokens, demo, jwt, masterKeyDir, pkcs11.overriddenBy(flags));
    }

    public ServerConfig withData(Path newData) {
        return new ServerConfig(host, port, newData, maxBodyBytes, tokens, demo, jwt, masterKeyDir, pkcs11);
    }

    /** Demo mode: the demo tokens are added to the configured ones. */
    public ServerConfig withDemo() {
        Map<String, Principal> all = new LinkedHashMap<>(tokens);
        all.putAll(DEMO_TOKENS);
        return new ServerConfig(host, port, data, maxBodyBytes, all, true, jwt, masterKeyDir, pkcs11);
    }
}
