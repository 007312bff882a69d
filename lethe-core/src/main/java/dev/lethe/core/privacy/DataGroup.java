package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;
import java.util.regex.Pattern;

/**
 * A group of personal data with one retention and one access rule ({@code identity}, {@code contact},
 * {@code financial}, …): 1–50 lower-case letters, digits, {@code _} or {@code -}.
 */
public record DataGroup(String name) {
    private static final Pattern VALID = Pattern.compile("[a-z][a-z0-9_-]{0,49}");

    /** The group of a personal field whose schema names none. */
    public static final DataGroup DEFAULT = new DataGroup("identity");

    public DataGroup {
        if (name == null || !VALID.matcher(name).matches()) {
            throw InvalidEventException.of(
                    "data group",
                    "'" + name + "' must be 1-50 lower-case letters, digits, _ or -, starting with a letter");
        }
    }

    private static final java.util.Map<String, DataGroup> KNOWN = new java.util.concurrent.ConcurrentHashMap<>();

    /** The group of that name; names already seen are not validated again (reads parse one per field). */
    public static DataGroup of(String name) {
        DataGroup known = name == null ? null : KNOWN.get(name);
        if (known != null) {
            return known;
        }
        DataGroup group = new DataGroup(name);
        if (KNOWN.size() < 10_000) {
            KNOWN.put(name, group);
        }
        return group;
    }

    @Override
    public String toString() {
        return name;
    }
}
