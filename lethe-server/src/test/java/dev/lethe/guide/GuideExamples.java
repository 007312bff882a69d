package dev.lethe.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Runs an example of docs/java-api.md and compares what it prints with the output recorded beside it,
 * {@code src/test/resources/dev/lethe/guide/NAME.out}, with what differs from run to run (ids, instants,
 * ciphertexts, paths, pids, master-key epochs, the month or year of a period) replaced by placeholders.
 * After an intended change of behaviour, run the tests with {@code -Dlethe.guide.record=true} to record
 * the new output, and read the difference before committing it.
 */
public final class GuideExamples {
    static final Path RECORDED = Path.of("src/test/resources/dev/lethe/guide");

    private static final Pattern UUID =
            Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final Pattern ENVELOPE = Pattern.compile("lethe:v1:[A-Za-z0-9_-]+");
    private static final Pattern INSTANT =
            Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?Z");
    private static final Pattern PID = Pattern.compile("pid \\d+");
    private static final Pattern EPOCHS =
            Pattern.compile("(?<=(newEpoch=|destroyedEpochs=\\[|liveEpochs=\\[|epochs \\[))-?\\d+(, -?\\d+)*");
    private static final Pattern MONTH = Pattern.compile("\\b\\d{4}-(0[1-9]|1[0-2])\\b(?!-\\d)");
    private static final Pattern YEAR = Pattern.compile("(?<=period[= ])\\d{4}\\b(?!-)");

    private GuideExamples() {}

    /** Runs {@code example}'s {@code main} with its data under {@code root} and checks what it printed. */
    public static void assertPrintsWhatIsRecorded(String example, Path root, String... args) throws Exception {
        String printed = normalised(run(example, root, args), root);
        Path recorded = RECORDED.resolve(example + ".out");
        if (Boolean.getBoolean("lethe.guide.record")) {
            Files.writeString(recorded, printed, StandardCharsets.UTF_8);
        }
        assertThat(printed)
                .as("what %s prints (record anew with -Dlethe.guide.record=true after an intended change)", example)
                .isEqualTo(Files.readString(recorded, StandardCharsets.UTF_8));
    }

    /** What one example's {@code main} printed on {@code System.out}, its data under {@code root}. */
    private static String run(String example, Path root, String[] args) throws Exception {
        PrintStream console = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        String previousRoot = System.setProperty("lethe.guide.root", root.toString());
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            Class.forName(GuideExamples.class.getPackageName() + "." + example)
                    .getMethod("main", String[].class)
                    .invoke(null, (Object) args);
        } finally {
            System.setOut(console);
            if (previousRoot == null) {
                System.clearProperty("lethe.guide.root");
            } else {
                System.setProperty("lethe.guide.root", previousRoot);
            }
        }
        return printed.toString(StandardCharsets.UTF_8);
    }

    static String normalised(String printed, Path root) {
        String text = printed.replace(root.toString(), "<root>");
        text = UUID.matcher(text).replaceAll("<uuid>");
        text = ENVELOPE.matcher(text).replaceAll("lethe:v1:<sealed>");
        text = INSTANT.matcher(text).replaceAll("<instant>");
        text = EPOCHS.matcher(text).replaceAll("<epoch>");
        text = MONTH.matcher(text).replaceAll("<month>");
        text = YEAR.matcher(text).replaceAll("<year>");
        return PID.matcher(text).replaceAll("pid <pid>");
    }
}
