package dev.lethe.server.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lethe help [COMMAND…]}: the help of a command at any depth ({@code lethe help subject forget}),
 * where picocli's own help command stops at the first level.
 */
@Command(
        name = "help",
        helpCommand = true,
        description = "Show the help of a command, e.g. 'lethe help subject forget'.")
final class HelpCommand implements Runnable {
    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command, and its subcommands.")
    List<String> path = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        CommandLine command = spec.parent().commandLine();
        List<String> walked = new ArrayList<>();
        for (String name : path) {
            CommandLine sub = command.getSubcommands().get(name);
            if (sub == null) {
                String where = walked.isEmpty() ? "lethe" : "lethe " + String.join(" ", walked);
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "'" + name + "' is not a command of '" + where + "'; its commands: "
                                + String.join(", ", command.getSubcommands().keySet()));
            }
            walked.add(name);
            command = sub;
        }
        command.usage(spec.commandLine().getOut(), spec.commandLine().getColorScheme());
    }
}
