package dev.lethe.core.spi;

import java.io.StringReader;
import java.util.OptionalInt;

/**
 * YAML aliases ({@code *name}, of an anchor {@code &name}) in Lethe's own files ({@code policy.yaml}, the
 * server config): Jackson reads an alias as the text of its name, so that {@code append: [&c customer, *c]}
 * reads as the categories {@code customer} and {@code c} — a value nobody wrote, silently. Refused instead.
 */
public final class YamlAliases {
    private YamlAliases() {}

    /** The line (from 1) of the first alias in {@code yaml}, if any; none for text that does not parse. */
    public static OptionalInt firstLine(String yaml) {
        try {
            for (org.yaml.snakeyaml.events.Event event : new org.yaml.snakeyaml.Yaml().parse(new StringReader(yaml))) {
                if (event instanceof org.yaml.snakeyaml.events.AliasEvent) { // an anchor alone is harmless
                    return OptionalInt.of(event.getStartMark().getLine() + 1);
                }
            }
        } catch (RuntimeException unreadable) {
            // Not YAML: the caller's parser says what is wrong, and where.
        }
        return OptionalInt.empty();
    }
}
