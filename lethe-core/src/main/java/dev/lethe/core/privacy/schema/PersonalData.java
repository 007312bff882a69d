package dev.lethe.core.privacy.schema;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a record component as personal data of a data group: it is encrypted before it is stored,
 * under the keys of its subject and of its group's retention period.
 */
@Retention(RetentionPolicy.RUNTIME)
// Record components only: Lethe reads records, and a class's field marked personal would be stored as it is.
@Target(ElementType.RECORD_COMPONENT)
public @interface PersonalData {
    /** The data group; {@code identity} when not given. */
    String group() default "identity";

    /** For events that name several subjects: the component (a {@link DataSubject}) that owns this one. */
    String subject() default "";
}
