package dev.lethe.core.privacy.schema;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks the record component that names the event's data subject: a subject id, or a natural key
 * (an e-mail address, a customer number) that the key service maps to one. Add {@link PersonalData}
 * too when the key is itself personal data.
 */
@Retention(RetentionPolicy.RUNTIME)
// Record components only: Lethe reads records, and a class's field marked personal would be stored as it is.
@Target(ElementType.RECORD_COMPONENT)
public @interface DataSubject {}
