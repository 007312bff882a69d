package dev.lethe.server.cli;

import dev.lethe.core.privacy.PrivacyCodec;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.projection.ProjectionStatus;
import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.subscription.CheckpointFit;
import dev.lethe.server.Instants;
import dev.lethe.server.demo.DemoProjections;
import dev.lethe.sqlite.SqliteEventStore;
import dev.lethe.sqlite.SqliteLethe;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "projections",
        description = "List projections, show their states, rebuild them.",
        subcommands = {
            ProjectionsCommand.ListCommand.class,
            ProjectionsCommand.ShowCommand.class,
            ProjectionsCommand.RebuildCommand.class
        })
final class ProjectionsCommand implements Runnable {
    @ParentCommand
    LetheCli parent;

    @Override
    public void run() {
        parent.printUsageOf("projections");
    }

    static Projection<?> known(String name) {
        return DemoProjections.byName(name)
                .orElseThrow(() -> InvalidEventException.of(
                        "projection",
                        "'" + name + "' is not defined in this build; known: "
                                + DemoProjections.BUILT_IN.stream()
                                        .map(Projection::name)
                                        .collect(Collectors.joining(", "))));
    }

    /**
     * What to say of a name no stored read model has (a misspelling, or one never run here), rather than that it
     * has no state for the key asked.
     */
    static Optional<String> notStored(ProjectionStore states, String name) {
        List<String> stored =
                states.list().stream().map(ProjectionStore.ProjectionInfo::name).toList();
        if (stored.contains(name)) {
            return Optional.empty();
        }
        return Optional.of("no read model named '" + name + "' is stored here"
                + (DemoProjections.byName(name).isPresent()
                        ? " (built in, never run on this store: lethe projections rebuild " + name + " folds it)"
                        : "")
                + "; stored: " + (stored.isEmpty() ? "none" : String.join(", ", stored))
                + " (lethe projections list)");
    }

    private static final String MISFIT_AHEAD =
            ": its checkpoint is past the log's head (it was restored from a later copy than the log)";
    private static final String MISFIT_OTHER =
            ": the log holds another event before its checkpoint than the one it folded (it was folded from"
                    + " another history, such as a log since restored from an older backup and appended to)";
    /** What rebuilds a read model whose states are not the log's: the next start of it, where it is defined. */
    private static String rebuiltBy(String name) {
        return DemoProjections.byName(name).isPresent()
                ? "; its states are not this log's, and the next start of it (lethe serve, lethe projections"
                        + " rebuild) rebuilds it from the log."
                : "; its states are not this log's; this build does not define it, so the next start of it in the"
                        + " application that does (ProjectionRuntime) rebuilds it from the log.";
    }

    /** Warns, on {@code err}, that a stored read model's states do not come from this log. */
    private static void warnIfMisfit(PrintWriter err, ProjectionStore states, EventStore log, String name) {
        states.list().stream()
                .filter(info -> info.name().equals(name))
                .findFirst()
                .map(info -> info.fit(log))
                .filter(fit -> fit != CheckpointFit.FITS)
                .ifPresent(fit -> err.println("warning: projection " + name
                        + (fit == CheckpointFit.AHEAD ? MISFIT_AHEAD : MISFIT_OTHER) + rebuiltBy(name)));
    }

    /** Events read at most to tell whether a stored state is behind the log: a note's worth, not a rebuild. */
    static final int BEHIND_SCAN = 10_000;

