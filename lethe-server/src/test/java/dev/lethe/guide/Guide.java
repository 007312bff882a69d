package dev.lethe.guide;

import java.nio.file.Path;

/**
 * The examples of docs/java-api.md: each class is a program of its own, with a {@code main}, as a reader
 * would run it; {@code JavaApiGuideTest} runs them all and compares what they print with the output
 * recorded beside them. Their data goes under {@code lethe.guide.root} (a system property; the test
 * sets it to a temporary directory), else under {@code java.io.tmpdir}.
 */
final class Guide {
    private Guide() {}

    /** A directory (or file) of its own for one example, under the guide's root. */
    static Path dir(String name) {
        String root = System.getProperty("lethe.guide.root");
        return (root == null ? Path.of(System.getProperty("java.io.tmpdir"), "lethe-guide") : Path.of(root))
                .resolve(name);
    }
}
