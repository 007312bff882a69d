package dev.lethe.server.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.privacy.Principal;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class JwtVerifierTest {
    static final String SECRET = "a-shared-secret-of-at-least-32-characters";
    static final Clock NOW = Clock.fixed(Instant.ofEpochSecond(1_800_000_000L), ZoneOffset.UTC);
    static final Base64.Encoder URL = Base64.getUrlEncoder().withoutPadding();

    static String hs256(String claims, String secret) throws Exception {
        return hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, secret);
    }

    @Test
    void an_exp_past_the_calendar_is_the_end_of_time_not_an_error() throws Exception {
        String token = hs256("{\"sub\":\"dora\",\"roles\":[\"dpo\"],\"exp\":1e17}", SECRET);
        assertThat(JwtVerifier.expiry(token).getEpochSecond()).isEqualTo(java.time.Instant.MAX.getEpochSecond());
    }

    @Test
    void a_numeric_date_past_what_a_long_holds_saturates_and_never_wraps_round() throws Exception {
        JwtVerifier verifier = new JwtVerifier(new ServerConfig.Jwt(SECRET, null, null, null, "roles"), NOW);
        java.math.BigInteger twoTo64 = java.math.BigInteger.ONE.shiftLeft(64);
        // 2^64 before now + 600: long expired, though it wraps round to now + 600.
        java.math.BigInteger longAgo = twoTo64.negate().add(java.math.BigInteger.valueOf(1_800_000_600L));
        assertThatThrownBy(() ->
                        verifier.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"exp\":" + longAgo + "}", SECRET)))
                .hasMessageContaining("expired");
        // 2^64 after now + 3: the end of time, not three seconds from now.
        String far = hs256(
                "{\"sub\":\"a\",\"roles\":\"dpo\",\"exp\":" + twoTo64.add(java.math.BigInteger.valueOf(1_800_000_003L))
                        + "}",
                SECRET);
        assertThat(verifier.verify(far)).isEqualTo(new Principal("a", "dpo"));
        assertThat(JwtVerifier.expiry(far).getEpochSecond()).isEqualTo(Instant.MAX.getEpochSecond());
        assertThat(verifier.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"exp\":9223372036854775808}", SECRET)))
                .as("2^63")
                .isEqualTo(new Principal("a", "dpo"));
        // An exponent no double holds, in the unsigned header or in the claims: refused as not JSON (it was a 500).
        String header = URL.encodeToString("{\"alg\":\"HS256\",\"x\":1e99999999999}".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> verifier.verify(header + ".e30.c2ln"))
                .isInstanceOf(ApiException.class)
                .hasMessageContaining("JWT header is not JSON");
        assertThatThrownBy(
                        () -> verifier.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"exp\":1e99999999999}", SECRET)))
                .isInstanceOf(ApiException.class);
        // A not-before far in the future is not yet valid, whatever it wraps round to.
        assertThatThrownBy(() -> verifier.verify(hs256(
                        "{\"sub\":\"a\",\"roles\":\"dpo\",\"nbf\":" + twoTo64.add(java.math.BigInteger.TEN) + "}",
                        SECRET)))
                .hasMessageContaining("not valid yet");
    }

    static String hs256(String header, String claims, String secret) throws Exception {
        String signed = URL.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + URL.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return signed + "." + URL.encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void a_crit_header_and_a_sub_or_role_that_is_no_string_are_refused() throws Exception {
        JwtVerifier verifier = new JwtVerifier(new ServerConfig.Jwt(SECRET, null, null, null, "roles"), NOW);
        String claims = "{\"sub\":\"dora\",\"roles\":[\"dpo\"]}";
        assertThat(verifier.verify(hs256("{\"alg\":\"HS256\"}", claims, SECRET)))
                .isEqualTo(new Principal("dora", "dpo"));
        assertThatThrownBy(() ->
                        verifier.verify(hs256("{\"alg\":\"HS256\",\"crit\":[\"x-must-understand\"]}", claims, SECRET)))
                .isInstanceOf(ApiException.class)
                .hasMessageContaining("'crit': this server understands no critical extension");
        for (String notStrings : new String[] {
            "{\"sub\":12345,\"roles\":[\"dpo\"]}",
            "{\"sub\":\"dora\",\"roles\":[1]}",
            "{\"sub\":\"dora\",\"roles\":true}",
            "{\"sub\":[\"dora\"],\"roles\":\"dpo\"}"
        }) {
            assertThatThrownBy(() -> verifier.verify(hs256(notStrings, SECRET)))
                    .as(notStrings)
                    .isInstanceOf(ApiException.class)
                    .hasMessageContaining("JWT needs 'sub' and a 'roles' claim, as strings");
        }
    }

    @Test
    void an_hs256_token_maps_sub_and_the_first_role_to_a_principal() throws Exception {
        JwtVerifier verifier = new JwtVerifier(new ServerConfig.Jwt(SECRET, null, "https://idp", null, "roles"), NOW);
        String token = hs256(
                "{\"sub\":\"dora\",\"roles\":[\"dpo\",\"x\"],\"iss\":\"https://idp\",\"exp\":1800000600}", SECRET);
        assertThat(JwtVerifier.looksLikeJwt(token)).isTrue();
        assertThat(verifier.verify(token)).isEqualTo(new Principal("dora", "dpo"));
    }

    @Test
    void wrong_signatures_expired_tokens_other_issuers_and_alg_none_are_refused() throws Exception {
        JwtVerifier verifier = new JwtVerifier(new ServerConfig.Jwt(SECRET, null, "https://idp", null, "roles"), NOW);
        assertThatThrownBy(() -> verifier.verify(
                        hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"iss\":\"https://idp\"}", SECRET + "x")))
                .hasMessageContaining("signature");
        assertThatThrownBy(() -> verifier.verify(
                        hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"iss\":\"https://idp\",\"exp\":1}", SECRET)))
                .hasMessageContaining("expired");
        assertThatThrownBy(() ->
                        verifier.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"iss\":\"https://evil\"}", SECRET)))
                .hasMessageContaining("issuer");
        assertThatThrownBy(() -> verifier.verify(hs256("{\"sub\":\"a\",\"iss\":\"https://idp\"}", SECRET)))
                .hasMessageContaining("roles");
        String none = URL.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + URL.encodeToString("{\"sub\":\"a\",\"roles\":\"dpo\"}".getBytes(StandardCharsets.UTF_8)) + ".";
        assertThatThrownBy(() -> verifier.verify(none)).hasMessageContaining("'none' is not accepted");
        String longAlg = URL.encodeToString(("{\"alg\":\"" + "A".repeat(6000) + "\"}").getBytes(StandardCharsets.UTF_8))
                + "." + URL.encodeToString("{\"sub\":\"a\",\"roles\":\"dpo\"}".getBytes(StandardCharsets.UTF_8)) + ".";
        assertThatThrownBy(() -> verifier.verify(longAlg))
                .hasMessage("JWT algorithm (not shown) is not accepted by this server");
        assertThatThrownBy(() -> verifier.verify("a.b.c")).isInstanceOf(ApiException.class);
        assertThatThrownBy(() -> verifier.verify(
                        hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"iss\":\"https://idp\",\"exp\":\"never\"}", SECRET)))
                .hasMessageContaining("'exp' is not a number");
        // A subject the audit trail could not keep as one line is refused as unauthorized, not as bad input.
        assertThatThrownBy(() -> verifier.verify(
                        hs256("{\"sub\":\"a\\nforged line\",\"roles\":\"dpo\",\"iss\":\"https://idp\"}", SECRET)))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.status()).isEqualTo(401))
                .hasMessageContaining("control character");
    }

    @Test
    void a_token_for_another_audience_is_refused_and_an_audience_is_checked_only_when_configured() throws Exception {
        JwtVerifier lethe = new JwtVerifier(new ServerConfig.Jwt(SECRET, null, null, "lethe", "roles"), NOW);
        assertThat(lethe.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"aud\":\"lethe\"}", SECRET)))
                .isEqualTo(new Principal("a", "dpo"));
        assertThat(lethe.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"aud\":[\"crm\",\"lethe\"]}", SECRET)))
                .isEqualTo(new Principal("a", "dpo"));
        assertThatThrownBy(() -> lethe.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"aud\":\"crm\"}", SECRET)))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.status()).isEqualTo(401))
                .hasMessageContaining("another audience: its 'aud' does not name lethe");
        assertThatThrownBy(() -> lethe.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"aud\":[1]}", SECRET)))
                .hasMessageContaining("another audience");
        assertThatThrownBy(() -> lethe.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\"}", SECRET)))
                .hasMessageContaining("has no 'aud'");

        // Without an audience configured, a token that names one was issued for some service, maybe another.
        JwtVerifier any = new JwtVerifier(new ServerConfig.Jwt(SECRET, null, null, null, "roles"), NOW);
        assertThat(any.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\"}", SECRET)))
                .isEqualTo(new Principal("a", "dpo"));
        assertThatThrownBy(() -> any.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\",\"aud\":\"crm\"}", SECRET)))
                .hasMessageContaining("set jwt.audience");
    }

    @Test
    void an_rs256_token_verifies_with_the_configured_public_key() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
        generator.initialize(2048);
        KeyPair pair = generator.generateKeyPair();
        String pem = "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----";
        JwtVerifier verifier = new JwtVerifier(new ServerConfig.Jwt(null, pem, null, null, "roles"), NOW);
        String signed = URL.encodeToString("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + URL.encodeToString("{\"sub\":\"ann\",\"roles\":[\"advisor\"]}".getBytes(StandardCharsets.UTF_8));
        Signature rsa = Signature.getInstance("SHA256withRSA");
        rsa.initSign(pair.getPrivate());
        rsa.update(signed.getBytes(StandardCharsets.US_ASCII));
        String token = signed + "." + URL.encodeToString(rsa.sign());
        assertThat(verifier.verify(token)).isEqualTo(new Principal("ann", "advisor"));
        // An HS256 token is refused when only RS256 is configured (no algorithm confusion).
        assertThatThrownBy(() -> verifier.verify(hs256("{\"sub\":\"a\",\"roles\":\"dpo\"}", pem)))
                .hasMessageContaining("'HS256' is not accepted");
    }
}