    /**
     * Says on standard error when events this projection folds were appended after its stored checkpoint:
     * the command line does not fold (a running {@code lethe serve} does), so a state shown here may be
     * behind the log. Counts at most {@value #BEHIND_SCAN} events after the checkpoint.
     */
    private static void warnIfBehind(PrintWriter err, ProjectionStore states, EventStore log, String name) {
        Optional<Projection<?>> known = DemoProjections.byName(name);
        Optional<ProjectionStore.ProjectionInfo> info = states.list().stream()
                .filter(stored -> stored.name().equals(name))
                .findFirst();
        if (known.isEmpty() || info.isEmpty() || info.get().fit(log) != CheckpointFit.FITS) {
            return; // unknown here, or not this log's (warnIfMisfit says so)
        }
        Projection<?> projection = known.get();
        long from = info.get().nextPosition();
        long folds = 0;
        long scanned = 0;
        while (scanned < BEHIND_SCAN) {
            int limit = (int) Math.min(EventStore.MAX_READ_LIMIT, BEHIND_SCAN - scanned);
            List<dev.lethe.core.store.RecordedEvent> page =
                    projection.category().isPresent()
                            ? log.readCategory(projection.category().get(), from, limit)
                            : log.readAll(from, limit);
            folds += page.stream().filter(projection::handles).count();
            scanned += page.size();
            if (page.size() < limit) {
                break;
            }
            from = page.get(page.size() - 1).position() + 1;
        }
        if (folds > 0) {
            err.println("note: " + (scanned >= BEHIND_SCAN ? "at least " : "") + folds + " event(s) this projection"
                    + " folds were appended after its stored checkpoint (position "
                    + info.get().nextPosition()
                    + ") and are not in what follows: the command line does not fold them; a running lethe serve"
                    + " does, or `lethe projections rebuild " + name + "` here");
        }
    }

    @Command(
            name = "list",
            description = {
                "Each stored projection with its checkpoint, lag and number of keys.",
                "LAG counts every event after the stored checkpoint, of any category: events of other"
                        + " categories (the audit trail's, say) are passed only at the projection's next commit, so a"
                        + " projection that is up to date shows here up to about a second's worth of the appends of a"
                        + " running server (GET /v1/projections and lethe_projection_lag_events_max of that server give"
                        + " where it has read to: monitor those).",
                "LAG is 'ahead' or 'diverged' for a read model whose states do not come from this log;"
                        + " the next start of it rebuilds it."
            })
    static final class ListCommand implements Callable<Integer> {
        @ParentCommand
        ProjectionsCommand projections;

        @Option(
                names = "--json",
                description = "One JSON object per projection and line: name, checkpoint, fit (FITS, AHEAD,"
                        + " OTHER_HISTORY or NEVER_RUN), lag (null when it does not fit), keys, lastCommit.")
        boolean json;

        @Override
        public Integer call() {
            LetheCli cli = projections.parent;
            PrintWriter out = cli.spec.commandLine().getOut();
            try (Store.Opened opened =
                    cli.store.openForReading(cli.spec.commandLine().getErr())) {
                ProjectionStore states = opened.lethe().projections();
                EventStore log = opened.lethe().store();
                long head = log.headPosition();
                List<ProjectionStore.ProjectionInfo> stored = states.list();
                if (json) {
                    printJson(out, log, head, stored);
                    return 0;
                }
                List<String> misfits = new java.util.ArrayList<>();
                out.printf("%-24s %12s %10s %8s  %s%n", "PROJECTION", "CHECKPOINT", "LAG", "KEYS", "LAST COMMIT");
                for (ProjectionStore.ProjectionInfo info : stored) {
                    CheckpointFit fit = info.fit(log);
                    if (fit != CheckpointFit.FITS) {
                        misfits.add(info.name()
                                + (fit == CheckpointFit.AHEAD ? MISFIT_AHEAD : MISFIT_OTHER)
                                + rebuiltBy(info.name()));
                    }
                    out.printf(
                            "%-24s %12d %10s %8d  %s%n",
                            info.name(),
                            info.nextPosition(),
                            fit == CheckpointFit.FITS
                                    ? Long.toString(Math.max(0, head + 1 - info.nextPosition()))
                                    : fit == CheckpointFit.AHEAD ? "ahead" : "diverged",
                            info.keyCount(),
                            info.updatedAt());
                }
                for (Projection<?> projection : DemoProjections.BUILT_IN) {
                    if (stored.stream().noneMatch(info -> info.name().equals(projection.name()))) {
                        out.printf(
                                "%-24s %12s %10d %8d  never run (lethe projections rebuild %s)%n",
                                projection.name(), "-", head + 1, 0, projection.name());
                    }
                }
                misfits.forEach(out::println);
            }
            return 0;
        }

