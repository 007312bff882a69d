package dev.lethe.server.cli;

import dev.lethe.server.demo.DataJourney;
import dev.lethe.server.demo.DemoStory;
import dev.lethe.server.http.LetheServer;
import dev.lethe.server.http.ServerConfig;
import dev.lethe.sqlite.SqliteLethe;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "serve",
        description = {
            "Serve the data directory over HTTP: REST, GraphQL (/graphql, /graphiql), server-sent events, admin.",
            "Settings: flags, then environment (LETHE_HOST, LETHE_PORT, LETHE_DATA, LETHE_MASTER_KEY_DIR,"
                    + " LETHE_MAX_BODY_BYTES, LETHE_JWT_SECRET, LETHE_PKCS11_LIBRARY, LETHE_PKCS11_SLOT,"
                    + " LETHE_PKCS11_PIN_FILE or LETHE_PKCS11_PIN), then --config FILE (YAML), then defaults.",
            "  lethe serve --demo      loads the demo story once, and accepts the documented demo tokens",
            "  lethe serve --init --data DIR --config lethe.yaml   creates a new store in DIR, then serves it",
            "Exit codes: 1 the store cannot be opened or the port listened on, 2 bad settings, 70 out of memory,"
                    + " 143 after SIGTERM (a clean stop)."
        })
