package dev.lethe.protobuf;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import java.util.Set;

/**
 * The well-known types whose Protobuf JSON is not an object of their fields: {@code Timestamp} prints
 * as {@code "2024-01-01T00:00:00Z"}, {@code StringValue} as the bare string, {@code Struct} as any
 * object. A path cannot go inside them, and a key may be one if its JSON is a string or number.
 */
final class WellKnownTypes {
    /** Printed as a JSON string, number or boolean. */
    private static final Set<String> SCALAR_JSON = Set.of(
            "google.protobuf.DoubleValue",
            "google.protobuf.FloatValue",
            "google.protobuf.Int64Value",
            "google.protobuf.UInt64Value",
            "google.protobuf.Int32Value",
            "google.protobuf.UInt32Value",
            "google.protobuf.BoolValue",
            "google.protobuf.StringValue",
            "google.protobuf.BytesValue",
            "google.protobuf.Timestamp",
            "google.protobuf.Duration",
            "google.protobuf.FieldMask");

    /** Printed in a shape of their own: any JSON value, an array, or an object with {@code @type}. */
    private static final Set<String> OTHER_OWN_JSON = Set.of(
            "google.protobuf.Struct",
            "google.protobuf.Value",
            "google.protobuf.ListValue",
            "google.protobuf.Any",
            "google.protobuf.Empty");

    private WellKnownTypes() {}

    /** Whether the message's JSON is not the object of its fields that a path walks. */
    static boolean hasOwnJson(Descriptor message) {
        String name = message.getFullName();
        return SCALAR_JSON.contains(name) || OTHER_OWN_JSON.contains(name);
    }

    /** Whether the field's JSON is a single string, number or boolean, never an object or array. */
    static boolean isJsonScalar(FieldDescriptor field) {
        return !field.isRepeated()
                && (field.getJavaType() != JavaType.MESSAGE
                        || SCALAR_JSON.contains(field.getMessageType().getFullName()));
    }
}