        private static void printJson(
                PrintWriter out, EventStore log, long head, List<ProjectionStore.ProjectionInfo> stored) {
            com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
            for (ProjectionStore.ProjectionInfo info : stored) {
                CheckpointFit fit = info.fit(log);
                var line = mapper.createObjectNode()
                        .put("name", info.name())
                        .put("checkpoint", info.nextPosition())
                        .put("fit", fit.name());
                if (fit == CheckpointFit.FITS) {
                    line.put("lag", Math.max(0, head + 1 - info.nextPosition()));
                } else {
                    line.putNull("lag");
                }
                line.put("keys", info.keyCount()).put("lastCommit", Instants.format(info.updatedAt()));
                out.println(line);
            }
            for (Projection<?> projection : DemoProjections.BUILT_IN) {
                if (stored.stream().noneMatch(info -> info.name().equals(projection.name()))) {
                    out.println(mapper.createObjectNode()
                            .put("name", projection.name())
                            .putNull("checkpoint")
                            .put("fit", "NEVER_RUN")
                            .put("lag", head + 1)
                            .put("keys", 0)
                            .putNull("lastCommit"));
                }
            }
        }
    }

    @Command(
            name = "show",
            description = {
                "Show the state of one key of a projection, or list its keys.",
                "  lethe projections show customer-summary customer-1 --as-of 2026-10-31"
            })
    static final class ShowCommand implements Callable<Integer> {
        @ParentCommand
        ProjectionsCommand projections;

        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", arity = "0..1", paramLabel = "KEY", description = "Without KEY: list the keys.")
        String key;

        @Option(
                names = "--as-of",
                paramLabel = "INSTANT",
                description =
                        "The state of a per-stream projection for stream KEY as of an instant or date, folded from the log.")
        String asOf;

        @Option(names = "--limit", paramLabel = "N", defaultValue = "100", description = "Keys to list (default 100).")
        int limit;

        @Override
        public Integer call() {
            LetheCli cli = projections.parent;
            PrintWriter out = cli.spec.commandLine().getOut();
            if (asOf != null) {
                return showAsOf(cli, out);
            }
            try (Store.Opened opened =
                    cli.store.openForReading(cli.spec.commandLine().getErr())) {
                ProjectionStore states = opened.lethe().projections();
                warnIfMisfit(
                        cli.spec.commandLine().getErr(), states, opened.lethe().store(), name);
                warnIfBehind(
                        cli.spec.commandLine().getErr(), states, opened.lethe().store(), name);
                Optional<String> notStored = notStored(states, name);
                if (notStored.isPresent()) {
                    cli.spec.commandLine().getErr().println(notStored.get());
                    return 1;
                }
                if (key == null) {
                    if (limit < 1) {
                        throw InvalidEventException.of("--limit", limit + " is not a number of keys (1 or more)");
                    }
                    // One more than asked: whether more follow.
                    List<String> keys = states.keys(name, null, limit == Integer.MAX_VALUE ? limit : limit + 1);
                    if (keys.isEmpty()) {
                        cli.spec.commandLine().getErr().println("projection '" + name + "' has no stored state");
                        return 1;
                    }
                    keys.stream().limit(limit).forEach(out::println);
                    if (keys.size() > limit) {
                        cli.spec
                                .commandLine()
                                .getErr()
                                .println("note: the first " + limit + " keys; more follow (--limit N for more)");
                    }
                    return 0;
                }
                Optional<String> state = states.loadState(name, key);
                if (state.isEmpty()) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .println("projection '" + name + "' has no state for key '" + key + "'");
                    return 1;
                }
                out.println(revealed(opened, state.get()));
                return 0;
            }
        }

