package dev.lethe.server.cli;

import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.LetheException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The {@code lethe} command. */
@Command(
        name = "lethe",
        mixinStandardHelpOptions = true,
        versionProvider = LetheCli.Version.class,
        description = "Lethe: an event store that can forget.",
        footer = {
            "",
            "Exit codes: 0 done; 1 failed (a conflict, a store that cannot be opened); 2 bad input (options,"
                    + " data, policy.yaml; a subject already forgotten); 3 a role without the permission; 4 a check"
                    + " that could not run; 5 a subject export written whole but for personal fields that failed authentication; 141"
                    + " standard output closed by its reader. lethe serve: see its --help."
        },
        subcommands = {
            DemoCommand.class,
            AppendCommand.class,
            ImportCommand.class,
            ReadCommand.class,
            TailCommand.class,
            ProjectionsCommand.class,
            StatsCommand.class,
            BackupCommand.class,
            ServeCommand.class,
            SubjectCommand.class,
            GovernanceCommands.Retention.class,
            GovernanceCommands.Keys.class,
            GovernanceCommands.Policy.class,
            GovernanceCommands.Schemas.class,
            HelpCommand.class
        })
public final class LetheCli implements Runnable {
    @Mixin
    Store store;

    @Spec
    CommandSpec spec;

    public static void main(String[] args) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            // The library's warnings (a type whose fields look personal, a schema that stops encrypting a field)
            // as one line each on standard error, not two with a timestamp and a class name.
            System.setProperty("java.util.logging.SimpleFormatter.format", "%4$s: %5$s%6$s%n");
        }
        if (System.getProperty("org.slf4j.simpleLogger.log.org.sqlite.SQLiteJDBCLoader") == null) {
            // Two commands started at once race to delete a native library a killed one left in the temporary
            // directory: the loser logs an ERROR with a stack trace, and loads its own copy all the same.
            System.setProperty("org.slf4j.simpleLogger.log.org.sqlite.SQLiteJDBCLoader", "off");
        }
        int exit;
        try {
            exit = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        } catch (OutOfMemoryError e) {
            // An export of a subject with very many events, say: one line and what to do, not a stack.
            System.err.println("error: the command ran out of memory (Java heap); give it more, e.g."
                    + " LETHE_JAVA_OPTS=-Xmx4g ./lethe …, or java -Xmx4g -jar lethe.jar …");
            exit = 1;
        }
        System.exit(exit);
    }

    /** Runs the command line with the given streams; returns the exit code. For tests and main. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine commandLine = new CommandLine(new LetheCli());
        // "--master-key-dir keys" or "--data read": a directory may be named like a command.
        commandLine.setAllowSubcommandsAsOptionParameters(true);
        addHelpOptions(commandLine);
        commandLine.setOut(out);
        commandLine.setErr(err);
        // A bad option or value: one line naming it, and where the help is, not the whole usage (40 lines).
        commandLine.setParameterExceptionHandler((ex, arguments) -> {
            CommandLine failed = ex.getCommandLine();
            java.io.PrintWriter errors = failed.getErr();
            String message = ex.getMessage() == null ? "bad arguments" : ex.getMessage();
            // picocli quotes the converter's exception ("(java.lang.IllegalArgumentException: Invalid UUID …)").
            message = message.replaceAll(" \\(java\\.[a-zA-Z.]+Exception: [^)]*\\)", "");
            errors.println(failed.getColorScheme().errorText("error: " + message));
            if (ex instanceof CommandLine.UnmatchedArgumentException unmatched) {
                CommandLine.UnmatchedArgumentException.printSuggestions(unmatched, errors); // "Did you mean …"
                if (unmatched.getUnmatched().contains("init")) {
                    errors.println("init is an option, not a command: give --init before a command that writes"
                            + " (lethe --data DIR --init append …, import, schemas register, policy set, serve)");
                }
            }
            String path = failed.getCommandSpec().qualifiedName(" ").replaceFirst("^lethe ?", "");
            // lethe help NOSUCH: the commands are in the message; "lethe help help" would not help.
            if (!failed.getCommandSpec().helpCommand()) {
                errors.println(path.isEmpty() ? "usage: lethe help" : "usage: lethe help " + path);
            }
            errors.flush();
            return CommandLine.ExitCode.USAGE;
        });
        commandLine.setExecutionStrategy(parsed -> {
            // What the lock file says of this process to another one it stops: the command, not its arguments
            // (which may hold personal data). Every command but serve holds it briefly, and is waited for.
            String command = parsed.asCommandLineList().stream()
                    .skip(1)
                    .map(CommandLine::getCommandName)
                    .collect(java.util.stream.Collectors.joining(" "));
            dev.lethe.sqlite.internal.DirectoryLock.describeHolder(
                    "lethe " + command + " (command line)", !command.equals("serve"));
            boolean help = command.isEmpty()
                    || command.startsWith("help")
                    || parsed.asCommandLineList().stream()
                            .anyMatch(c -> c.isUsageHelpRequested() || c.isVersionHelpRequested());
            if (!help && parsed.commandSpec().userObject() instanceof LetheCli cli) {
                try {
                    cli.store.requireDataPath(); // an empty --data or $LETHE_DATA is not the current directory
                    if (!command.equals("serve")) {
                        // serve takes its principals from tokens, and may serve another directory (--config).
                        cli.store.principal(); // a --role the policy does not declare: refused by every command
                    }
                } catch (RuntimeException e) {
                    throw new CommandLine.ExecutionException(
                            parsed.asCommandLineList()
                                    .get(parsed.asCommandLineList().size() - 1),
                            e.getMessage(),
                            e);
                }
            }
            try {
                return new CommandLine.RunLast().execute(parsed);
            } finally {
                dev.lethe.sqlite.internal.DirectoryLock.describeHolder(
                        dev.lethe.sqlite.internal.DirectoryLock.DEFAULT_HOLDER, false);
            }
        });
        commandLine.setExecutionExceptionHandler((thrown, cmd, parsed) -> {
            if (thrown instanceof EventPrinter.OutputClosed) {
                java.util.Optional<String> file = EventPrinter.OutputClosed.notAPipe();
                if (file.isEmpty()) {
                    return EventPrinter.OutputClosed.EXIT_CODE; // the reader has what it wanted: nothing to say
                }
                cmd.getErr()
                        .println(cmd.getColorScheme()
                                .errorText("error: cannot write standard output (" + file.get() + "): a full disk or"
                                        + " an I/O error; what was written there is incomplete"));
                cmd.getErr().flush();
                return 1;
            }
            Exception e = thrown instanceof CouldNotRun notRun ? notRun.cause() : thrown;
            cmd.getErr().println(cmd.getColorScheme().errorText("error: " + describe(e)));
            if (!(e instanceof LetheException)
                    && !(e instanceof IllegalArgumentException)
                    && !(e instanceof java.io.IOException)
                    && !(e instanceof java.io.UncheckedIOException)) {
                e.printStackTrace(cmd.getErr());
            }
            cmd.getErr().flush();
            if (e instanceof dev.lethe.core.privacy.AccessDeniedException denied) {
                if (String.valueOf(denied.getMessage())
                        .contains("(role " + dev.lethe.core.privacy.policy.DataPolicy.NO_ROLE + ")")) {
                    // No --role given: the command ran with none, which may nothing.
                    cmd.getErr()
                            .println("hint: give --role ROLE, a role of the data policy that may (lethe policy show)");
                    cmd.getErr().flush();
                }
                return 3;
            }
            if (thrown instanceof CouldNotRun) {
                return CouldNotRun.EXIT_CODE;
            }
            return e instanceof InvalidEventException
                            || e instanceof dev.lethe.core.privacy.ForgetRefusedException
                            // forgotten already, unknown, or fenced (personal data for a forgotten subject)
                            || e instanceof dev.lethe.core.privacy.SubjectException
                            || e instanceof dev.lethe.core.privacy.AlreadyCancelledException
                            || e instanceof IllegalArgumentException
                    ? 2
                    : 1;
        });
        return commandLine.execute(args);
    }

    /**
     * A check that could not be made (the directory cannot be opened or read), told apart from one that
     * ran and found problems (exit code 1): exit code {@value #EXIT_CODE}.
     */
    static final class CouldNotRun extends RuntimeException {
        static final int EXIT_CODE = 4;

        CouldNotRun(RuntimeException cause) {
            super(cause.getMessage(), cause);
        }

        RuntimeException cause() {
            return (RuntimeException) getCause();
        }
    }

    /** {@code -h}/{@code --help} on every subcommand too, as on {@code lethe} itself. */
    private static void addHelpOptions(CommandLine commandLine) {
        for (CommandLine sub : commandLine.getSubcommands().values()) {
            if (!sub.getCommandSpec().mixins().containsKey("mixinStandardHelpOptions")) {
                sub.getCommandSpec().mixinStandardHelpOptions(true);
            }
            // -V on a command prints the version, as on lethe itself (it printed nothing).
            sub.getCommandSpec().versionProvider(new Version());
            addHelpOptions(sub);
        }
    }

    private static String describe(Exception e) {
        if (e instanceof java.io.UncheckedIOException unchecked
                && unchecked.getCause().getMessage() != null) {
            return unchecked.getCause().getMessage(); // not "java.net.BindException: …"
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * A command group run without one of its commands ({@code lethe projections}): a usage error, exit code
     * 2, naming its commands on standard error — not a success a script would take for "done".
     */
    void printUsageOf(String subcommand) {
        CommandLine group = spec.commandLine().getSubcommands().get(subcommand);
        throw new CommandLine.ParameterException(
                group,
                "lethe " + subcommand + ": give one of its commands ("
                        + String.join(", ", group.getSubcommands().keySet()) + ")");
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = LetheCli.class.getPackage().getImplementationVersion();
            return new String[] {"lethe " + (version == null ? "development build" : version)};
        }
    }
}
