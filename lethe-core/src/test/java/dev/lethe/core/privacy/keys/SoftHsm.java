package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * SoftHSM2 tokens for integration tests, in a private token directory. SoftHSM2 reads
 * {@code SOFTHSM2_CONF} from the environment of the process that loads it, and reads it once: failsafe
 * sets that variable (see the poms of the modules that use this), and {@link #tokens} writes the file
 * and creates every token one test JVM needs before the library is first loaded. Hence one call per
 * JVM: a module has one test class that uses it.
 *
 * <p>Without SoftHSM2 the calling test class is skipped with a warning, or fails when
 * {@code LETHE_REQUIRE_ALL=1}.
 */
public final class SoftHsm {
    /** Letters too: tests check that no output holds the PIN, and SoftHSM's random slot ids hold digits. */
    public static final String PIN = "Lethe-pin-7q";

    private static final List<Path> LIBRARIES = List.of(
            Path.of("/usr/lib/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
            Path.of("/usr/lib64/pkcs11/libsofthsm2.so"),
            Path.of("/usr/local/lib/softhsm/libsofthsm2.so"));
    private static SoftHsm created;

    private final Path library;
    private final Path conf;
    private final Map<String, Long> slots;

    private SoftHsm(Path library, Path conf, Map<String, Long> slots) {
        this.library = library;
        this.conf = conf;
        this.slots = slots;
    }

    /**
     * Creates one token per label, with {@link #PIN}, in a fresh token directory beside
     * {@code SOFTHSM2_CONF}; {@code user} names the test class in a skip's warning.
     */
    public static synchronized SoftHsm tokens(String user, String... labels) throws Exception {
        if (created != null) {
            throw new IllegalStateException("SoftHSM2 reads its configuration once per JVM: call tokens() once");
        }
        Path library =
                LIBRARIES.stream().filter(Files::isRegularFile).findFirst().orElse(null);
        if (library == null || !onPath("softhsm2-util")) {
            unavailable(
                    user,
                    "SoftHSM2 is not installed (softhsm2-util or " + LIBRARIES.get(0) + " is missing): "
                            + "install it with `apt-get install softhsm2`");
        }
        String variable = System.getenv("SOFTHSM2_CONF");
        if (variable == null) {
            unavailable(
                    user, "SOFTHSM2_CONF is not set: run this test through failsafe (`./mvnw verify`), which sets it");
        }
        Path conf = Path.of(variable);
        Path tokenDirectory = conf.resolveSibling("tokens");
        deleteTree(tokenDirectory);
        Files.createDirectories(tokenDirectory);
        Files.writeString(
                conf,
                "directories.tokendir = " + tokenDirectory + "\nobjectstore.backend = file\n"
                        + "log.level = ERROR\nslots.removable = false\n");
        SoftHsm hsm = new SoftHsm(library, conf, new LinkedHashMap<>());
        for (String label : labels) {
            hsm.softhsm("--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", "5678");
        }
        String shown = hsm.softhsm("--show-slots");
        for (String label : labels) {
            hsm.slots.put(label, slotOf(shown, label));
        }
        created = hsm;
        return hsm;
    }

    public Path library() {
        return library;
    }

    /** The slot id of the token labelled {@code label}. */
    public long slot(String label) {
        Long slot = slots.get(label);
        if (slot == null) {
            throw new IllegalArgumentException("no token labelled " + label + "; tokens: " + slots.keySet());
        }
        return slot;
    }

    /** The labels of the objects in the token in {@code slot}, as the JDK's PKCS#11 key store lists them. */
    public List<String> labels(long slot) throws Exception {
        java.security.Provider provider =
                java.security.Security.getProvider("SunPKCS11").configure(Pkcs11MasterKey.config(library, slot));
        java.security.KeyStore token = java.security.KeyStore.getInstance("PKCS11", provider);
        token.load(null, PIN.toCharArray());
        return java.util.Collections.list(token.aliases());
    }

    /** Runs {@code softhsm2-util} with this configuration; returns its output, fails the test on an error. */
    public String softhsm(String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of("softhsm2-util"));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("SOFTHSM2_CONF", conf.toString());
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
            fail("softhsm2-util " + String.join(" ", arguments) + " failed:\n" + output);
        }
        return output;
    }

    private static void unavailable(String user, String problem) {
        if ("1".equals(System.getenv("LETHE_REQUIRE_ALL"))) {
            fail("LETHE_REQUIRE_ALL=1 and " + problem);
        }
        System.err.println("WARNING: " + user + " SKIPPED: " + problem);
        Assumptions.abort(problem);
    }

    private static boolean onPath(String command) {
        return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(directory -> Files.isExecutable(Path.of(directory, command)));
    }

    /** The slot id of the token labelled {@code label} in {@code softhsm2-util --show-slots} output. */
    private static long slotOf(String showSlots, String label) {
        Pattern slotLine = Pattern.compile("^Slot (\\d+)$");
        Pattern labelLine = Pattern.compile("^\\s*Label:\\s+" + Pattern.quote(label) + "\\s*$");
        long slot = -1;
        for (String line : showSlots.split("\\R")) {
            Matcher matcher = slotLine.matcher(line);
            if (matcher.matches()) {
                slot = Long.parseLong(matcher.group(1));
            } else if (labelLine.matcher(line).matches()) {
                return slot;
            }
        }
        return fail("no token labelled " + label + " in:\n" + showSlots);
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
