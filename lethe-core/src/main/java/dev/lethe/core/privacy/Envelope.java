package dev.lethe.core.privacy;

import com.google.crypto.tink.Aead;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import java.util.UUID;

/**
 * The stored form of one personal field: a JSON string {@code "lethe:v1:" + base64url(bytes)} (no
 * padding) in place of the value. The bytes, version 1:
 *
 * <pre>
 * offset      size  field
 * 0           1     format version, 0x01
 * 1           16    subject id (UUID, most significant byte first)
 * 17          1     G = length of the data group name
 * 18          G     data group name, UTF-8
 * 18+G        1     P = length of the period id
 * 19+G        P     period id, UTF-8 (e.g. "2026-11")
 * 19+G+P      12    AES-GCM nonce, random
 * 31+G+P      n     AES-256-GCM ciphertext of the field's JSON value (UTF-8)
 * 31+G+P+n    16    AES-GCM tag
 * </pre>
 *
 * <p>The associated data, authenticated but not stored, binds the ciphertext to its place:
 * {@code "lethe/v1" 0x00 ‖ version(1) ‖ event id(16) ‖ len(path)(2, big-endian) ‖ path(UTF-8) ‖
 * subject(16) ‖ G(1) ‖ group ‖ P(1) ‖ period}. A ciphertext copied to another event or field, or
 * relabelled with another subject, group or period, fails authentication.
 *
 * <p>The key is {@code DEK(subject, group, period)} of {@link dev.lethe.core.privacy.keys.KeyService}.
 */
public final class Envelope {
    public static final String PREFIX = "lethe:v1:";
    public static final byte VERSION = 1;
    private static final byte[] AAD_LABEL = "lethe/v1\0".getBytes(StandardCharsets.UTF_8);

    /** The readable header of an envelope; the ciphertext stays sealed. */
    public record Header(SubjectId subject, DataGroup group, String period, byte[] sealed) {}

    private Envelope() {}

    public static boolean isEnvelope(String text) {
        return text != null && text.startsWith(PREFIX);
    }

    /** Encrypts a field's JSON value and returns the envelope string. */
    public static String seal(
            Aead dek, UUID eventId, String path, SubjectId subject, DataGroup group, String period, byte[] plaintext) {
        try {
            byte[] sealed = dek.encrypt(plaintext, aad(eventId, path, subject, group, period));
            byte[] g = group.name().getBytes(StandardCharsets.UTF_8);
            byte[] p = period.getBytes(StandardCharsets.UTF_8);
            ByteBuffer out = ByteBuffer.allocate(1 + 16 + 1 + g.length + 1 + p.length + sealed.length);
            out.put(VERSION)
                    .putLong(subject.value().getMostSignificantBits())
                    .putLong(subject.value().getLeastSignificantBits());
            out.put((byte) g.length).put(g).put((byte) p.length).put(p).put(sealed);
            return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(out.array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * Reads an envelope's header.
     *
     * @throws IllegalArgumentException if the text is not a well-formed version 1 envelope
     */
    public static Header parse(String envelope) {
        if (!isEnvelope(envelope)) {
            throw new IllegalArgumentException("not a Lethe envelope");
        }
        ByteBuffer in = ByteBuffer.wrap(Base64.getUrlDecoder().decode(envelope.substring(PREFIX.length())));
        if (in.remaining() < 1 + 16 + 2 + 12 + 16 || in.get() != VERSION) {
            throw new IllegalArgumentException("unknown envelope version or truncated envelope");
        }
        SubjectId subject = new SubjectId(new UUID(in.getLong(), in.getLong()));
        DataGroup group = DataGroup.of(string(in));
        String period = string(in);
        byte[] sealed = new byte[in.remaining()];
        in.get(sealed);
        if (sealed.length < 12 + 16) {
            throw new IllegalArgumentException("truncated envelope");
        }
        return new Header(subject, group, period, sealed);
    }

    private static String string(ByteBuffer in) {
        int length = in.get() & 0xFF;
        if (in.remaining() < length) {
            throw new IllegalArgumentException("truncated envelope");
        }
        byte[] bytes = new byte[length];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Decrypts; throws {@link GeneralSecurityException} if authentication fails. */
    public static byte[] open(Aead dek, UUID eventId, String path, Header header) throws GeneralSecurityException {
        return dek.decrypt(header.sealed(), aad(eventId, path, header.subject(), header.group(), header.period()));
    }

    static byte[] aad(UUID eventId, String path, SubjectId subject, DataGroup group, String period) {
        byte[] f = path.getBytes(StandardCharsets.UTF_8);
        byte[] g = group.name().getBytes(StandardCharsets.UTF_8);
        byte[] p = period.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(AAD_LABEL.length + 1 + 16 + 2 + f.length + 16 + 1 + g.length + 1 + p.length)
                .put(AAD_LABEL)
                .put(VERSION)
                .putLong(eventId.getMostSignificantBits())
                .putLong(eventId.getLeastSignificantBits())
                .putShort((short) f.length)
                .put(f)
                .putLong(subject.value().getMostSignificantBits())
                .putLong(subject.value().getLeastSignificantBits())
                .put((byte) g.length)
                .put(g)
                .put((byte) p.length)
                .put(p)
                .array();
    }
}
