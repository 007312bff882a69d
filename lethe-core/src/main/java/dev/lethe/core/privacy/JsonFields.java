package dev.lethe.core.privacy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Finds the values at a few dotted paths of a JSON object held as UTF-8 bytes, with their exact byte
 * ranges, without building a tree or a token stream. The codec seals and opens personal fields by
 * splicing those ranges, so every byte outside them is stored and returned exactly as written.
 *
 * <p>The input must be well-formed JSON (every {@code Json} is checked when it is made); this class
 * does not validate it again. Only objects are walked: a path never enters an array (as {@link
 * PrivacyCodec#at} does not). A name written with escapes ({@code "\u0065mail"}) is decoded before it
 * is compared, so it cannot hide a personal field. A name that appears twice in one object yields two
 * hits, in document order.
 */
final class JsonFields {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a value is, from its first byte. */
    enum Kind {
        STRING,
        NUMBER,
        OBJECT,
        ARRAY,
        TRUE,
        FALSE,
        NULL,
        /** Not a value: a member name holding a {@code .} whose first part is a name looked for here. */
        DOTTED_NAME,
        /**
         * Not a value: a name on the way to a path (path: that prefix) whose value is neither an object
         * nor null, so the walk cannot go on to the paths inside it (an array of objects, say).
         */
        NOT_AN_OBJECT
    }

    /** A value found at one of the paths: its kind and its bytes {@code [start, end)}. */
    record Hit(String path, Kind kind, int start, int end) {
        boolean isNull() {
            return kind == Kind.NULL;
        }

        boolean isScalar() {
            return kind != Kind.OBJECT && kind != Kind.ARRAY;
        }

        /** A scalar's text: a string's decoded value, or a number's or literal's JSON text. */
        String text(byte[] json) {
            if (kind != Kind.STRING) {
                return new String(json, start, end - start, StandardCharsets.UTF_8);
            }
            if (isPlainString(json, start, end)) {
                return new String(json, start + 1, end - start - 2, StandardCharsets.UTF_8);
            }
            return decodeString(json, start, end);
        }
    }

    /** Receives the hits in document order. */
    @FunctionalInterface
    interface Visitor {
        void hit(Hit hit);
    }

    /**
     * One object level: the names to look for in one object, as UTF-8 bytes (compared without decoding,
     * since there are only a few), their paths (leaves) and levels (containers). With a {@link
     * #JsonFields(Set, boolean, Set) fallback}, also its names by {@link #normalized} form, and the names
     * of the real fields there, which never fall back.
     */
    private record Level(
            byte[][] names,
            String[] paths,
            Level[] children,
            String prefix,
            Map<String, Integer> byNormalized,
            int[] normalizedHashes,
            Set<String> realNames,
            long[] byHash) {
        int indexOf(byte[] json, int start, int end) {
            if (byHash != null) {
                // A wide level (a schema of thousands of fields): a binary search by the name's hash, not a scan
                // of every name for every member (an event of 80,000 members took 6.6 s against 1.5 s).
                long hash = bytesHash(json, start, end);
                int at = java.util.Arrays.binarySearch(byHash, hash << 32);
                for (int i = at < 0 ? -at - 1 : at; i < byHash.length && byHash[i] >> 32 == hash; i++) {
                    byte[] name = names[(int) byHash[i]];
                    if (name.length == end - start && Arrays.equals(json, start, end, name, 0, name.length)) {
                        return (int) byHash[i];
                    }
                }
                return -1;
            }
            for (int i = 0; i < names.length; i++) {
                byte[] name = names[i];
                if (name.length == end - start && Arrays.equals(json, start, end, name, 0, name.length)) {
                    return i;
                }
            }
            return -1;
        }

        int indexOf(String decoded) {
            byte[] bytes = decoded.getBytes(StandardCharsets.UTF_8);
            return indexOf(bytes, 0, bytes.length);
        }

        /** The name a member name not found here spells another way, or -1 (also for a real field's name). */
        int fallback(String name) {
            if (byNormalized == null || realNames.contains(name)) {
                return -1;
            }
            return byNormalized.getOrDefault(normalized(name), -1);
        }
    }

    /** Levels with more names than this are searched by hash (see {@link Level#indexOf}). */
    private static final int SCANNED_NAMES = 16;

    /** A hash of {@code json[start, end)}, as an int. */
    private static long bytesHash(byte[] json, int start, int end) {
        int hash = 1;
        for (int i = start; i < end; i++) {
            hash = 31 * hash + json[i];
        }
        return hash;
    }

    /** Each name's hash in the upper 32 bits and its index in the lower, sorted: null for a level of a few names. */
    private static long[] byHash(byte[][] names) {
        if (names.length <= SCANNED_NAMES) {
            return null;
        }
        long[] out = new long[names.length];
        for (int i = 0; i < names.length; i++) {
            out[i] = (bytesHash(names[i], 0, names[i].length) << 32) | i;
        }
        java.util.Arrays.sort(out);
        return out;
    }

    /**
     * Whether the member name at {@code json[start, end)} may be, {@link #normalized}, one of those whose
     * hashes are given: its normalized hash computed on the bytes, without building a string, for names
     * in ASCII without escapes (true, to be checked in full, for the others). Most names of an event are
     * none, and cost no allocation.
     */
    private static boolean mayNormalizeToOne(byte[] json, int start, int end, int[] hashes) {
        int hash = 0;
        for (int i = start; i < end; i++) {
            byte b = json[i];
            if (b < 0 || b == '\\') {
                return true;
            }
            if (b >= 'A' && b <= 'Z') {
                hash = 31 * hash + (b + ('a' - 'A'));
            } else if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) {
                hash = 31 * hash + b;
            }
        }
        if (hashes.length > SCANNED_NAMES) {
            return java.util.Arrays.binarySearch(hashes, hash) >= 0; // sorted, for wide levels
        }
        for (int candidate : hashes) {
            if (candidate == hash) {
                return true;
            }
        }
        return false;
    }

    /** A name without case and without anything but letters and digits: {@code e_Mail}, {@code EMAIL} read email. */
    static String normalized(String name) {
        StringBuilder out = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            if (Character.isLetterOrDigit(c)) {
                out.appendCodePoint(Character.toLowerCase(c));
            }
            i += Character.charCount(c);
        }
        return out.toString();
    }

    private final Level root;
    private final boolean reportShapeProblems;

    JsonFields(Set<String> paths) {
        this(paths, false);
    }

    /**
     * A scanner for spellings: as {@link #JsonFields(Set, boolean)}, and a member name found at no path
     * that, {@link #normalized}, equals a name looked for at its level (and is not one of the {@code real}
     * paths' names there, the type's own fields) is read as that name: {@code nAme} and {@code "name "}
     * as a spelling of {@code name} that a list of conventions would miss.
     */
    JsonFields(Set<String> paths, boolean reportShapeProblems, Set<String> real) {
        this.root = level(paths, "", real);
        this.reportShapeProblems = reportShapeProblems;
    }

    /**
     * @param reportShapeProblems whether a member name such as {@code "contact.email"}, whose part before
     *     the first {@code .} is a name looked for in that object, is reported as a {@link
     *     Kind#DOTTED_NAME} hit (path: the name): it reads like a path to a classified field, but is not one;
     *     and a name on the way to a path whose value is not an object, as a {@link Kind#NOT_AN_OBJECT} hit
     */
    JsonFields(Set<String> paths, boolean reportShapeProblems) {
        this.root = level(paths, "", null);
        this.reportShapeProblems = reportShapeProblems;
    }

    private static Level level(Set<String> paths, String prefix, Set<String> real) {
        Map<String, String> leaves = new TreeMap<>();
        Map<String, Set<String>> deeper = new TreeMap<>();
        for (String path : paths) {
            if (!path.startsWith(prefix)) {
                continue;
            }
            String rest = path.substring(prefix.length());
            int dot = rest.indexOf('.');
            if (dot < 0) {
                leaves.put(rest, path);
            } else {
                deeper.computeIfAbsent(rest.substring(0, dot), n -> new HashSet<>())
                        .add(path);
            }
        }
        Set<String> names = new TreeSet<>(leaves.keySet());
        names.addAll(deeper.keySet());
        byte[][] bytes = new byte[names.size()][];
        String[] leafPaths = new String[names.size()];
        Level[] children = new Level[names.size()];
        int i = 0;
        Map<String, Integer> byNormalized = real == null ? null : new java.util.HashMap<>();
        Set<String> realNames = real == null ? null : new HashSet<>();
        if (real != null) {
            for (String path : real) {
                if (path.startsWith(prefix)) {
                    String rest = path.substring(prefix.length());
                    int dot = rest.indexOf('.');
                    realNames.add(dot < 0 ? rest : rest.substring(0, dot));
                }
            }
        }
        for (String name : names) {
            bytes[i] = name.getBytes(StandardCharsets.UTF_8);
            leafPaths[i] = leaves.get(name);
            children[i] = deeper.containsKey(name) ? level(deeper.get(name), prefix + name + ".", real) : null;
            if (byNormalized != null && !realNames.contains(name)) {
                byNormalized.putIfAbsent(normalized(name), i);
            }
            i++;
        }
        int[] hashes = byNormalized == null
                ? null
                : byNormalized.keySet().stream().mapToInt(String::hashCode).toArray();
        if (hashes != null && hashes.length > SCANNED_NAMES) {
            java.util.Arrays.sort(hashes);
        }
        return new Level(bytes, leafPaths, children, prefix, byNormalized, hashes, realNames, byHash(bytes));
    }

    /** Visits the values at the paths; returns false if the JSON is not an object (nothing visited). */
    boolean scan(byte[] json, Visitor visitor) {
        int i = whitespace(json, 0);
        if (i >= json.length || json[i] != '{') {
            return false;
        }
        walk(json, i, root, visitor, reportShapeProblems);
        return true;
    }

    /** Walks the object starting at {@code json[i] == '{'}; returns the offset just past it. */
    private static int walk(byte[] json, int i, Level level, Visitor visitor, boolean reportShapeProblems) {
        i = whitespace(json, i + 1);
        if (json[i] == '}') {
            return i + 1;
        }
        while (true) {
            int nameEnd = stringEnd(json, i);
            int index = isPlainString(json, i, nameEnd)
                    ? level.indexOf(json, i + 1, nameEnd - 1)
                    : level.indexOf(decodeString(json, i, nameEnd));
            if (index < 0
                    && level.byNormalized() != null
                    && !level.byNormalized().isEmpty()
                    && mayNormalizeToOne(json, i + 1, nameEnd - 1, level.normalizedHashes())) {
                index = level.fallback(
                        isPlainString(json, i, nameEnd)
                                ? new String(json, i + 1, nameEnd - i - 2, StandardCharsets.UTF_8)
                                : decodeString(json, i, nameEnd));
            }
            if (index < 0 && reportShapeProblems) {
                String dotted = dottedName(json, i, nameEnd, level);
                if (dotted != null) {
                    visitor.hit(new Hit(dotted, Kind.DOTTED_NAME, i, nameEnd));
                }
            }
            int start = whitespace(json, whitespace(json, nameEnd) + 1);
            Level child = index < 0 ? null : level.children()[index];
            int end = child != null && json[start] == '{'
                    ? walk(json, start, child, visitor, reportShapeProblems)
                    : valueEnd(json, start);
            if (child != null
                    && reportShapeProblems
                    && level.paths()[index] == null // a leaf too (sealed whole): its value is found anyway
                    && json[start] != '{'
                    && json[start] != 'n') {
                String prefix = child.prefix();
                visitor.hit(new Hit(prefix.substring(0, prefix.length() - 1), Kind.NOT_AN_OBJECT, start, end));
            }
            if (index >= 0 && level.paths()[index] != null) {
                visitor.hit(new Hit(level.paths()[index], kind(json[start]), start, end));
            }
            i = whitespace(json, end);
            if (json[i] == '}') {
                return i + 1;
            }
            i = whitespace(json, i + 1); // past the comma
        }
    }

    /**
     * The member name at {@code [start, end)} if it holds a '.' and, read as a path from {@code level},
     * names a path looked for or the way to one ({@code "contact.email"}); null otherwise ({@code
     * "email.verified"} beside a leaf {@code email} names nothing classified).
     */
    private static String dottedName(byte[] json, int start, int end, Level level) {
        boolean suspect = false;
        for (int i = start + 1; i < end - 1 && !suspect; i++) {
            suspect = json[i] == '.' || json[i] == '\\';
        }
        if (!suspect) {
            return null;
        }
        String name = isPlainString(json, start, end)
                ? new String(json, start + 1, end - start - 2, StandardCharsets.UTF_8)
                : decodeString(json, start, end);
        if (name.indexOf('.') < 0) {
            return null;
        }
        String[] segments = name.split("\\.", -1);
        Level current = level;
        for (int i = 0; i < segments.length; i++) {
            int index = current.indexOf(segments[i]);
            if (index < 0) {
                index = current.fallback(segments[i]); // another spelling, in a spelling scanner
            }
            if (index < 0) {
                return null;
            }
            if (i == segments.length - 1) {
                return name;
            }
            current = current.children()[index];
            if (current == null) {
                return null;
            }
        }
        return null;
    }

    private static Kind kind(byte first) {
        return switch (first) {
            case '"' -> Kind.STRING;
            case '{' -> Kind.OBJECT;
            case '[' -> Kind.ARRAY;
            case 't' -> Kind.TRUE;
            case 'f' -> Kind.FALSE;
            case 'n' -> Kind.NULL;
            default -> Kind.NUMBER;
        };
    }

    /** The offset just past the value starting at {@code start}. */
    private static int valueEnd(byte[] json, int start) {
        byte first = json[start];
        if (first == '"') {
            return stringEnd(json, start);
        }
        if (first == '{' || first == '[') {
            int depth = 0;
            for (int i = start; ; ) {
                byte b = json[i];
                if (b == '"') {
                    i = stringEnd(json, i);
                    continue;
                }
                if (b == '{' || b == '[') {
                    depth++;
                } else if ((b == '}' || b == ']') && --depth == 0) {
                    return i + 1;
                }
                i++;
            }
        }
        int i = start;
        while (i < json.length && !isDelimiter(json[i])) {
            i++;
        }
        return i;
    }

    /** The offset just past the string whose opening quote is at {@code start}. */
    private static int stringEnd(byte[] json, int start) {
        int i = start + 1;
        // Eight bytes at a time while none of them is a quote or a backslash (envelopes are long).
        while (i + Long.BYTES <= json.length) {
            long word = (long) LONGS.get(json, i);
            if (hasByte(word, QUOTES) || hasByte(word, BACKSLASHES)) {
                break;
            }
            i += Long.BYTES;
        }
        while (json[i] != '"') {
            i += json[i] == '\\' ? 2 : 1;
        }
        return i + 1;
    }

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGHS = 0x8080808080808080L;
    private static final long QUOTES = ONES * '"';
    private static final long BACKSLASHES = ONES * '\\';

    /** Whether any byte of {@code word} equals the byte repeated in {@code pattern}. */
    private static boolean hasByte(long word, long pattern) {
        long x = word ^ pattern;
        return ((x - ONES) & ~x & HIGHS) != 0;
    }

    private static int whitespace(byte[] json, int i) {
        while (i < json.length && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) {
            i++;
        }
        return i;
    }

    private static boolean isDelimiter(byte b) {
        return b == ',' || b == '}' || b == ']' || b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }

    /** Whether the string value at {@code [start, end)} (quotes included) has no escape sequence. */
    static boolean isPlainString(byte[] json, int start, int end) {
        for (int i = start + 1; i < end - 1; i++) {
            if (json[i] == '\\') {
                return false;
            }
        }
        return true;
    }

    private static String decodeString(byte[] json, int start, int end) {
        try {
            return JSON.readValue(json, start, end - start, String.class);
        } catch (IOException e) {
            throw new UncheckedIOException("a JSON string that was valid when stored no longer parses", e);
        }
    }
}
