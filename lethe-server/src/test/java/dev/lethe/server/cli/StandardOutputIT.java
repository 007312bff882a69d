package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Standard output that cannot take more (a full disk: {@code /dev/full}) is an error naming it, exit code 1
 * — not the quiet 141 of a reader gone ({@code | head}), which a script would take for a complete dump.
 */
class StandardOutputIT {
    @TempDir
    Path work;

    /** {@code lethe --data DATA read --all} in a child process, standard output and error not yet redirected. */
    private static ProcessBuilder readAll(Path data) {
        return ChildCli.command("--data", data.toString(), "read", "--all");
    }

    @Test
    void a_full_standard_output_is_an_error_and_a_closed_pipe_is_141() throws Exception {
        Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "no /dev/full here (not Linux)");
        Path data = work.resolve("data");
        assertThat(LetheCli.run(
                        new String[] {"--data", data.toString(), "--init", "append", "s-1", "T", "{}"},
                        new PrintWriter(new StringWriter()),
                        new PrintWriter(new StringWriter())))
                .isZero();
        Path err = work.resolve("err.log");
        Process full = readAll(data)
                .redirectOutput(new File("/dev/full"))
                .redirectError(err.toFile())
                .start();
        assertThat(full.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(full.exitValue()).isEqualTo(1);
        assertThat(Files.readString(err)).contains("error: cannot write standard output (/dev/full): a full disk");

        Process piped = readAll(data).redirectError(err.toFile()).start();
        piped.getInputStream().close(); // the reader goes away at once
        assertThat(piped.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(piped.exitValue()).isEqualTo(141);
        assertThat(Files.readString(err)).doesNotContain("error");
    }
}
