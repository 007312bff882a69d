/**
 * The three notations of the privacy model: Java annotations ({@link dev.lethe.core.privacy.schema.AnnotationNotation}),
 * JSON Schema ({@link dev.lethe.core.privacy.schema.JsonSchemaNotation}) and, in the lethe-protobuf module,
 * Protobuf custom field options. All produce a {@link dev.lethe.core.privacy.PrivacySchema}.
 */
package dev.lethe.core.privacy.schema;
