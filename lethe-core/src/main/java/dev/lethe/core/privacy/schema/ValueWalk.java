package dev.lethe.core.privacy.schema;

import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.introspect.AnnotatedMember;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
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
 * Walks a Java value as {@link MarkRecorder#write} checks it, for two things:
 *
 * <ul>
 *   <li>how often it reaches each record with a component marked {@code @PersonalData} or {@code @DataSubject},
 *       through what Jackson writes — records' and the application's classes' properties as Jackson finds them
 *       (through the same accessors), collections and any {@code Iterable}, maps (keys and values), map
 *       entries, arrays, {@code Optional}, {@code AtomicReference} and {@code AtomicReferenceArray}, Jackson's
 *       {@code POJONode}: compared with how often Jackson wrote each through its properties;
 *   <li>the text of every {@code @PersonalData} value it can reach, through those and through fields Jackson
 *       does not write (transient, ignored, private without a getter), which a getter of another name may
 *       still write in some form (its {@code toString}): looked for in what was written.
 * </ul>
 */
final class ValueWalk {
    /** How many objects one walk visits at most; a value that needs more is refused, not half-checked. */
    static final int MAX_VISITS = 1_000_000;

    private final SerializationConfig config;
    final IdentityHashMap<Object, Integer> written = new IdentityHashMap<>();
    /** Each {@code @PersonalData} text reached, with the component that holds it ({@code Addr.street}). */
    final Map<String, String> personalTexts = new java.util.HashMap<>();

    private final Set<Object> onPath = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Object> searched = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private final Set<Object> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    private int visits;

    ValueWalk(SerializationConfig config) {
        this.config = config;
    }

    /** Walks {@code value}; false when it holds more than {@link #MAX_VISITS} objects to look at. */
    boolean walk(Object value) {
        visit(value, true);
        return visits <= MAX_VISITS;
    }

    /**
     * {@code counted}: reached through what Jackson writes (else only through a field it does not write, where
     * only the personal texts are gathered).
     */
    private void visit(Object value, boolean counted) {
        if (value == null || plain(value.getClass()) || visits > MAX_VISITS) {
            return;
        }
        // Counted as often as Jackson writes it; looked through for texts only once.
        if (!seen.add(value) && !counted) {
            return;
        }
        if (!onPath.add(value)) {
            return; // a value on its own path: a cycle, which Jackson refuses itself
        }
        visits++;
        try {
            Class<?> type = value.getClass();
            if (type.isRecord()) {
                if (counted && WRITTEN_MARKS.get(type)) {
                    written.merge(value, 1, Integer::sum);
                }
                gatherTexts(type, value);
                visitProperties(type, value, counted);
            } else if (value instanceof Optional<?> optional) {
                visit(optional.orElse(null), counted);
            } else if (value instanceof java.util.concurrent.atomic.AtomicReference<?> reference) {
                visit(reference.get(), counted);
            } else if (value instanceof java.util.concurrent.atomic.AtomicReferenceArray<?> array) {
                for (int i = 0; i < array.length(); i++) {
                    visit(array.get(i), counted);
                }
            } else if (value instanceof com.fasterxml.jackson.databind.node.POJONode pojo) {
                visit(pojo.getPojo(), counted);
            } else if (value instanceof Map.Entry<?, ?> entry) {
                visit(entry.getKey(), counted);
                visit(entry.getValue(), counted);
            } else if (value instanceof Map<?, ?> map) {
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    visit(entry.getKey(), counted);
                    visit(entry.getValue(), counted);
                }
            } else if (value instanceof Iterable<?> iterable) {
                for (Object element : iterable) {
                    visit(element, counted);
                }
            } else if (value instanceof Object[] array) {
                for (Object element : array) {
                    visit(element, counted);
                }
            } else if (applicationClass(type) || value instanceof Throwable) {
                // An exception is written as a bean: its cause, its suppressed ones (the application's, with
                // their fields), its message.
                visitProperties(type, value, counted);
            }
        } finally {
            onPath.remove(value);
        }
    }

    /**
     * The properties Jackson writes of {@code value}, read through its accessors, counted; then the fields it
     * does not write, for the personal texts only.
     */
    private void visitProperties(Class<?> type, Object value, boolean counted) {
        for (AnnotatedMember accessor : PROPERTIES.get(type, config)) {
            Object property;
            try {
                property = accessor.getValue(value);
            } catch (RuntimeException e) {
                continue; // Jackson called the same accessor first, and failed before this
            }
            if (property != null
                    && property.getClass().isAnnotationPresent(com.fasterxml.jackson.annotation.JsonIgnoreType.class)) {
                continue; // Jackson leaves such values out
            }
            visit(property, counted);
        }
        if (searched.add(value)) {
            for (Field field : FIELDS.get(type)) {
                try {
                    visit(field.get(value), false);
                } catch (IllegalAccessException | RuntimeException unreadable) {
                    // a field this module may not read: its getter, if Jackson writes one, was read above
                }
            }
        }
    }

    /** The text of each {@code @PersonalData} component of {@code record} that holds a string. */
    private void gatherTexts(Class<?> type, Object record) {
        for (RecordComponent component : type.getRecordComponents()) {
            if (component.isAnnotationPresent(PersonalData.class)) {
                Object held = read(component, record);
                if (held instanceof Optional<?> optional) {
                    held = optional.orElse(null);
                }
                String name = type.getSimpleName() + "." + component.getName();
                if (held instanceof java.util.Collection<?> collection) {
                    for (Object element : collection) {
                        gatherText(element, name);
                    }
                } else {
                    gatherText(held, name);
                }
            }
        }
    }

    /** A text, a date or time, an id: as Jackson writes them, the text a getter could write again. */
    private void gatherText(Object held, String component) {
        if (held instanceof CharSequence
                || held instanceof java.time.temporal.TemporalAccessor
                || held instanceof java.util.UUID) {
            personalTexts.putIfAbsent(held.toString(), component);
        }
    }

    private static Object read(RecordComponent component, Object record) {
        try {
            java.lang.reflect.Method accessor = component.getAccessor();
            accessor.setAccessible(true);
            return accessor.invoke(record);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
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
                || (com.fasterxml.jackson.databind.node.ValueNode.class.isAssignableFrom(type)
                        && !com.fasterxml.jackson.databind.node.POJONode.class.isAssignableFrom(type));
    }

    static boolean applicationClass(Class<?> type) {
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

    /** The accessors of the properties Jackson writes of a class, by class (one mapper writes Json.of's values). */
    private static final class Properties {
        private final java.util.concurrent.ConcurrentHashMap<Class<?>, List<AnnotatedMember>> byType =
                new java.util.concurrent.ConcurrentHashMap<>();

        List<AnnotatedMember> get(Class<?> type, SerializationConfig config) {
            return byType.computeIfAbsent(type, t -> find(t, config));
        }

        private static List<AnnotatedMember> find(Class<?> type, SerializationConfig config) {
            BeanDescription description = config.introspect(config.constructType(type));
            Set<String> ignoredByClass = config.getDefaultPropertyIgnorals(type, description.getClassInfo())
                    .findIgnoredForSerialization();
            List<AnnotatedMember> accessors = new ArrayList<>();
            for (BeanPropertyDefinition property : description.findProperties()) {
                AnnotatedMember accessor = property.getAccessor();
                if (accessor != null && !ignoredByClass.contains(property.getName())) {
                    accessor.fixAccess(true);
                    accessors.add(accessor);
                }
            }
            return List.copyOf(accessors);
        }
    }

    private static final Properties PROPERTIES = new Properties();

    /** The instance fields of a class of the application's (records too) and its superclasses, made readable. */
    private static final ClassValue<List<Field>> FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> at = type; at != null && applicationClass(at); at = at.getSuperclass()) {
                for (Field field : at.getDeclaredFields()) {
                    if (!Modifier.isStatic(field.getModifiers())
                            && !field.getType().isPrimitive()) {
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
