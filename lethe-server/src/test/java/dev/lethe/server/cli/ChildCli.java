package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line in a child JVM, for what needs a process of its own: a signal, a crash, a full pipe. */
public final class ChildCli {
    private ChildCli() {}

    /**
     * {@code java -Xmx256m -XX:+UseSerialGC -cp (this test's class path) LetheCli ARGS}, its standard streams not
     * yet redirected.
     */
    public static ProcessBuilder command(String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty("java.class.path"),
                LetheCli.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command);
    }

    /** A new store in {@code data} ({@code --init}, one event appended), made in this process. */
    public static void initStore(Path data) {
        StringWriter err = new StringWriter();
        assertThat(LetheCli.run(
                        new String[] {"--data", data.toString(), "--init", "append", "setup", "Started", "{}"},
                        new PrintWriter(new StringWriter()),
                        new PrintWriter(err)))
                .as(err.toString())
                .isZero();
    }
}
