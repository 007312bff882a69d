package dev.lethe.core.store;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Mounts for tests of what a file system does to a store: a read-only bind mount, a small tmpfs that fills
 * up. Mounting needs root and {@code mount}: without them the test is skipped with a warning naming it, or
 * fails when {@code LETHE_REQUIRE_ALL=1} (as in CI).
 */
public final class Mounts {
    private Mounts() {}

    /** Mounts {@code source} read-only at {@code target}. */
    public static void bindReadOnly(Path source, Path target, String test) throws Exception {
        requireRoot(test, "mounting a read-only copy");
        String bind = run("mount", "--bind", source.toString(), target.toString());
        if (bind != null) {
            unavailable(test, "mount --bind failed: " + bind);
        }
        String readOnly = run("mount", "-o", "remount,bind,ro", target.toString());
        if (readOnly != null) {
            run("umount", target.toString());
            unavailable(test, "mount -o remount,bind,ro failed: " + readOnly);
        }
    }

    /** Mounts a tmpfs of {@code size} (as mount(8) takes it: {@code 4m}) at {@code target}. */
    public static void tmpfs(Path target, String size, String test) throws Exception {
        requireRoot(test, "mounting a small tmpfs");
        String mounted = run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", target.toString());
        if (mounted != null) {
            unavailable(test, "mount -t tmpfs failed: " + mounted);
        }
    }

    /** Unmounts {@code target}: null when done, else what umount said. */
    public static String unmount(Path target) throws Exception {
        return run("umount", target.toString());
    }

    private static void requireRoot(String test, String what) {
        String user = System.getProperty("user.name");
        if (!"root".equals(user)) {
            unavailable(test, what + " needs root (user is " + user + ")");
        }
    }

    /** Runs a command; null when it succeeded, else what it said. */
    private static String run(String... command) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            return e.getMessage();
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return String.join(" ", command) + " did not end within 30 s";
        }
        String said = new String(process.getInputStream().readAllBytes()).strip();
        return process.exitValue() == 0 ? null : "exit " + process.exitValue() + ": " + said;
    }

    private static void unavailable(String test, String problem) {
        if ("1".equals(System.getenv("LETHE_REQUIRE_ALL"))) {
            fail("LETHE_REQUIRE_ALL=1 and " + problem);
        }
        System.err.println("WARNING: " + test + " SKIPPED: " + problem);
        Assumptions.abort(problem);
    }
}
