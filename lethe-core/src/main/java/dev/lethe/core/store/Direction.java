package dev.lethe.core.store;

/** The order of a stream read. */
public enum Direction {
    /** From the given version towards the end, in increasing version order. */
    FORWARD,
    /** From the given version towards the start, in decreasing version order. */
    BACKWARD
}
