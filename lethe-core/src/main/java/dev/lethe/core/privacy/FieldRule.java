package dev.lethe.core.privacy;

import dev.lethe.core.store.InvalidEventException;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How one field of an event type is treated: whether it is personal data ({@code pii}), whether it
 * names the data subject ({@code key}), the data group of a personal field, and, for events that name
 * several subjects, which key field owns this personal field ({@code subjectField}).
 *
 * <p>A field is named by its path in the event's JSON data: property names joined by {@code .}
 * ({@code address.city}).
 *
 * @param path the field's path
 * @param personal whether the value is personal data, encrypted before it is stored
 * @param subjectKey whether the value names the data subject (a subject id or a natural key)
 * @param group the data group of a personal field ({@link DataGroup#DEFAULT} when a personal field
 *     names none); a non-personal field may carry one as a label, which changes nothing
 * @param subjectField the path of the key field whose subject owns this personal field; empty: the
 *     event's only (or first) key field
 */
public record FieldRule(
        String path, boolean personal, boolean subjectKey, Optional<DataGroup> group, Optional<String> subjectField) {
    private static final Pattern PATH = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

    /**
     * The longest path a new schema version may classify, in characters (ASCII: bytes too). The envelope's
     * associated data carries the path's length in two bytes (docs/privacy.md §5), which this keeps far
     * from overflowing; no schema needs more. Checked when a version is registered
     * ({@link SchemaRegistry}), not when stored versions are read: one registered before the limit still
     * loads.
     */
    public static final int MAX_PATH_LENGTH = 1000;

    public FieldRule {
        if (path == null || !PATH.matcher(path).matches()) {
            throw InvalidEventException.of(
                    "field path",
                    "'" + path + "' cannot be classified: a classified field's path is property names of ASCII"
                            + " letters, digits and '_' (not starting with a digit), joined by '.'; rename the"
                            + " property (e.g. e_mail for e-mail)");
        }
        if (personal && group.isEmpty()) {
            group = Optional.of(DataGroup.DEFAULT);
        }
    }

    /** A personal field of a group. */
    public static FieldRule personal(String path, String group) {
        return new FieldRule(path, true, false, Optional.of(DataGroup.of(group)), Optional.empty());
    }

    /** The data subject's key; {@code personal} if it is also personal data (an e-mail address). */
    public static FieldRule subjectKey(String path, boolean personal, String groupIfPersonal) {
        return new FieldRule(
                path,
                personal,
                true,
                personal ? Optional.of(DataGroup.of(groupIfPersonal)) : Optional.empty(),
                Optional.empty());
    }

    /** This rule with the owning key field named. */
    public FieldRule ownedBy(String keyFieldPath) {
        return new FieldRule(path, personal, subjectKey, group, Optional.of(keyFieldPath));
    }
}
