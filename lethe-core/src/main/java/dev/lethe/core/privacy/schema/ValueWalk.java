package dev.lethe.core.privacy.schema;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Counts, in a Java value, the records with a component marked {@code @PersonalData} or {@code @DataSubject}
 * that Jackson writes (not {@code @JsonIgnore}d), each instance as often as the value reaches it: through
 * records, collections and any {@code Iterable}, maps (keys and values), arrays, {@code Optional}s,
 * {@code AtomicReference}s, Jackson's {@code POJONode}s, and the fields of the application's own classes.
 * {@link MarkRecorder#write} compares these counts with how often Jackson wrote each one through its
 * properties: one written otherwise is refused.
 */
final class ValueWalk {
    private ValueWalk() {}

    /** How many objects one walk visits at most (an event is at most 1 MiB of JSON: far fewer). */
    private static final int MAX_VISITS = 4_000_000;

    static void count(Object value, IdentityHashMap<Object, Integer> found) {
        new ValueWalk.Walk(found).visit(value);
    }

    private static final class Walk {
        private final IdentityHashMap<Object, Integer> found;
        private final Set<Object> onPath = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        private int visits;

        Walk(IdentityHashMap<Object, Integer> found) {
            this.found = found;
        }

        void visit(Object value) {
            if (value == null || ++visits > MAX_VISITS || plain(value.getClass()) || !onPath.add(value)) {
                return; // a value on its own path: a cycle, which Jackson refuses itself
            }
            try {
                Class<?> type = value.getClass();
                if (type.isRecord()) {
                    if (WRITTEN_MARKS.get(type)) {
                        found.merge(value, 1, Integer::sum);
                    }
                    for (RecordComponent component : type.getRecordComponents()) {
                        if (!ignored(type, component)) { // what Jackson does not write holds nothing it writes
                            visit(read(component, value));
                        }
                    }
                } else if (value instanceof Optional<?> optional) {
                    visit(optional.orElse(null));
                } else if (value instanceof java.util.concurrent.atomic.AtomicReference<?> reference) {
                    visit(reference.get());
                } else if (value instanceof com.fasterxml.jackson.databind.node.POJONode pojo) {
                    visit(pojo.getPojo());
                } else if (value instanceof Map<?, ?> map) {
                    for (Map.Entry<?, ?> entry : map.entrySet()) {
                        visit(entry.getKey());
                        visit(entry.getValue());
                    }
                } else if (value instanceof Iterable<?> iterable) {
                    for (Object element : iterable) {
                        visit(element);
                    }
                } else if (value instanceof Object[] array) {
                    for (Object element : array) {
                        visit(element);
                    }
                } else if (applicationClass(type)) {
                    for (Field field : FIELDS.get(type)) {
                        try {
                            visit(field.get(value));
                        } catch (IllegalAccessException | RuntimeException unreadable) {
                            // not readable here: Jackson reads it through a getter if at all
                        }
                    }
                }
            } finally {
                onPath.remove(value);
            }
        }
    }

    private static Object read(RecordComponent component, Object record) {
        try {
            java.lang.reflect.Method accessor = component.getAccessor();
            accessor.setAccessible(true);
            return accessor.invoke(record);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // Jackson called the same accessor first, and failed before this
        }
    }

    /** Values that hold nothing: strings, numbers, booleans, enums, the JDK's time and id types, primitive arrays. */
    private static boolean plain(Class<?> type) {
        return type.isPrimitive()
                || type.isEnum()
                || CharSequence.class.isAssignableFrom(type)
                || Number.class.isAssignableFrom(type)
                || type == Boolean.class
                || type == Character.class
                || (type.isArray() && type.getComponentType().isPrimitive())
                || java.time.temporal.TemporalAccessor.class.isAssignableFrom(type)
                || type == java.util.UUID.class
                || com.fasterxml.jackson.databind.node.ValueNode.class.isAssignableFrom(type)
                        && !(com.fasterxml.jackson.databind.node.POJONode.class.isAssignableFrom(type));
    }

    private static boolean applicationClass(Class<?> type) {
        String name = type.getName();
        return !name.startsWith("java.")
                && !name.startsWith("javax.")
                && !name.startsWith("jdk.")
                && !name.startsWith("sun.")
                && !name.startsWith("com.fasterxml.jackson.");
    }

    /** Whether Jackson writes a marked component of this record (one that is not {@code @JsonIgnore}d). */
    private static final ClassValue<Boolean> WRITTEN_MARKS = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> record) {
            for (RecordComponent component : record.getRecordComponents()) {
                boolean marked = component.isAnnotationPresent(PersonalData.class)
                        || component.isAnnotationPresent(DataSubject.class);
                if (marked && !ignored(record, component)) {
                    return true;
                }
            }
            return false;
        }
    };

    private static boolean ignored(Class<?> record, RecordComponent component) {
        if (component.getAccessor().isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnore.class)) {
            return true;
        }
        try {
            return record.getDeclaredField(component.getName())
                    .isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnore.class);
        } catch (NoSuchFieldException none) {
            return false;
        }
    }

    /** The instance fields of an application class and its application superclasses, made readable. */
    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> at = type; at != null && applicationClass(at); at = at.getSuperclass()) {
                for (Field field : at.getDeclaredFields()) {
                    if (!Modifier.isStatic(field.getModifiers())
                            && !Modifier.isTransient(field.getModifiers())
                            && !field.getType().isPrimitive()
                            && !field.isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnore.class)) {
                        try {
                            field.setAccessible(true);
                            fields.add(field);
                        } catch (RuntimeException closed) {
                            // a module that does not open it
                        }
                    }
                }
            }
            return List.copyOf(fields);
        }
    };
}
