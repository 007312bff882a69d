package dev.lethe.core.privacy;

import com.google.crypto.tink.Aead;
import dev.lethe.core.privacy.keys.DataKeyAead;
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
    private static final byte[] PREFIX_BYTES = PREFIX.getBytes(StandardCharsets.US_ASCII);

    /** The readable header of an envelope; the ciphertext stays sealed. */
    public record Header(SubjectId subject, DataGroup group, String period, byte[] sealed) {}

    private Envelope() {}

    public static boolean isEnvelope(String text) {
        return text != null && text.startsWith(PREFIX);
    }

    /** Encrypts a field's JSON value and returns the envelope string. */
    public static String seal(
            Aead dek, UUID eventId, String path, SubjectId subject, DataGroup group, String period, byte[] plaintext) {
        byte[] header = header(subject, group, period);
        if (dek instanceof DataKeyAead key) {
            return new String(
                    seal(key, eventId, path, header, plaintext, 0, plaintext.length), StandardCharsets.US_ASCII);
        }
        try {
            byte[] sealed = dek.encrypt(plaintext, aad(eventId, path, header));
            byte[] raw = new byte[header.length + sealed.length];
            System.arraycopy(header, 0, raw, 0, header.length);
            System.arraycopy(sealed, 0, raw, header.length, sealed.length);
            return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
    }

    /**
     * The envelope's readable header, bytes {@code 0 … 18+G+P} of the layout above: the same for every
     * field sealed under one data key.
     */
    public static byte[] header(SubjectId subject, DataGroup group, String period) {
        byte[] g = group.name().getBytes(StandardCharsets.UTF_8);
        byte[] p = period.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 16 + 1 + g.length + 1 + p.length)
                .put(VERSION)
                .putLong(subject.value().getMostSignificantBits())
                .putLong(subject.value().getLeastSignificantBits())
                .put((byte) g.length)
                .put(g)
                .put((byte) p.length)
                .put(p)
                .array();
    }

    /**
     * Encrypts {@code plaintext[offset, offset + length)} and returns the envelope text as ASCII bytes
     * ({@value #PREFIX} and the base64url payload, no quotes).
     */
    static byte[] seal(
            DataKeyAead dek, UUID eventId, String path, byte[] header, byte[] plaintext, int offset, int length) {
        byte[] raw = new byte[header.length + DataKeyAead.NONCE_BYTES + length + DataKeyAead.TAG_BYTES];
        System.arraycopy(header, 0, raw, 0, header.length);
        try {
            dek.encrypt(plaintext, offset, length, aad(eventId, path, header), raw, header.length);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM encryption failed", e);
        }
        byte[] payload = Base64.getUrlEncoder().withoutPadding().encode(raw);
        byte[] text = new byte[PREFIX_BYTES.length + payload.length];
        System.arraycopy(PREFIX_BYTES, 0, text, 0, PREFIX_BYTES.length);
        System.arraycopy(payload, 0, text, PREFIX_BYTES.length, payload.length);
        return text;
    }

    /** An envelope decoded from its text: the raw bytes, where the header ends, and what it names. */
    record Decoded(byte[] raw, int headerEnd, SubjectId subject, DataGroup group, String period) {}

    /** Whether {@code text[offset, end)} starts with {@value #PREFIX}. */
    static boolean isEnvelope(byte[] text, int offset, int end) {
        if (end - offset < PREFIX_BYTES.length) {
            return false;
        }
        for (int i = 0; i < PREFIX_BYTES.length; i++) {
            if (text[offset + i] != PREFIX_BYTES[i]) {
                return false;
            }
        }
        return true;
    }

    /**
     * Decodes the envelope text at {@code text[offset, end)}.
     *
     * @throws IllegalArgumentException if it is not a well-formed version 1 envelope
     */
    static Decoded decode(byte[] text, int offset, int end) {
        if (!isEnvelope(text, offset, end)) {
            throw new IllegalArgumentException("not a Lethe envelope");
        }
        requireCanonical(text, offset + PREFIX_BYTES.length, end);
        ByteBuffer payload = ByteBuffer.wrap(text, offset + PREFIX_BYTES.length, end - offset - PREFIX_BYTES.length);
        byte[] raw = Base64.getUrlDecoder().decode(payload).array();
        return decode(raw);
    }

    /**
     * Refuses a payload that is not the one text its bytes encode to (unpadded base64url with the unused
     * low bits of its last character zero, as the encoder writes it): the decoder ignores those bits and
     * takes padding, so other texts would decode to the same, authentic, bytes — a changed envelope that
     * reads as untouched.
     */
    private static void requireCanonical(byte[] text, int from, int end) {
        int length = end - from;
        if (length == 0) {
            return; // too short: decode() says so
        }
        int last = text[end - 1];
        if (last == '=') {
            throw new IllegalArgumentException("envelope text with base64 padding (Lethe writes none)");
        }
        int value = last >= 'A' && last <= 'Z'
                ? last - 'A'
                : last >= 'a' && last <= 'z'
                        ? last - 'a' + 26
                        : last >= '0' && last <= '9' ? last - '0' + 52 : last == '-' ? 62 : last == '_' ? 63 : -1;
        int unused = switch (length % 4) {
            case 2 -> 0x0F; // 4 of its 6 bits unused
            case 3 -> 0x03; // 2 unused
            default -> 0;
        };
        if (value >= 0 && (value & unused) != 0) {
            throw new IllegalArgumentException("envelope text not in the form Lethe writes (its last character"
                    + " carries bits no byte holds): changed after it was written");
        }
    }

    private static Decoded decode(byte[] raw) {
        ByteBuffer in = ByteBuffer.wrap(raw);
        if (in.remaining() < 1 + 16 + 2 + DataKeyAead.NONCE_BYTES + DataKeyAead.TAG_BYTES || in.get() != VERSION) {
            throw new IllegalArgumentException("unknown envelope version or truncated envelope");
        }
        SubjectId subject = new SubjectId(new UUID(in.getLong(), in.getLong()));
        DataGroup group;
        try {
            group = DataGroup.of(string(in));
        } catch (dev.lethe.core.store.InvalidEventException e) {
            // A damaged header, not a caller's typo: reported as a malformed envelope, naming event and path.
            throw new IllegalArgumentException("malformed envelope header (its data group is not a group name)");
        }
        String period = string(in);
        if (in.remaining() < DataKeyAead.NONCE_BYTES + DataKeyAead.TAG_BYTES) {
            throw new IllegalArgumentException("truncated envelope");
        }
        return new Decoded(raw, in.position(), subject, group, period);
    }

    /** Decrypts a decoded envelope; throws {@link GeneralSecurityException} if authentication fails. */
    static byte[] open(DataKeyAead dek, UUID eventId, String path, Decoded envelope) throws GeneralSecurityException {
        byte[] raw = envelope.raw();
        int headerEnd = envelope.headerEnd();
        return dek.decrypt(raw, headerEnd, raw.length - headerEnd, aad(eventId, path, raw, headerEnd));
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
        byte[] text = envelope.getBytes(StandardCharsets.UTF_8);
        requireCanonical(text, PREFIX_BYTES.length, text.length);
        Decoded decoded = decode(Base64.getUrlDecoder().decode(envelope.substring(PREFIX.length())));
        byte[] raw = decoded.raw();
        byte[] sealed = java.util.Arrays.copyOfRange(raw, decoded.headerEnd(), raw.length);
        return new Header(decoded.subject(), decoded.group(), decoded.period(), sealed);
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
        return aad(eventId, path, header(subject, group, period));
    }

    private static byte[] aad(UUID eventId, String path, byte[] header) {
        return aad(eventId, path, header, header.length);
    }

    /** The associated data: the label, then {@code header[0]}, the event id and path, then {@code header[1, end)}. */
    private static byte[] aad(UUID eventId, String path, byte[] header, int headerEnd) {
        byte[] f = path.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(AAD_LABEL.length + 1 + 16 + 2 + f.length + headerEnd - 1)
                .put(AAD_LABEL)
                .put(header[0])
                .putLong(eventId.getMostSignificantBits())
                .putLong(eventId.getLeastSignificantBits())
                .putShort((short) f.length)
                .put(f)
                .put(header, 1, headerEnd - 1)
                .array();
    }
}
