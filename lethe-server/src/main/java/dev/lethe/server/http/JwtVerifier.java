package dev.lethe.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.Principal;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies JSON Web Tokens signed with HS256 (a shared secret) or RS256 (an RSA public key) and maps
 * them to a principal: {@code sub} is the name, the first entry of the roles claim (an array or a
 * string) the role. {@code exp} and {@code nbf} are enforced when present; {@code iss} when configured;
 * {@code aud} must name the configured audience, and a token with an {@code aud} is refused when none is
 * configured (RFC 7519 §4.1.3: a token meant for another service is not one for this server).
 * Only the algorithm configured for a token's {@code alg} is accepted (never {@code none}).
 */
final class JwtVerifier {
    private static final Base64.Decoder URL = Base64.getUrlDecoder();

    private final byte[] hs256Secret;
    private final PublicKey rs256Key;
    private final String issuer;
    private final String audience;
    private final String rolesClaim;
    private final Clock clock;

    JwtVerifier(ServerConfig.Jwt config, Clock clock) {
        this.hs256Secret =
                config.hs256Secret() == null ? null : config.hs256Secret().getBytes(StandardCharsets.UTF_8);
        this.rs256Key = config.rs256PublicKeyPem() == null ? null : publicKey(config.rs256PublicKeyPem());
        this.issuer = config.issuer();
        this.audience = config.audience();
        this.rolesClaim = config.rolesClaim();
        this.clock = clock;
    }

    static boolean looksLikeJwt(String token) {
        return token.chars().filter(c -> c == '.').count() == 2;
    }