final class ServeCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Option(names = "--host", paramLabel = "HOST", description = "Interface to bind (default 127.0.0.1).")
    String host;

    @Option(names = "--port", paramLabel = "PORT", description = "Port (default 8080; 0 picks a free one).")
    Integer port;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "A YAML config file (host, port, data, masterKeyDir, pkcs11, maxBodyBytes, tokens, jwt;"
                    + " see docs/api.md).")
    Path config;

    @Option(
            names = "--demo",
            description = "Load the demo story into the data directory the first time; accept the demo tokens.")
    boolean demo;

    /** The server's log, one JSON object per line on standard error: its warnings at start too. */
    /** Held here: java.util.logging keeps its loggers weakly, and a collected one would forget its level. */
    private static final java.util.logging.Logger RECOVERED_LINES =
            java.util.logging.Logger.getLogger(SqliteLethe.RECOVERED_LOGGER);

    private final LetheServer.JsonLogTarget log = new LetheServer.JsonLogTarget(System.err);

    /**
     * Raises to warn every SLF4J logger set below it ({@code -Dorg.slf4j.simpleLogger.log.org.eclipse.jetty=debug}),
     * or to a level the simple logger does not know (which it reads as info), and Jetty's warning of a malformed Host
     * header (which quotes the header) to error: Jetty's and Javalin's debug and info logs print request and response
     * bodies and headers. Returns the properties raised.
     */
    static java.util.List<String> quietLibraryLoggers(java.util.Properties properties) {
        java.util.List<String> raised = new java.util.ArrayList<>();
        for (String key : new java.util.TreeSet<>(properties.stringPropertyNames())) {
            if (key.startsWith("org.slf4j.simpleLogger.log.")) {
                String level = properties.getProperty(key).strip().toLowerCase(java.util.Locale.ROOT);
                // Anything but these three: SLF4J's simple logger reads a level it does not know ("all") as info.
                if (!java.util.List.of("warn", "error", "off").contains(level)) {
                    properties.setProperty(key, "warn");
                    raised.add(key);
                }
            }
        }
        properties.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty.util.HostPort", "error");
        return raised;
    }

    @Override
    public Integer call() throws Exception {
        // Jetty and Javalin log through SLF4J: only their warnings; the server's own log is structured JSON.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        // Javalin warns of every body over the limit, in its own format: the 413 and its JSON request line say it.
        System.setProperty("org.slf4j.simpleLogger.log.io.javalin.Javalin", "error");
        for (String raised : quietLibraryLoggers(System.getProperties())) {
            log.warn(raised + " raised to warn: below it, Jetty and Javalin log request and response bodies"
                    + " (personal data, decrypted) and Authorization headers");
        }
        ServerConfig settings = ServerConfig.load(config, System.getenv());
        // --data overrides LETHE_DATA and the config file; without it their value (or ./lethe-data) stands.
        picocli.CommandLine.ParseResult parsed = parent.spec.commandLine().getParseResult();
        if (matched(parsed, "--data")) {
            settings = settings.withData(parent.store.directory);
        }
        if (matched(parsed, "--master-key-dir")) {
            settings = settings.withMasterKeyDir(parent.store.masterKeyDirectory);
        }
        // Each PKCS#11 flag given overrides its setting from the environment or the config file.
        settings = settings.withPkcs11(new dev.lethe.server.http.Pkcs11Settings(
                matched(parsed, "--pkcs11-library") ? parent.store.pkcs11Library : null,
                matched(parsed, "--pkcs11-slot") ? parent.store.pkcs11Slot : null,
                matched(parsed, "--pkcs11-pin-file") ? parent.store.pkcs11PinFile : null,
                null));
        if (host != null) {
            settings = settings.withHost(host);
        }
        if (port != null) {
            settings = settings.withPort(port);
        }
        java.nio.file.Path where = settings.data().toAbsolutePath().normalize();
        // With --init or --demo too, which would otherwise fail creating it, naming another directory.
        Store.requireReachable(where);
        if (demo || parent.store.init) {
            Store.requireCreatable(where);
        }
        if (!demo
                && !parent.store.init
                && !java.nio.file.Files.isRegularFile(
                        settings.data().resolve(dev.lethe.sqlite.SqliteEventStore.FILE_NAME))) {
            if (java.nio.file.Files.isDirectory(where)
                    && !(java.nio.file.Files.isReadable(where) && java.nio.file.Files.isExecutable(where))) {
                // Not "no store, give --init": the service's user cannot look inside (another user's, mode 0700).
                throw dev.lethe.core.store.StorageException.permanent(
                        "data directory " + where + " cannot be read" + dev.lethe.sqlite.internal.Sql.ownership(where)
                                + " (not --init: a store may be there)",
                        null);
            }
            throw dev.lethe.core.store.StorageException.permanent(
                    "no Lethe event store in "
                            + settings.data().toAbsolutePath().normalize()
                            + ": lethe serve creates none unless asked (a mistyped --data, LETHE_DATA or data:, or a"
                            + " volume not mounted, would become a new, empty store taking appends); check the"
                            + " path, or give --init to create a store there",
                    null);
        }
        if (demo) {
            settings = settings.withDemo();
            loadDemoOnce(settings.data(), settings.storeOptions());
        }
        if (settings.tokens().isEmpty() && !settings.jwt().enabled()) {
            log.warn("no bearer tokens or JWT keys are configured (--config FILE with tokens: or jwt:), so every /v1"
                    + " request gets 401");
        }
        boolean secretInFile = !settings.tokens().isEmpty()
                || (settings.jwt().hs256Secret() != null && System.getenv("LETHE_JWT_SECRET") == null);
        if (config != null && secretInFile) {
            warnIfOthersRead(config, "it holds bearer tokens or a JWT secret");
        }
        if (settings.pkcs11().pinFile() != null && !settings.pkcs11().pinFile().isBlank()) {
            warnIfOthersRead(Path.of(settings.pkcs11().pinFile()), "it holds the token's PIN");
        }
        if (!loopback(settings.host())) {
            log.warn("serving on " + settings.host() + " over plain HTTP: bearer tokens and the"
                    + " personal data read cross the network in the clear; put a TLS proxy in front, or bind"
                    + " 127.0.0.1");
        }
        if (!settings.demo()
                && settings.pkcs11().library() == null
                && (settings.masterKeyDir() == null || inside(settings.masterKeyDir(), settings.data()))) {
            // The default, fine for a first run; in production a copy of the directory (a volume snapshot, a
            // file-level backup) would hold the data and the key that opens it, forgotten subjects' included.
            log.warn("the master keyset is in the data directory "
                    + settings.data().toAbsolutePath().normalize()
                    + ": a copy of the directory (a snapshot, a file-level backup) holds the data and its key,"
                    + " and decrypts what was forgotten since; keep the key apart (--master-key-dir, or an HSM:"
                    + " docs/privacy.md §4, §9)");
        }
        LetheServer.haltOnOutOfMemory(System.err);
        // What the open repaired is said once, as an "at open" line of the server's log, not also as the library's
        // warning in another format.
        RECOVERED_LINES.setLevel(java.util.logging.Level.OFF);
        LetheServer server = LetheServer.start(settings, log);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            try {
                                server.close();
                            } finally {
                                stopped.countDown();
                            }
                        },
                        "lethe-shutdown"));
        parent.spec
                .commandLine()
                .getOut()
                .printf(
                        "Lethe is serving %s on http://%s:%d  (GraphiQL: /graphiql, API: /openapi.json)%n",
                        settings.data().toAbsolutePath().normalize(), settings.host(), server.port());
        parent.spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }

    /** Whether {@code host} is this machine's loopback (127.0.0.0/8, ::1, localhost): no name is looked up. */
    static boolean loopback(String host) {
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        if (bare.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!bare.matches("[0-9.]+") && !bare.contains(":")) {
            return false; // a name: not resolved here, so not known to be the loopback
        }
        try {
            return java.net.InetAddress.getByName(bare).isLoopbackAddress();
        } catch (java.net.UnknownHostException notAnAddress) {
            return false;
        }
    }

    /** Whether {@code directory} is {@code data} or inside it, symbolic links followed where they exist. */
    static boolean inside(Path directory, Path data) {
        return real(directory).startsWith(real(data));
    }

    /** The path with symbolic links followed up to its nearest existing ancestor (a directory not made yet). */
    private static Path real(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !java.nio.file.Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return absolute;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(absolute));
        } catch (java.io.IOException unreadable) {
            return absolute;
        }
    }

    /** A secret file that other users may read: said, as ssh says it of a private key. */
    private void warnIfOthersRead(Path file, String why) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> mode =
                    java.nio.file.Files.getPosixFilePermissions(file);
            if (mode.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ)
                    || mode.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
                log.warn(file + " may be read by other users ("
                        + java.nio.file.attribute.PosixFilePermissions.toString(mode) + "), and " + why
                        + ": chmod 600 " + dev.lethe.sqlite.SqliteLethe.shellWord(file.toString()));
            }
        } catch (java.io.IOException | UnsupportedOperationException unknown) {
            // Not a POSIX file system, or unreadable (then reading it fails with its own message).
        }
    }

    /** Whether {@code option} was given on the command line, before or after {@code serve}. */
    private static boolean matched(picocli.CommandLine.ParseResult parsed, String option) {
        return parsed.hasMatchedOption(option)
                || (parsed.hasSubcommand() && parsed.subcommand().hasMatchedOption(option));
    }

    /**
     * Runs the demo story into the directory unless it was loaded before (the data journey marks it);
     * refuses a directory with events that the demo did not write.
     */
    static void loadDemoOnce(Path data, dev.lethe.sqlite.SqliteOptions options) throws Exception {
        java.time.Clock clock = DemoStory.storyClock();
        try (SqliteLethe lethe = SqliteLethe.open(data, options.withClock(clock))) {
            boolean demoStore = DemoStory.wroteTo(lethe.privacy());
            if (!demoStore && lethe.store().headPosition() >= 0) {
                // The demo tokens are well known, one with the dpo role: never on a store with data of its own.
                throw dev.lethe.core.store.InvalidEventException.of(
                        "--demo",
                        "the data directory " + data.toAbsolutePath().normalize() + " holds "
                                + (lethe.store().headPosition() + 1)
                                + " event(s) and was not written by the demo: --demo would load the demo into it and"
                                + " let its well-known tokens in (demo-admin-token may forget and export); serve it"
                                + " without --demo, or the demo in a new directory (--data; a directory an earlier"
                                + " release's lethe demo wrote is not marked as the demo's: make it again)");
            }
            if (lethe.store().streamInfo(DataJourney.STREAM).exists()) {
                return;
            }
            // A directory `lethe demo` wrote holds the story already: told once, not twice.
            if (lethe.privacy().schemas().latest("CustomerRegistered").isEmpty()) {
                new DemoStory(lethe.privacy(), lethe.projections(), clock, null, new PrintWriter(new StringWriter()))
                        .run();
            }
            DataJourney.load(lethe.store());
        }
    }
}
