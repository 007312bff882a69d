/**
 * The Protobuf notation of the privacy model: reads {@code (gdpr) = {pii: true, key: true,
 * dataGrouping: "…"}} custom field options from message descriptors, from generated classes or from a
 * descriptor set registered at run time, into a {@link dev.lethe.core.privacy.PrivacySchema}. Protobuf
 * types appear only in this module's API, so lethe-core stays free of protobuf-java.
 */
package dev.lethe.protobuf;
