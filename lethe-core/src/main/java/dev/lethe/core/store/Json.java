package dev.lethe.core.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable, validated JSON document held as UTF-8 bytes.
 *
 * <p>Events carry their data and metadata as {@code Json}: the bytes are checked once, on the way
 * in, to be exactly one well-formed JSON value, and are then stored and returned as they are, so a
 * replay never pays for parsing that the reader does not ask for. {@link #asTree()} parses on demand.
 *
 * <p>Two {@code Json} values are equal when their bytes are equal; no normalisation is applied, so
 * {@code {"a":1}} and {@code { "a": 1 }} are different values.
 *
 * <p>Written by Jackson inside another value (a record component of type {@code Json}), it is its JSON, as it
 * is ({@code {"object":true}}, Jackson's view of it as a bean, would lose it without a word).
 */
@com.fasterxml.jackson.databind.annotation.JsonSerialize(using = Json.AsItself.class)
public final class Json {
    static final ObjectMapper MAPPER = exactMapper();
    private static final JsonFactory FACTORY = MAPPER.getFactory();

    /**
     * A mapper whose trees keep numbers exactly as written: decimals as {@code BigDecimal} with their
     * scale ({@code 1.50} stays {@code 1.50}, {@code 1e400} does not become {@code Infinity}), as the
     * bytes of an event are kept. Every tree Lethe reads events into, and prints them from, uses one.
     * Mapping JSON {@code null} (a redacted personal value) to a primitive ({@code int riskScore}) throws
     * {@code MismatchedInputException} rather than giving {@code 0} or {@code false}, which would read as a
     * value.
     */
    public static ObjectMapper exactMapper() {
        return com.fasterxml.jackson.databind.json.JsonMapper.builder(factory())
                // java.time values (a record's LocalDate dateOfBirth) as ISO-8601 text, as events carry them.
                .addModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule())
                // Optional components: written as their value, or null when empty.
                .addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module())
                .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .configure(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false)
                .build();
    }

    /**
     * A JSON factory whose member names may be as long as its strings (Jackson stops names at 50,000
     * characters): a read model's state keys its maps by event values (a product name of 60,000 characters),
     * and a state that one event made unreadable would fail its read model for good, rebuilds included.
     */
    public static com.fasterxml.jackson.core.JsonFactory factory() {
        return com.fasterxml.jackson.core.JsonFactory.builder()
                .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                        .maxNameLength(com.fasterxml.jackson.core.StreamReadConstraints.DEFAULT_MAX_STRING_LEN)
                        .build())
                // An event may nest as deep as a reader takes (1,000 levels); an answer wraps it in a few more
                // (a page, a GraphQL result): written at the same limit, an accepted event would fail every
                // answer that holds it.
                .streamWriteConstraints(com.fasterxml.jackson.core.StreamWriteConstraints.builder()
                        .maxNestingDepth(2 * com.fasterxml.jackson.core.StreamReadConstraints.DEFAULT_MAX_DEPTH)
                        .build())
                .build();
    }

    /** The empty JSON object, {@code {}}. */
    public static final Json EMPTY_OBJECT = new Json("{}".getBytes(StandardCharsets.UTF_8));

    private final byte[] utf8;

    /** Where {@link #of} wrote marked record components; not part of its identity. */
    private final List<dev.lethe.core.privacy.schema.MarkRecorder.Mark> marks;

    /** Writes {@link #of}'s values, noting where each marked record component goes. */
    private static final ObjectMapper WRITER =
            exactMapper().registerModule(dev.lethe.core.privacy.schema.MarkRecorder.module());

    private Json(byte[] utf8) {
        this(utf8, List.of());
    }

    private Json(byte[] utf8, List<dev.lethe.core.privacy.schema.MarkRecorder.Mark> marks) {
        this.utf8 = utf8;
        this.marks = marks;
    }

    /**
     * Where {@link #of(Object)} wrote the record components marked {@code @PersonalData} or
     * {@code @DataSubject} of the value it was given, as Jackson wrote them (empty when parsed or given as
     * bytes): the privacy layer refuses an append that would store one unencrypted (a record behind an {@code
     * Object} component, or registered in an older version, or moved by a {@code @JsonTypeInfo} wrapper).
     * Not part of equality.
     */
    public List<dev.lethe.core.privacy.schema.MarkRecorder.Mark> writtenMarks() {
        return marks;
    }

    /**
     * Parses text as JSON.
     *
     * @throws InvalidEventException if the text is not exactly one well-formed JSON value
     */
    public static Json parse(String text) {
        if (text == null) {
            throw InvalidEventException.of("json", "JSON text is missing (null)");
        }
        // UTF-8 encoding would turn half a surrogate pair into '?' without a word: two values would be one.
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c)
                        && i + 1 < text.length()
                        && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    throw InvalidEventException.of(
                            "json",
                            "invalid JSON: half a UTF-16 surrogate pair, without its other half, is no character (at"
                                    + " character " + i + " of the text)");
                }
            }
        }
        return ofBytes(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Takes UTF-8 encoded JSON bytes, checking that they hold exactly one well-formed JSON value.
     * The array is copied.
     *
     * @throws InvalidEventException if the bytes are not well-formed JSON
     */
    public static Json ofBytes(byte[] utf8) {
        if (utf8 == null) {
            throw InvalidEventException.of("json", "JSON bytes are missing (null)");
        }
        byte[] copy = utf8.clone();
        validate(copy);
        return new Json(copy);
    }

    /**
     * Serialises a Jackson tree (or any value Jackson can write) as JSON.
     *
     * @throws InvalidEventException if it cannot be, or holds a string with half a surrogate pair (Jackson
     *     writes it as a {@code \\u} escape that {@link #parse} refuses, so it could never be read back)
     */
    public static Json of(Object value) {
        if (value instanceof Json json) {
            return json; // itself, its marks included
        }
        try {
            dev.lethe.core.privacy.schema.MarkRecorder.Written written =
                    dev.lethe.core.privacy.schema.MarkRecorder.write(WRITER, value);
            // Well-formed, one value: @JsonRawValue writes any text, which could hide a second value behind the
            // first (read, searched and sealed alone) or break every later read.
            validate(written.utf8());
            return new Json(written.utf8(), written.marks());
        } catch (JsonProcessingException e) {
            Throwable cause = e.getCause();
            // An accessor's or serializer's own exception may quote the value it failed on: its class only.
            String why = cause != null && !(cause instanceof JsonProcessingException)
                    ? "writing it threw " + cause.getClass().getName()
                    : e.getOriginalMessage();
            throw InvalidEventException.of("json", "value cannot be written as JSON: " + why);
        }
    }

    /** Writes a {@code Json} inside another value as its own JSON text. */
    static final class AsItself extends com.fasterxml.jackson.databind.ser.std.StdSerializer<Json> {
        AsItself() {
            super(Json.class);
        }

        @Override
        public void serialize(
                Json value,
                com.fasterxml.jackson.core.JsonGenerator generator,
                com.fasterxml.jackson.databind.SerializerProvider provider)
                throws IOException {
            if (!value.marks.isEmpty()) {
                // Where its marked components would land in the outer value is not recorded: the check that
                // refuses storing one unencrypted could not see them.
                // As a definition that cannot be written (what it is), so that a projection's failure quotes it too.
                throw com.fasterxml.jackson.databind.exc.InvalidDefinitionException.from(
                        generator,
                        "a Json written by Json.of from records with @PersonalData or @DataSubject components cannot"
                                + " be written inside another value: give the records themselves",
                        provider.constructType(Json.class));
            }
            // Well-formed already; Json.of checks the whole again.
            generator.writeRawValue(value.toString());
        }
    }

    /**
     * Wraps bytes that a storage engine wrote itself after validating them; not for user input.
     * The array is not copied and must not be modified afterwards.
     */
    public static Json trusted(byte[] utf8) {
        return new Json(utf8);
    }

    private static void validate(byte[] utf8) {
        requireUtf8(utf8);
        refuseLoneSurrogates(utf8);
        try (JsonParser parser = FACTORY.createParser(utf8)) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                throw InvalidEventException.of("json", "JSON is empty");
            }
            // Every token, not skipChildren: a decimal must be one a reader can hold exactly.
            for (int depth = 0; ; token = parser.nextToken()) {
                if (token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY) {
                    depth++;
                } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
                    depth--;
                } else if (token == JsonToken.VALUE_NUMBER_FLOAT || token == JsonToken.VALUE_NUMBER_INT) {
                    checkNumber(parser);
                }
                if (depth == 0) {
                    break;
                }
            }
            JsonToken trailing = parser.nextToken();
            if (trailing != null) {
                throw InvalidEventException.of(
                        "json",
                        "JSON has content after its first value at "
                                + parser.currentLocation().offsetDescription());
            }
        } catch (JsonProcessingException e) {
            throw InvalidEventException.of("json", "invalid JSON: " + describeError(e));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Longer numbers than this are refused, as Jackson's readers refuse them (StreamReadConstraints). */
    static final int MAX_NUMBER_LENGTH = 1_000;

    /**
     * Refuses a number no reader could hold exactly: longer than {@value #MAX_NUMBER_LENGTH} characters,
     * or with an exponent outside ±999,999,999 ({@code 1e9999999999}, which would stop every read of it).
     */
    private static void checkNumber(JsonParser parser) throws IOException {
        char[] text = parser.getTextCharacters();
        int offset = parser.getTextOffset();
        int length = parser.getTextLength();
        if (length > MAX_NUMBER_LENGTH) {
            throw InvalidEventException.of(
                    "json",
                    "a number of " + length + " characters at "
                            + parser.currentTokenLocation().offsetDescription() + " is longer than "
                            + MAX_NUMBER_LENGTH);
        }
        for (int i = offset; i < offset + length; i++) {
            if (text[i] == 'e' || text[i] == 'E') {
                int digits = 0;
                for (int k = i + 1; k < offset + length; k++) {
                    if (Character.isDigit(text[k]) && (digits > 0 || text[k] != '0')) {
                        digits++;
                    }
                }
                if (digits > 9) {
                    throw InvalidEventException.of(
                            "json",
                            "a number at " + parser.currentTokenLocation().offsetDescription()
                                    + " has an exponent beyond ±999,999,999");
                }
                return;
            }
        }
    }

    /**
     * Refuses a {@code \\u} escape of half a surrogate pair with no other half ({@code "\\udbff"}): it
     * is no character, every reader that decodes it makes it {@code ?} or refuses it, so two different
     * values would read the same (I-JSON, RFC 7493, forbids it too). Raw UTF-8 cannot hold one.
     */
    private static void refuseLoneSurrogates(byte[] utf8) {
        boolean wantLow = false;
        for (int i = 0; i < utf8.length; i++) {
            if (utf8[i] != '\\') {
                if (wantLow) {
                    break;
                }
                continue;
            }
            if (i + 1 < utf8.length && utf8[i + 1] == 'u' && i + 5 < utf8.length) {
                int unit = hex4(utf8, i + 2);
                boolean high = unit >= 0xD800 && unit <= 0xDBFF;
                boolean low = unit >= 0xDC00 && unit <= 0xDFFF;
                if ((low && !wantLow) || (wantLow && !low)) {
                    throw loneSurrogate(i);
                }
                wantLow = high;
                i += 5;
            } else {
                if (wantLow) {
                    break;
                }
                i++; // an escaped character: \\, \", \n…
            }
        }
        if (wantLow) {
            throw loneSurrogate(utf8.length);
        }
    }

    private static InvalidEventException loneSurrogate(int offset) {
        return InvalidEventException.of(
                "json",
                "invalid JSON: a \\u escape of half a UTF-16 surrogate pair, without its other half, is no"
                        + " character (near byte " + offset + ")");
    }

    /** The value of 4 hex digits at {@code at}, or -1 if they are not (the parser then names the problem). */
    private static int hex4(byte[] utf8, int at) {
        int value = 0;
        for (int k = 0; k < 4; k++) {
            int digit = Character.digit(utf8[at + k], 16);
            if (digit < 0) {
                return -1;
            }
            value = value * 16 + digit;
        }
        return value;
    }

    private static final java.util.regex.Pattern QUOTED = java.util.regex.Pattern.compile("'[^']*'");
    private static final java.util.Set<String> KEYWORDS = java.util.Set.of("'null'", "'true'", "'false'");

    /**
     * Refuses JSON in which an object has a member twice, naming it: for documents whose every member is
     * a decision (a schema: the second {@code "email"} would silently drop the first one's marking).
     * Event data is not held to it (its bytes are kept as written).
     */
    public static void requireUniqueMembers(byte[] utf8, String what) {
        try (com.fasterxml.jackson.core.JsonParser parser = UNIQUE.createParser(utf8)) {
            while (parser.nextToken() != null) {
                // reading is the check
            }
        } catch (com.fasterxml.jackson.core.JsonParseException e) {
            if (String.valueOf(e.getOriginalMessage()).startsWith("Duplicate field")) {
                String name;
                try {
                    name = e.getProcessor() == null ? null : e.getProcessor().currentName();
                } catch (java.io.IOException unnamed) {
                    name = null;
                }
                com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
                throw InvalidEventException.of(
                        what,
                        "has a member twice"
                                + (name == null
                                        ? ""
                                        : ": " + dev.lethe.core.privacy.policy.PolicyLinter.quotedName(name))
                                + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")")
                                + "; the second would replace the first");
            }
            // Not well-formed: the caller's own parse names that.
        } catch (java.io.IOException e) {
            // likewise
        }
    }

    private static final JsonFactory UNIQUE = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    /**
     * What is wrong with a JSON text, for an error message: Jackson's reason with its location, and
     * without the input it quotes ({@code Unrecognized token 'ada': …}), which may be personal data.
     */
    public static String describeError(JsonProcessingException e) {
        String reason = QUOTED.matcher(String.valueOf(e.getOriginalMessage()))
                .replaceAll(quoted -> KEYWORDS.contains(quoted.group()) ? quoted.group() : "'…'")
                // "('…' (code 110))": the character's code would give it away all the same.
                .replaceAll(" \\(code [^)]*\\)", "");
        com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
        return at == null || at.getLineNr() < 0
                ? reason
                : reason + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }

    /**
     * Refuses what Jackson would accept but is not UTF-8 JSON: a byte order mark, or a NUL byte, which
     * valid UTF-8 JSON never holds (a control character must be escaped) and UTF-16 or UTF-32 text
     * always does. Everything downstream (the privacy codec's byte scanner, the storage) reads UTF-8.
     */
    private static void requireUtf8(byte[] bytes) {
        if (bytes.length >= 2
                && ((bytes[0] == (byte) 0xEF && bytes[1] == (byte) 0xBB)
                        || (bytes[0] == (byte) 0xFE && bytes[1] == (byte) 0xFF)
                        || (bytes[0] == (byte) 0xFF && bytes[1] == (byte) 0xFE))) {
            throw InvalidEventException.of("json", "starts with a byte order mark; JSON must be UTF-8 without one");
        }
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                throw InvalidEventException.of(
                        "json",
                        "holds a NUL byte at offset " + i
                                + "; JSON must be UTF-8 (not UTF-16 or UTF-32), with control characters escaped");
            }
        }
    }

    /** The UTF-8 bytes; a copy. */
    public byte[] toBytes() {
        return utf8.clone();
    }

    /** The UTF-8 bytes, not copied: callers must not modify them. For storage engines. */
    public byte[] unsafeBytes() {
        return utf8;
    }

    /** The number of UTF-8 bytes. */
    public int size() {
        return utf8.length;
    }

    /** Parses the JSON into a Jackson tree. */
    public JsonNode asTree() {
        try {
            return MAPPER.readTree(utf8);
        } catch (IOException | RuntimeException exactly) {
            // A number stored before such numbers were refused (1e9999999999) has no exact form: read
            // it as a double, as Lethe did then, rather than fail every read of the event.
            try {
                return LENIENT.readTree(utf8);
            } catch (IOException e) {
                throw new UncheckedIOException("stored JSON no longer parses", e);
            }
        }
    }

    private static final ObjectMapper LENIENT = new ObjectMapper();

    /** Whether the value is a JSON object. */
    public boolean isObject() {
        for (byte b : utf8) {
            if (b == ' ' || b == '\t' || b == '\n' || b == '\r') {
                continue;
            }
            return b == '{';
        }
        return false;
    }

    /** The JSON text. */
    @Override
    public String toString() {
        return new String(utf8, StandardCharsets.UTF_8);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Json json && Arrays.equals(utf8, json.utf8);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(utf8);
    }
}
