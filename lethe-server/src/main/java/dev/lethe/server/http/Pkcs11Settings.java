package dev.lethe.server.http;

import dev.lethe.core.store.InvalidEventException;
import dev.lethe.sqlite.SqliteOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the master key is when a PKCS#11 token (an HSM) holds it, as the command line, the environment
 * and {@code lethe serve}'s config file give it, before it is checked: the module {@code library}, the
 * token's {@code slot} id, and its user PIN, read from {@code pinFile} or else given by the environment
 * ({@code LETHE_PKCS11_PIN}). Never from a flag: a command line is visible to every user of the machine.
 *
 * @param pinFromEnvironment the value of {@code LETHE_PKCS11_PIN}, or null
 */
public record Pkcs11Settings(String library, String slot, String pinFile, String pinFromEnvironment) {
    public static final Pkcs11Settings NONE = new Pkcs11Settings(null, null, null, null);

    /** The settings the environment gives ({@code LETHE_PKCS11_LIBRARY}, {@code _SLOT}, {@code _PIN_FILE}, {@code _PIN}). */
    public static Pkcs11Settings fromEnvironment(Map<String, String> env) {
        return new Pkcs11Settings(
                env.get("LETHE_PKCS11_LIBRARY"),
                env.get("LETHE_PKCS11_SLOT"),
                env.get("LETHE_PKCS11_PIN_FILE"),
                env.get("LETHE_PKCS11_PIN"));
    }

    /**
     * These settings, each replaced by {@code other}'s where {@code other} has one. The PIN's source is
     * one setting: a PIN file or a PIN in {@code other} replaces both of these.
     */
    public Pkcs11Settings overriddenBy(Pkcs11Settings other) {
        boolean otherGivesPin = given(other.pinFile) || given(other.pinFromEnvironment);
        return new Pkcs11Settings(
                given(other.library) ? other.library : library,
                given(other.slot) ? other.slot : slot,
                otherGivesPin ? other.pinFile : pinFile,
                otherGivesPin ? other.pinFromEnvironment : pinFromEnvironment);
    }

    /**
     * The token to open, or null when no library is named (the master key is then a keyset file). A
     * slot or PIN file without a library, a slot that is not a number, or a missing PIN is refused,
     * naming the setting.
     */
    public SqliteOptions.Pkcs11 resolve() {
        if (!given(library)) {
            if (given(slot) || given(pinFile)) {
                throw InvalidEventException.of(
                        "--pkcs11-library",
                        "is missing: a PKCS#11 slot or PIN file is given, but no PKCS#11 library"
                                + " (--pkcs11-library, LETHE_PKCS11_LIBRARY, or pkcs11.library in the config file)");
            }
            return null;
        }
        if (!given(slot)) {
            throw InvalidEventException.of(
                    "--pkcs11-slot",
                    "is missing: the token's slot id is needed with --pkcs11-library (--pkcs11-slot,"
                            + " LETHE_PKCS11_SLOT, or pkcs11.slot in the config file; softhsm2-util --show-slots or"
                            + " pkcs11-tool -L lists them)");
        }
        long slotId;
        try {
            String id = slot.trim();
            // As softhsm2-util --show-slots prints it (decimal), or as pkcs11-tool -L does (0x… hex).
            slotId = id.startsWith("0x") || id.startsWith("0X")
                    ? Long.parseLong(id.substring(2), 16)
                    : Long.parseLong(id);
        } catch (NumberFormatException e) {
            slotId = -1;
        }
        if (slotId < 0 || slotId > Integer.MAX_VALUE) { // SunPKCS11 takes no larger slot id
            slotId = -1;
        }
        if (slotId < 0) {
            // Not quoted: a PIN put in the slot's place by mistake would be printed.
            throw InvalidEventException.of(
                    "--pkcs11-slot",
                    "is not a slot id (a number from 0 to 2147483647, or 0x and its hex digits; " + slot.length()
                            + " characters given, not shown)");
        }
        return new SqliteOptions.Pkcs11(Path.of(library), slotId, pin());
    }

    private char[] pin() {
        if (given(pinFile)) {
            String text;
            try {
                text = Files.readString(Path.of(pinFile), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw InvalidEventException.of(
                        "--pkcs11-pin-file",
                        "cannot read " + shownPinFile() + ": " + dev.lethe.server.IoErrors.describe(e));
            }
            // One line: the newline an editor or `echo` adds is not part of the PIN.
            String pin = text.endsWith("\r\n")
                    ? text.substring(0, text.length() - 2)
                    : text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
            if (pin.isEmpty()) {
                throw InvalidEventException.of("--pkcs11-pin-file", shownPinFile() + " is empty");
            }
            if (!pin.equals(pin.strip()) || pin.chars().anyMatch(c -> Character.isISOControl(c) || c == '\uFEFF')) {
                // Sent as written, such a PIN would most likely fail, and a token locks after a few failures.
                throw InvalidEventException.of(
                        "--pkcs11-pin-file",
                        shownPinFile()
                                + " holds white space around the PIN, a second line, a control character or a byte"
                                + " order mark: write the PIN alone, followed by at most one line break");
            }
            return pin.toCharArray();
        }
        if (given(pinFromEnvironment)) {
            String pin = pinFromEnvironment;
            if (!pin.equals(pin.strip()) || pin.chars().anyMatch(c -> Character.isISOControl(c) || c == '\uFEFF')) {
                // As for a file: sent as written, it would most likely fail, and use up the token's retries.
                throw InvalidEventException.of(
                        "LETHE_PKCS11_PIN",
                        "holds white space around the PIN, a line break, a control character or a byte order mark:"
                                + " set the PIN alone");
            }
            return pin.toCharArray();
        }
        throw InvalidEventException.of(
                "PKCS#11 PIN",
                "is missing: put the token's user PIN in a file named by --pkcs11-pin-file (LETHE_PKCS11_PIN_FILE,"
                        + " or pkcs11.pinFile in the config file), or in LETHE_PKCS11_PIN; never on the command line");
    }

    /**
     * The PIN file's name for a message, if it is a path (it holds a {@code /}) or names a file that exists; else not shown: a
     * PIN given where its file is expected ({@code LETHE_PKCS11_PIN_FILE} for {@code LETHE_PKCS11_PIN})
     * would be printed, and logged.
     */
    private String shownPinFile() {
        return pinFile.contains("/") || exists(pinFile)
                ? pinFile
                : "the file it names (" + pinFile.length() + " characters, not shown: if that is the PIN itself, put"
                        + " it in a file and name the file, or set LETHE_PKCS11_PIN)";
    }

    private static boolean exists(String file) {
        try {
            return Files.exists(Path.of(file));
        } catch (RuntimeException notAPath) {
            return false;
        }
    }

    private static boolean given(String value) {
        return value != null && !value.isBlank();
    }

    /** Never the PIN. */
    @Override
    public String toString() {
        return "Pkcs11Settings[library=" + library + ", slot=" + (slot == null ? null : "(given)") + ", pinFile="
                + (pinFile == null ? null : shownPinFile()) + "]";
    }
}
