package dev.lethe.guide;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/java-api.md tells the truth: every example program of the guide runs and prints what is recorded
 * beside it (see {@link GuideExamples}), and every line of Java the guide shows is a line of one of these
 * programs. {@code HsmStore} runs in {@code Pkcs11CliIT}, which owns this module's SoftHSM2 tokens.
 */
class JavaApiGuideTest {
    private static final Path SOURCES = Path.of("src/test/java/dev/lethe/guide");
    private static final Path GUIDE = Path.of("../docs/java-api.md");

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    @TempDir
    Path root;

    @ParameterizedTest(name = "{0}")
    @ValueSource(
            strings = {
                "OpenStore",
                "DeclareSchemas",
                "ProtobufSchema",
                "Appending",
                "Reading",
                "Subjects",
                "ForgetAndExport",
                "ExportToSource",
                "Tampering",
                "RetentionAndRotation",
                "Projections",
                "Troubleshooting"
            })
    void every_example_of_the_guide_prints_what_is_recorded_beside_it(String example) throws Exception {
        String[] args = example.equals("ProtobufSchema")
                ? new String[] {GuideExamples.RECORDED.resolve("customer.desc").toString()}
                : new String[0];
        GuideExamples.assertPrintsWhatIsRecorded(example, root, args);
    }

    @Test
    void every_line_of_java_in_the_guide_is_a_line_of_an_example_that_runs() throws Exception {
        Set<String> exampleLines = new HashSet<>();
        try (Stream<Path> files = Files.list(SOURCES)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                Files.readAllLines(file, StandardCharsets.UTF_8).forEach(line -> exampleLines.add(line.strip()));
            }
        }
        String guide = Files.readString(GUIDE, StandardCharsets.UTF_8);
        Matcher block = JAVA_BLOCK.matcher(guide);
        List<String> notInAnyExample = new ArrayList<>();
        int lines = 0;
        while (block.find()) {
            for (String line : block.group(1).split("\n")) {
                String code = line.strip();
                if (!code.isEmpty()) {
                    lines++;
                    if (!exampleLines.contains(code)) {
                        notInAnyExample.add(code);
                    }
                }
            }
        }
        assertThat(lines).as("lines of Java in %s", GUIDE).isGreaterThan(200);
        assertThat(notInAnyExample)
                .as("lines of %s found in none of the examples under %s", GUIDE, SOURCES)
                .isEmpty();
    }
}