    Principal verify(String token) {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw ApiException.unauthorized("malformed JWT");
        }
        JsonNode header = json(parts[0], "header");
        JsonNode claims = json(parts[1], "claims");
        byte[] signed = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
        byte[] signature = decode(parts[2], "signature");
        String alg = header.path("alg").asText("");
        boolean valid;
        try {
            if (alg.equals("HS256") && hs256Secret != null) {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(hs256Secret, "HmacSHA256"));
                valid = MessageDigest.isEqual(mac.doFinal(signed), signature);
            } else if (alg.equals("RS256") && rs256Key != null) {
                Signature rsa = Signature.getInstance("SHA256withRSA");
                rsa.initVerify(rs256Key);
                rsa.update(signed);
                valid = rsa.verify(signature);
            } else {
                // Named only when it reads like an algorithm: the header is the caller's text, of any length.
                throw ApiException.unauthorized("JWT algorithm "
                        + (alg.matches("[A-Za-z0-9_+-]{1,16}") ? "'" + alg + "'" : "(not shown)")
                        + " is not accepted by this server");
            }
        } catch (GeneralSecurityException e) {
            valid = false;
        }
        if (!valid) {
            throw ApiException.unauthorized("JWT signature does not verify");
        }
        if (header.has("crit")) {
            // RFC 7515 §4.1.11: the extensions it names must be understood, and this server understands none.
            throw ApiException.unauthorized("JWT header has 'crit': this server understands no critical extension");
        }
        long now = clock.instant().getEpochSecond();
        for (String time : new String[] {"exp", "nbf"}) {
            if (claims.has(time) && !claims.get(time).isNumber()) {
                throw ApiException.unauthorized("JWT '" + time + "' is not a number of seconds (NumericDate)");
            }
        }
        if (claims.has("exp") && seconds(claims.get("exp")) <= now) {
            throw ApiException.unauthorized("JWT has expired");
        }
        if (claims.has("nbf") && seconds(claims.get("nbf")) > now) {
            throw ApiException.unauthorized("JWT is not valid yet");
        }
        if (issuer != null && !issuer.equals(claims.path("iss").asText(null))) {
            throw ApiException.unauthorized("JWT issuer is not " + issuer);
        }
        checkAudience(claims.get("aud"));
        JsonNode roles = claims.path(rolesClaim);
        JsonNode firstRole = roles.isArray() && roles.size() > 0 ? roles.get(0) : roles;
        // Strings only: a number or true would be taken as its text ("1"), as no identity provider meant.
        String role = firstRole.isTextual() ? firstRole.asText() : null;
        String subject = claims.path("sub").isTextual() ? claims.get("sub").asText() : null;
        if (role == null || role.isBlank() || subject == null || subject.isBlank()) {
            throw ApiException.unauthorized("JWT needs 'sub' and a '" + rolesClaim + "' claim, as strings (a list's"
                    + " first entry is the role)");
        }
        try {
            return new Principal(subject, role);
        } catch (dev.lethe.core.store.InvalidEventException e) {
            throw ApiException.unauthorized("JWT 'sub' is not a usable principal: " + e.getMessage());
        }
    }

    /** A string or an array of strings that must name this server's audience; absent only without one. */
    private void checkAudience(JsonNode aud) {
        if (aud == null || aud.isNull()) {
            if (audience != null) {
                throw ApiException.unauthorized(
                        "JWT has no 'aud'; this server accepts tokens for audience " + audience);
            }
            return;
        }
        if (audience == null) {
            throw ApiException.unauthorized("JWT names an audience ('aud') and this server has none to check it"
                    + " against: set jwt.audience in its config to the audience its tokens are issued for");
        }
        boolean named = aud.isTextual()
                ? aud.asText().equals(audience)
                : aud.isArray()
                        && java.util.stream.StreamSupport.stream(aud.spliterator(), false)
                                .anyMatch(entry ->
                                        entry.isTextual() && entry.asText().equals(audience));
        if (!named) {
            throw ApiException.unauthorized("JWT is for another audience: its 'aud' does not name " + audience);
        }
    }

    /**
     * When a token {@link #verify} accepted stops being valid: its {@code exp}, or null when it has none. A
     * stream opened with it (server-sent events) ends then, as a new request would be refused.
     */
    static java.time.Instant expiry(String token) {
        JsonNode claims = json(token.split("\\.", -1)[1], "claims");
        if (!claims.has("exp")) {
            return null;
        }
        // Past the calendar (a validly signed exp of 1e17): the end of time, not an error on every request.
        return java.time.Instant.ofEpochSecond(Math.max(
                java.time.Instant.MIN.getEpochSecond(),
                Math.min(seconds(claims.get("exp")), java.time.Instant.MAX.getEpochSecond())));
    }

    /**
     * A NumericDate as whole seconds, saturated: a number past what a long holds is the end (or the
     * beginning) of time, never wrapped round (2^64 + now + 600 read as now + 600), a fraction is cut down.
     */
    static long seconds(JsonNode number) {
        if (number.isIntegralNumber()) {
            java.math.BigInteger value = number.bigIntegerValue();
            return value.bitLength() < 64 ? value.longValue() : value.signum() > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
        return (long) Math.floor(number.doubleValue()); // infinities saturate
    }

    private static JsonNode json(String part, String what) {
        try {
            JsonNode node = Hub.JSON.readTree(decode(part, what));
            if (node == null || !node.isObject()) {
                throw ApiException.unauthorized("JWT " + what + " is not a JSON object");
            }
            return node;
        } catch (java.io.IOException | NumberFormatException e) { // the latter: an exponent no double holds
            throw ApiException.unauthorized("JWT " + what + " is not JSON");
        }
    }

    private static byte[] decode(String part, String what) {
        try {
            return URL.decode(part);
        } catch (IllegalArgumentException e) {
            throw ApiException.unauthorized("JWT " + what + " is not base64url");
        }
    }

    private static PublicKey publicKey(String pem) {
        String base64 = pem.replaceAll("-----(BEGIN|END) PUBLIC KEY-----", "").replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance("RSA")
                    .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw dev.lethe.core.store.InvalidEventException.of(
                    "jwt.rs256PublicKey", "is not a PEM RSA public key: " + e.getMessage());
        }
    }
}
