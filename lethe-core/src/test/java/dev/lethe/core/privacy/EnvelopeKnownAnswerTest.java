package dev.lethe.core.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.Aead;
import dev.lethe.core.privacy.keys.KeyService;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.UUID;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * Known-answer vectors for the data key derivation and the version 1 envelope. The expected values are
 * computed here a second time, from RFC 5869 and the layout in {@link Envelope}'s Javadoc with the
 * JDK's own HMAC and AES-GCM, and are also written down as literals: a change to the format fails this
 * test even if the production code and the independent code change together.
 *
 * <table>
 * <caption>Data key: DEK = HKDF-SHA256(ikm = K_s ‖ K_p, salt = none (32 zero bytes), info), 32 bytes</caption>
 * <tr><th>K_s</th><td>{@value #SUBJECT_KEY}</td></tr>
 * <tr><th>K_p</th><td>{@value #PERIOD_KEY}</td></tr>
 * <tr><th>group, period</th><td>{@code contact}, {@code 2026-11}</td></tr>
 * <tr><th>info</th><td>{@code "lethe/v1" 00 "contact" 00 "2026-11"}</td></tr>
 * <tr><th>DEK</th><td>{@value #DEK}</td></tr>
 * </table>
 *
 * <table>
 * <caption>Envelope, sealed under the DEK above with a fixed nonce</caption>
 * <tr><th>event id</th><td>{@value #EVENT_ID}</td></tr>
 * <tr><th>path</th><td>{@code email}</td></tr>
 * <tr><th>subject</th><td>{@value #SUBJECT_ID}</td></tr>
 * <tr><th>nonce</th><td>{@value #NONCE}</td></tr>
 * <tr><th>plaintext</th><td>{@code "ada@example.com"} (the JSON string, with its quotes, 17 bytes)</td></tr>
 * <tr><th>AAD</th><td>{@value #AAD}</td></tr>
 * <tr><th>ciphertext ‖ tag</th><td>{@value #CIPHERTEXT_AND_TAG}</td></tr>
 * <tr><th>envelope bytes</th><td>{@value #ENVELOPE_BYTES}</td></tr>
 * <tr><th>stored string</th><td>{@value #ENVELOPE}</td></tr>
 * </table>
 */
class EnvelopeKnownAnswerTest {
    static final String SUBJECT_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    static final String PERIOD_KEY = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
    static final String DEK = "c7ddfe3de463bb3846f04b91c29a1f08269f26d81b915c438055072a7c109e06";
    static final String EVENT_ID = "0195e4a2-6c1b-7d3e-8f40-a1b2c3d4e5f6";
    static final String SUBJECT_ID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    static final String NONCE = "c0c1c2c3c4c5c6c7c8c9cacb";
    static final String AAD = "6c657468652f763100010195e4a26c1b7d3e8f40a1b2c3d4e5f60005656d61696c"
            + "3f2504e04f8941d39a0c0305e82c330107636f6e7461637407323032362d3131";
    static final String CIPHERTEXT_AND_TAG = "f8f2721ea9ab316a089c3fea5d068837f18e075ce5b00e40631615f72a8704e980";
    static final String ENVELOPE_BYTES = "013f2504e04f8941d39a0c0305e82c330107636f6e7461637407323032362d3131"
            + "c0c1c2c3c4c5c6c7c8c9cacbf8f2721ea9ab316a089c3fea5d068837f18e075ce5b00e40631615f72a8704e980";
    static final String ENVELOPE = "lethe:v1:AT8lBOBPiUHTmgwDBegsMwEHY29udGFjdAcyMDI2LTExwMHCw8TFxsfIycrL"
            + "-PJyHqmrMWoInD_qXQaIN_GOB1zlsA5AYxYV9yqHBOmA";

    static final HexFormat HEX = HexFormat.of();
    static final DataGroup GROUP = DataGroup.of("contact");
    static final String PERIOD = "2026-11";
    static final String PATH = "email";
    static final UUID EVENT = UUID.fromString(EVENT_ID);
    static final SubjectId SUBJECT = SubjectId.parse(SUBJECT_ID);
    static final byte[] PLAINTEXT = "\"ada@example.com\"".getBytes(StandardCharsets.UTF_8);

    final Aead dek = KeyService.dataKey(HEX.parseHex(SUBJECT_KEY), HEX.parseHex(PERIOD_KEY), GROUP, PERIOD);

    @Test
    void the_independent_hkdf_meets_rfc_5869_test_case_3_with_an_empty_salt() throws Exception {
        byte[] ikm = new byte[22];
        Arrays.fill(ikm, (byte) 0x0b);

        assertThat(HEX.formatHex(hkdfSha256(ikm, new byte[0], new byte[0], 42)))
                .isEqualTo("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d" + "9d201395faa4b61a96c8");
    }

    @Test
    void the_data_key_derivation_gives_the_recorded_dek() throws Exception {
        assertThat(HEX.formatHex(independentDek())).isEqualTo(DEK);
    }

    @Test
    void the_key_service_data_key_is_the_recorded_dek_both_ways() throws Exception {
        byte[] aad = "kat".getBytes(StandardCharsets.UTF_8);

        byte[] byJdk = jdkSeal(HEX.parseHex(DEK), HEX.parseHex(NONCE), PLAINTEXT, aad);
        assertThat(dek.decrypt(byJdk, aad)).isEqualTo(PLAINTEXT);

        byte[] byTink = dek.encrypt(PLAINTEXT, aad);
        assertThat(jdkOpen(HEX.parseHex(DEK), byTink, aad)).isEqualTo(PLAINTEXT);
    }

    @Test
    void the_recorded_envelope_follows_the_documented_layout() throws Exception {
        byte[] aad = independentAad(EVENT, PATH);
        byte[] sealed = jdkSeal(independentDek(), HEX.parseHex(NONCE), PLAINTEXT, aad);
        byte[] envelope = concat(
                new byte[] {0x01},
                uuidBytes(SUBJECT.value()),
                lengthPrefixed("contact"),
                lengthPrefixed(PERIOD),
                sealed);

        assertThat(HEX.formatHex(aad)).isEqualTo(AAD);
        assertThat(HEX.formatHex(sealed)).isEqualTo(NONCE + CIPHERTEXT_AND_TAG);
        assertThat(HEX.formatHex(envelope)).isEqualTo(ENVELOPE_BYTES);
        assertThat("lethe:v1:" + Base64.getUrlEncoder().withoutPadding().encodeToString(envelope))
                .isEqualTo(ENVELOPE);
    }

    @Test
    void an_envelope_text_changed_where_the_decoder_would_not_look_is_refused() {
        byte[] recorded = HEX.parseHex(ENVELOPE_BYTES);
        // Ciphertexts one and two bytes longer: their texts end in a character with 4 and 2 unused bits.
        for (int extra : new int[] {1, 2}) {
            byte[] raw = java.util.Arrays.copyOf(recorded, recorded.length + extra);
            String text = "lethe:v1:" + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
            assertThat(Envelope.parse(text).subject()).isEqualTo(SUBJECT);
            String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            int last = alphabet.indexOf(text.charAt(text.length() - 1));
            String changed = text.substring(0, text.length() - 1) + alphabet.charAt(last | 1); // an unused bit set
            assertThat(Base64.getUrlDecoder().decode(changed.substring(9)))
                    .as("the JDK decodes it to the same bytes")
                    .isEqualTo(raw);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Envelope.parse(changed))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not in the form Lethe writes");
            byte[] bytes = changed.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Envelope.decode(bytes, 0, bytes.length))
                    .isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Envelope.parse(text + "=="))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("padding");
        }
    }

    @Test
    void the_recorded_envelope_parses_and_opens_to_the_json_value() throws Exception {
        Envelope.Header header = Envelope.parse(ENVELOPE);

        assertThat(header.subject()).isEqualTo(SUBJECT);
        assertThat(header.group()).isEqualTo(GROUP);
        assertThat(header.period()).isEqualTo(PERIOD);
        assertThat(HEX.formatHex(header.sealed())).isEqualTo(NONCE + CIPHERTEXT_AND_TAG);
        assertThat(Envelope.open(dek, EVENT, PATH, header)).isEqualTo(PLAINTEXT);
    }

    @Test
    void a_freshly_sealed_envelope_has_the_recorded_header_and_opens_with_the_jdk() throws Exception {
        String sealed = Envelope.seal(dek, EVENT, PATH, SUBJECT, GROUP, PERIOD, PLAINTEXT);
        byte[] bytes = Base64.getUrlDecoder().decode(sealed.substring(Envelope.PREFIX.length()));
        int header = 1 + 16 + 1 + 7 + 1 + 7;

        assertThat(HEX.formatHex(bytes, 0, header)).isEqualTo(ENVELOPE_BYTES.substring(0, 2 * header));
        assertThat(bytes).hasSize(header + 12 + PLAINTEXT.length + 16);
        byte[] nonceCiphertextTag = Arrays.copyOfRange(bytes, header, bytes.length);
        assertThat(jdkOpen(HEX.parseHex(DEK), nonceCiphertextTag, HEX.parseHex(AAD)))
                .isEqualTo(PLAINTEXT);
    }

    @Test
    void every_seal_draws_a_fresh_nonce_so_equal_values_never_seal_alike() throws Exception {
        // More seals than one refill of the nonce buffer (256 nonces), same key, event, field and value.
        java.util.Set<String> nonces = new java.util.HashSet<>();
        java.util.Set<String> envelopes = new java.util.HashSet<>();
        int header = 1 + 16 + 1 + 7 + 1 + 7;
        for (int i = 0; i < 1_000; i++) {
            String sealed = Envelope.seal(dek, EVENT, PATH, SUBJECT, GROUP, PERIOD, PLAINTEXT);
            byte[] bytes = Base64.getUrlDecoder().decode(sealed.substring(Envelope.PREFIX.length()));
            byte[] nonce = Arrays.copyOfRange(bytes, header, header + 12);
            assertThat(nonce).isNotEqualTo(new byte[12]);
            nonces.add(HEX.formatHex(nonce));
            envelopes.add(sealed);
            assertThat(Envelope.open(dek, EVENT, PATH, Envelope.parse(sealed))).isEqualTo(PLAINTEXT);
        }
        assertThat(nonces).hasSize(1_000);
        assertThat(envelopes).hasSize(1_000);
    }

    @Test
    void the_envelope_does_not_open_for_another_event_or_another_field() {
        Envelope.Header header = Envelope.parse(ENVELOPE);

        assertThatThrownBy(() -> Envelope.open(dek, UUID.randomUUID(), PATH, header))
                .isInstanceOf(GeneralSecurityException.class);
        assertThatThrownBy(() -> Envelope.open(dek, EVENT, "address.street", header))
                .isInstanceOf(GeneralSecurityException.class);
    }

    @Test
    void the_envelope_does_not_open_when_relabelled_with_another_subject_or_period() {
        Envelope.Header header = Envelope.parse(ENVELOPE);
        Envelope.Header otherSubject = new Envelope.Header(SubjectId.random(), GROUP, PERIOD, header.sealed());
        Envelope.Header otherPeriod = new Envelope.Header(SUBJECT, GROUP, "2026-12", header.sealed());

        assertThatThrownBy(() -> Envelope.open(dek, EVENT, PATH, otherSubject))
                .isInstanceOf(GeneralSecurityException.class);
        assertThatThrownBy(() -> Envelope.open(dek, EVENT, PATH, otherPeriod))
                .isInstanceOf(GeneralSecurityException.class);
    }

    @Test
    void flipping_any_single_byte_of_the_nonce_ciphertext_or_tag_fails_authentication() {
        byte[] bytes = HEX.parseHex(ENVELOPE_BYTES);
        int sealedStart = bytes.length - 12 - PLAINTEXT.length - 16;

        for (int i = sealedStart; i < bytes.length; i++) {
            byte[] flipped = bytes.clone();
            flipped[i] ^= 0x01;
            Envelope.Header header = Envelope.parse(encode(flipped));
            assertThatThrownBy(() -> Envelope.open(dek, EVENT, PATH, header))
                    .as("byte %d flipped", i)
                    .isInstanceOf(GeneralSecurityException.class);
        }
    }

    @Test
    void every_truncation_is_rejected_by_parse_or_by_authentication() {
        byte[] bytes = HEX.parseHex(ENVELOPE_BYTES);
        int shortestParsable = 1 + 16 + 1 + 7 + 1 + 7 + 12 + 16;

        for (int length = 0; length < bytes.length; length++) {
            String truncated = encode(Arrays.copyOf(bytes, length));
            if (length < shortestParsable) {
                assertThatThrownBy(() -> Envelope.parse(truncated))
                        .as("%d bytes", length)
                        .isInstanceOf(IllegalArgumentException.class);
            } else {
                Envelope.Header header = Envelope.parse(truncated);
                assertThatThrownBy(() -> Envelope.open(dek, EVENT, PATH, header))
                        .as("%d bytes", length)
                        .isInstanceOf(GeneralSecurityException.class);
            }
        }
    }

    @Test
    void parse_rejects_another_version_or_prefix() {
        for (int version : new int[] {0x00, 0x02, 0xff}) {
            byte[] bytes = HEX.parseHex(ENVELOPE_BYTES);
            bytes[0] = (byte) version;
            assertThatThrownBy(() -> Envelope.parse(encode(bytes))).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> Envelope.parse(ENVELOPE.replace("lethe:v1:", "lethe:v2:")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static byte[] independentDek() throws GeneralSecurityException {
        byte[] ikm = concat(HEX.parseHex(SUBJECT_KEY), HEX.parseHex(PERIOD_KEY));
        byte[] info = concat(
                "lethe/v1".getBytes(StandardCharsets.US_ASCII),
                new byte[] {0},
                "contact".getBytes(StandardCharsets.US_ASCII),
                new byte[] {0},
                PERIOD.getBytes(StandardCharsets.US_ASCII));
        return hkdfSha256(ikm, new byte[0], info, 32);
    }

    /** RFC 5869, section 2: extract then expand; an empty salt is HashLen zero bytes (2.2). */
    private static byte[] hkdfSha256(byte[] ikm, byte[] salt, byte[] info, int length) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(salt.length == 0 ? new byte[32] : salt, "HmacSHA256"));
        byte[] prk = mac.doFinal(ikm);
        mac.init(new SecretKeySpec(prk, "HmacSHA256"));
        ByteArrayOutputStream okm = new ByteArrayOutputStream();
        byte[] t = new byte[0];
        for (int i = 1; okm.size() < length; i++) {
            mac.update(t);
            mac.update(info);
            mac.update((byte) i);
            t = mac.doFinal();
            okm.writeBytes(t);
        }
        return Arrays.copyOf(okm.toByteArray(), length);
    }

    private static byte[] independentAad(UUID eventId, String path) {
        byte[] f = path.getBytes(StandardCharsets.UTF_8);
        return concat(
                "lethe/v1".getBytes(StandardCharsets.US_ASCII),
                new byte[] {0x00, 0x01},
                uuidBytes(eventId),
                new byte[] {(byte) (f.length >>> 8), (byte) f.length},
                f,
                uuidBytes(SUBJECT.value()),
                lengthPrefixed("contact"),
                lengthPrefixed(PERIOD));
    }

    /** AES-256-GCM with the JDK, in Tink's layout: nonce(12) ‖ ciphertext ‖ tag(16). */
    private static byte[] jdkSeal(byte[] key, byte[] nonce, byte[] plaintext, byte[] aad)
            throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
        cipher.updateAAD(aad);
        return concat(nonce, cipher.doFinal(plaintext));
    }

    private static byte[] jdkOpen(byte[] key, byte[] nonceCiphertextTag, byte[] aad) throws GeneralSecurityException {
        Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
        cipher.init(
                Cipher.DECRYPT_MODE,
                new SecretKeySpec(key, "AES"),
                new GCMParameterSpec(128, nonceCiphertextTag, 0, 12));
        cipher.updateAAD(aad);
        return cipher.doFinal(nonceCiphertextTag, 12, nonceCiphertextTag.length - 12);
    }

    private static byte[] uuidBytes(UUID uuid) {
        return ByteBuffer.allocate(16)
                .putLong(uuid.getMostSignificantBits())
                .putLong(uuid.getLeastSignificantBits())
                .array();
    }

    private static byte[] lengthPrefixed(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return concat(new byte[] {(byte) bytes.length}, bytes);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static String encode(byte[] bytes) {
        return Envelope.PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