        private int showAsOf(LetheCli cli, PrintWriter out) {
            if (key == null) {
                throw InvalidEventException.of("--as-of", "needs a KEY (the stream id)");
            }
            Projection<?> projection = known(name);
            try (Store.Opened opened =
                            cli.store.openForReading(cli.spec.commandLine().getErr());
                    ProjectionRuntime runtime = new ProjectionRuntime(
                            opened.lethe().store(), opened.lethe().projections())) {
                Instant at = Instants.parse("--as-of", asOf);
                Instants.noteIfFuture(cli.spec.commandLine().getErr(), "--as-of", at, java.time.Clock.systemUTC());
                StreamId stream = StreamId.of(key);
                Object state = runtime.stateAsOf(projection, stream, at);
                if (opened.lethe().store().readStreamAsOf(stream, at, 0, 1).isEmpty()) {
                    // Its initial state would read as one the projection had: say there was none.
                    cli.spec
                            .commandLine()
                            .getErr()
                            .println("projection '" + name + "' had no state for key '" + key + "' as of " + at
                                    + " (the stream had no event by then)");
                    return 1;
                }
                out.println(revealed(opened, Json.of(state).toString()));
            }
            return 0;
        }

        /** The state with its personal values opened for the reader's role; redactions listed after it. */
        private static String revealed(Store.Opened opened, String json) {
            PrivacyCodec.RevealedState state =
                    opened.lethe().privacy().revealState(Json.parse(json), opened.principal());
            String text = state.state().asTree().toPrettyString();
            if (state.redactions().isEmpty()) {
                return text;
            }
            return text + "\nredacted: "
                    + state.redactions().stream()
                            .map(r -> r.path() + " (" + r.reason().label() + ")")
                            .collect(Collectors.joining(", "));
        }
    }

    @Command(name = "rebuild", description = "Delete a projection's states and fold it again from the first event.")
    static final class RebuildCommand implements Callable<Integer> {
        @ParentCommand
        ProjectionsCommand projections;

        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        public Integer call() throws Exception {
            LetheCli cli = projections.parent;
            Projection<?> projection = known(name);
            PrintWriter err = cli.spec.commandLine().getErr();
            try (SqliteLethe lethe = cli.store.openExisting();
                    ProjectionRuntime runtime = new ProjectionRuntime(lethe.store(), lethe.projections())) {
                SqliteEventStore store = lethe.store();
                ProjectionStore states = lethe.projections();
                long head = store.headPosition();
                long started = System.nanoTime();
                states.reset(name);
                runtime.start(projection);
                ProjectionStatus status;
                // A failure beside another phase is a commit being tried again (a full disk): waited for.
                while (!(status = runtime.status(name)).phase().equals(ProjectionStatus.Phase.LIVE)
                        && status.phase() != ProjectionStatus.Phase.FAILED) {
                    Progress.print(err, "rebuilding " + name, status.nextPosition(), head + 1, started);
                    runtime.awaitPosition(name, head, Duration.ofMillis(500));
                }
                if (status.phase() == ProjectionStatus.Phase.FAILED) {
                    // The failure names the event (its fold's message); nextPosition is only the last
                    // checkpoint the states were committed at. Not a bug in Lethe: no stack trace.
                    err.println();
                    err.println("error: projection '" + name + "' failed: "
                            + status.failure().get()
                            + " (its states are kept as committed up to position " + status.nextPosition()
                            + "; fix the fold or the data, then rebuild)");
                    return 1;
                }
                Progress.print(err, "rebuilding " + name, head + 1, head + 1, started);
                err.println();
                cli.spec
                        .commandLine()
                        .getOut()
                        .printf(
                                "rebuilt %s: %d events in %.1f s, %d keys%n",
                                name,
                                head + 1,
                                (System.nanoTime() - started) / 1e9,
                                states.list().stream()
                                        .filter(i -> i.name().equals(name))
                                        .findFirst()
                                        .map(i -> i.keyCount())
                                        .orElse(0L));
            }
            return 0;
        }
    }
}
