package dev.lethe.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.lethe.core.privacy.SubjectId;
import dev.lethe.sqlite.SqliteLethe;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code lethe subject forget --file} stopped by SIGTERM part-way: the forget under way finishes, none
 * starts after it, the command says how far it got, and the subjects it printed as forgotten are exactly
 * those forgotten — so that running the same file again finishes the job.
 */
class ForgetFileSignalIT {
    private static final int SUBJECTS = 600;
    private static final String BASIS = "GDPR Art. 17(1)(a)";

    @TempDir
    Path work;

    /** The arguments of {@code lethe subject forget --file FILE} as the DPO. */
    private static String[] forgetFile(Path data, Path file) {
        return new String[] {
            "--data",
            data.toString(),
            "subject",
            "forget",
            "--file",
            file.toString(),
            "--legal-basis",
            BASIS,
            "--role",
            "dpo"
        };
    }

    @Test
    void sigterm_stops_between_forgets_and_says_how_far_it_got() throws Exception {
        Path data = work.resolve("data");
        ChildCli.initStore(data);
        List<SubjectId> subjects = new ArrayList<>();
        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            for (int i = 0; i < SUBJECTS; i++) {
                subjects.add(lethe.privacy().keys().resolve("signal" + i + "@example.org"));
            }
        }
        Path file = work.resolve("subjects.txt");
        Files.write(file, subjects.stream().map(SubjectId::toString).toList());

        Path errLog = work.resolve("err.log");
        Process child = ChildCli.command(forgetFile(data, file))
                .redirectError(errLog.toFile())
                .start();
        Pattern forgotten = Pattern.compile("^forgotten: subject (\\S+), receipt ");
        List<String> printed = new ArrayList<>();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                Matcher m = forgotten.matcher(line);
                if (m.find()) {
                    printed.add(m.group(1));
                    if (printed.size() == 20) {
                        child.toHandle().destroy(); // SIGTERM (Process.destroy would close the streams too)
                    }
                }
            }
        }
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String err = Files.readString(errLog);
        assertThat(printed.size())
                .as("stopped part-way: " + err)
                .isGreaterThanOrEqualTo(20)
                .isLessThan(SUBJECTS);
        assertThat(err)
                .contains("subject forget interrupted: " + printed.size() + " of 600 subjects forgotten, 0 skipped")
                .contains("Run the same command again");

        try (SqliteLethe lethe = SqliteLethe.open(data)) {
            List<String> actuallyForgotten = subjects.stream()
                    .filter(subject -> lethe.privacy().keys().isForgotten(subject))
                    .map(SubjectId::toString)
                    .toList();
            assertThat(actuallyForgotten).containsExactlyInAnyOrderElementsOf(printed);
        }

        StringWriter again = new StringWriter();
        StringWriter againErr = new StringWriter();
        int exit = LetheCli.run(forgetFile(data, file), new PrintWriter(again), new PrintWriter(againErr));
        assertThat(exit).as(againErr.toString()).isZero();
        assertThat(again.toString())
                .contains("forgot " + String.format("%,d", SUBJECTS - printed.size()) + " subject(s), " + printed.size()
                        + " already forgotten (skipped)");
    }
}
