package dev.lethe.server.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.SchemaRegistry;
import dev.lethe.core.privacy.keys.KeyService;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.privacy.policy.PolicyLinter;
import dev.lethe.core.privacy.schema.JsonSchemaNotation;
import dev.lethe.core.store.InstantText;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.server.Instants;
import dev.lethe.sqlite.SqliteLethe;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** Retention, keys, policy and schemas on the command line. */
final class GovernanceCommands {
    private GovernanceCommands() {}

    @Command(
            name = "retention",
            description = "Retention of personal data.",
            subcommands = {RetentionRun.class, RetentionPlan.class})
    static final class Retention implements Runnable {
        @ParentCommand
        LetheCli parent;

        @Override
        public void run() {
            parent.printUsageOf("retention");
        }
    }

    @Command(
            name = "run",
            description = {
                "Destroy every period key whose retention has ended, and carry out scheduled forgets.",
                "  lethe retention run --now 2029-01-01T00:00:00Z --yes     run as of a later date: it destroys for real,"
                        + " keys whose retention has not ended yet and subjects whose forget is scheduled later"
                        + " included (lethe retention plan --now … shows which)"
            })
    static final class RetentionRun implements Callable<Integer> {
        @ParentCommand
        Retention retention;

        @Option(
                names = "--now",
                paramLabel = "INSTANT",
                description = "Run as if it were this instant (default: now; a date alone means the end of that"
                        + " day, UTC); keys are destroyed for real.")
        String now;

        @Option(
                names = "--yes",
                description = "Run with a --now later than the clock: it destroys keys whose retention has not"
                        + " ended yet and carries out forgets scheduled up to --now, early; neither can be undone."
                        + " Without --now, confirms a clock more than 100 days past the last retention run, which"
                        + " is refused without it.")
        boolean yes;

        @Override
        public Integer call() {
            LetheCli cli = retention.parent;
            Instant clock = Instant.now();
            Instant at = now == null ? clock : Instants.parse("--now", now);
            if (at.isAfter(clock.plus(java.time.Duration.ofMinutes(1))) && !yes) {
                // One mistyped word (run for plan) or a pasted example must not destroy data for good.
                throw InvalidEventException.of(
                        "--now",
                        at + " is after the current time (" + clock.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                                + "): the run would destroy keys whose retention has not ended yet and carry out"
                                + " forgets scheduled up to then, early, and that cannot be undone. lethe retention"
                                + " plan --now " + now + " lists them; add --yes to run it");
            }
            try (SqliteLethe lethe = cli.store.openExisting()) {
                // retention() checks the rotate-keys permission: running it destroys keys.
                PrintWriter err = cli.spec.commandLine().getErr();
                long started = System.nanoTime();
                boolean[] shown = {false};
                PrivateEventStore.RetentionReport report = lethe.privacy()
                        .retention(at, cli.store.principal(), now == null && !yes, (done, due) -> {
                            // Each forget is a durable write: thousands due take a while, said as they go.
                            if (shown[0] || System.nanoTime() - started > 500_000_000L) {
                                shown[0] = true;
                                Progress.print(err, "scheduled forgets carried out", done, due, "forgets", started);
                            }
                        });
                if (shown[0]) {
                    err.println();
                }
                PrintWriter out = cli.spec.commandLine().getOut();
                out.printf(
                        "retention run as of %s: %d scheduled forget(s) carried out, %d period key(s) destroyed%n",
                        at, report.forgotten().size(), report.expired().size());
                report.forgotten()
                        .forEach(r ->
                                out.printf("  subject %s forgotten (scheduled; receipt %s)%n", r.subject(), r.id()));
                report.expired()
                        .forEach(p ->
                                out.printf("  %s/%s: its personal data now reads as expired%n", p.group(), p.period()));
                if (!report.undeclared().isEmpty()) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .printf(
                                    "warning: %d live period key(s) of data groups the policy does not declare are never"
                                            + " destroyed by retention: %s. Declare those groups again (lethe policy"
                                            + " set) to expire them%n",
                                    report.undeclared().size(),
                                    report.undeclared().stream()
                                            .map(p -> p.group() + "/" + p.period())
                                            .collect(java.util.stream.Collectors.joining(", ")));
                }
            }
            return 0;
        }
    }

    @Command(
            name = "plan",
            description = {
                "What retention runs will destroy, and when: every live period key with the end of its retention,"
                        + " soonest first, and the scheduled forgets due; and what they destroyed: every period key"
                        + " gone, with the instant of the run. Destroys nothing; beside a running server too.",
                "  lethe retention plan --now 2029-01-01T00:00:00Z     what a run as of that date would destroy"
            })
    static final class RetentionPlan implements Callable<Integer> {
        @ParentCommand
        Retention retention;

        @Option(
                names = "--now",
                paramLabel = "INSTANT",
                description = "Plan as of this instant (default: now; a date alone means the end of that day, UTC):"
                        + " what is due by then.")
        String now;

        @Option(
                names = "--json",
                description = "One JSON object per line: each live period key, each destroyed one, then each due"
                        + " scheduled forget.")
        boolean json;

        @Override
        public Integer call() {
            LetheCli cli = retention.parent;
            Instant at = now == null ? Instant.now() : Instants.parse("--now", now);
            PrintWriter out = cli.spec.commandLine().getOut();
            cli.store.requireExisting();
            dev.lethe.core.privacy.Principal who = cli.store.principal();
            // Read-only, always, as keys check: a writer open would apply what a restore left to apply (forgets,
            // expiries) and audit it; a plan changes nothing. The read-only view shows those as done already.
            try (SqliteLethe lethe = SqliteLethe.openReadOnly(cli.store.directory, cli.store.options())) {
                cli.store.warnIfPolicyMissing(cli.spec.commandLine().getErr());
                PrivateEventStore privacy = lethe.privacy();
                List<KeyService.PeriodExpiry> keys = privacy.keys().periodExpiries();
                List<dev.lethe.core.privacy.keys.KeyStore.DestroyedPeriod> destroyed =
                        privacy.keys().destroyedPeriods();
                boolean mayForget = lethe.policy().may(who, DataPolicy.Permission.FORGET);
                List<PrivateEventStore.ScheduledForget> scheduled =
                        mayForget ? privacy.scheduledForgets(null, who) : List.of();
                List<PrivateEventStore.ScheduledForget> due = scheduled.stream()
                        .filter(schedule -> !schedule.at().isAfter(at))
                        .toList();
                long keysDue = keys.stream().filter(key -> key.dueAt(at)).count();
                // The period values are written into today: a run that destroys it early (a --now ahead of the
                // clock) closes its group to personal data until the period ends.
                Instant today = Instant.now();
                java.util.function.Predicate<KeyService.PeriodExpiry> open = key -> key.declared()
                        && lethe.policy()
                                .periodOf(key.key().group(), today)
                                .equals(key.key().period());
                if (json) {
                    for (KeyService.PeriodExpiry key : keys) {
                        Map<String, Object> line = new java.util.LinkedHashMap<>();
                        line.put("kind", "periodKey");
                        line.putAll(key.asMap(at));
                        line.put("open", open.test(key));
                        out.println(PriorForgets.JSON.valueToTree(line));
                    }
                    for (var gone : destroyed) {
                        Map<String, Object> line = new java.util.LinkedHashMap<>();
                        line.put("kind", "destroyedPeriodKey");
                        line.put("group", gone.group().name());
                        line.put("period", gone.period());
                        line.put(
                                "destroyedAsOf",
                                gone.destroyedAt() == null ? null : InstantText.of(gone.destroyedAt()));
                        out.println(PriorForgets.JSON.valueToTree(line));
                    }
                    for (PrivateEventStore.ScheduledForget schedule : due) {
                        Map<String, Object> line = new java.util.LinkedHashMap<>(schedule.asMap());
                        line.put("kind", "scheduledForget");
                        out.println(PriorForgets.JSON.valueToTree(line));
                    }
                } else {
                    out.printf(
                            "retention plan as of %s (nothing destroyed; lethe retention run does it)%n"
                                    + "period keys: %d live, %d due%n",
                            at, keys.size(), keysDue);
                    for (KeyService.PeriodExpiry key : keys) {
                        out.printf(
                                "  %-28s %s%n",
                                key.key().group() + "/" + key.key().period(),
                                key.expiresAt()
                                        .map(end -> "expires " + end
                                                + (key.dueAt(at)
                                                        ? open.test(key)
                                                                ? "  due, and still the period new values go into:"
                                                                        + " once destroyed, its group takes no personal"
                                                                        + " data until the period ends"
                                                                : "  due"
                                                        : ""))
                                        .orElse(
                                                key.declared()
                                                        ? "never: its retention ends past the calendar"
                                                        : "never: its group is not in the data policy, and"
                                                                + " retention only expires declared groups"));
                    }
                    out.printf("period keys destroyed: %d%n", destroyed.size());
                    for (var gone : destroyed) {
                        out.printf(
                                "  %-28s %s%n",
                                gone.group().name() + "/" + gone.period(),
                                gone.destroyedAt() == null
                                        ? "destroyed (per the audit trail; this key store was restored from before:"
                                                + " the next writer open destroys it again)"
                                        : "destroyed by the retention run as of " + InstantText.of(gone.destroyedAt()));
                    }
                    if (mayForget) {
                        long subjects = due.stream()
                                .map(PrivateEventStore.ScheduledForget::subject)
                                .distinct()
                                .count();
                        out.printf(
                                "scheduled forgets: %d due%s, %d later (lethe subject scheduled lists them all)%n",
                                due.size(),
                                subjects < due.size() ? " (" + subjects + " subjects: each is forgotten once)" : "",
                                scheduled.size() - due.size());
                        due.forEach(schedule -> out.printf(
                                "  subject %s  forget at %s  schedule %s  due%n",
                                schedule.subject(), schedule.at(), schedule.id()));
                    } else {
                        out.println("scheduled forgets: not listed (they need a role with the forget permission)");
                    }
                    keys.stream()
                            .filter(key -> key.expiresAt().isPresent() && !key.dueAt(at))
                            .findFirst()
                            .ifPresent(next -> out.printf(
                                    "next expiry: %s/%s at %s%n",
                                    next.key().group(),
                                    next.key().period(),
                                    next.expiresAt().get()));
                }
            }
            return 0;
        }
    }

    @Command(
            name = "keys",
            description = "The key service.",
            subcommands = {KeysRotate.class, KeysMoveToPkcs11.class, KeysCheck.class})
    static final class Keys implements Runnable {
        @ParentCommand
        LetheCli parent;

        @Override
        public void run() {
            parent.printUsageOf("keys");
        }
    }

    @Command(
            name = "rotate",
            description = {
                "Re-wrap every live key under a new master key epoch and destroy the old master key.",
                "Copies of keys.db taken before (backups) can no longer be unwrapped with the master key as it is"
                        + " now; with a copy of the old keyset (or token key) kept elsewhere they still can: destroy"
                        + " those copies (docs/privacy.md §9). Needs the rotate-keys permission."
            })
    static final class KeysRotate implements Callable<Integer> {
        @ParentCommand
        Keys keys;

        @Override
        public Integer call() {
            LetheCli cli = keys.parent;
            try (SqliteLethe lethe = cli.store.openExisting()) {
                KeyService.Rotation rotation = lethe.privacy()
                        .rotateMasterKey(
                                cli.store.principal(),
                                Progress.ofKeys(cli.spec.commandLine().getErr()));
                cli.spec
                        .commandLine()
                        .getOut()
                        .printf(
                                "master key rotated: new epoch %d, %d keys re-wrapped, destroyed epochs %s%n",
                                // Tink key ids are unsigned 32-bit numbers.
                                Integer.toUnsignedLong(rotation.newEpoch()),
                                rotation.rewrapped(),
                                rotation.destroyedEpochs().stream()
                                        .map(Integer::toUnsignedLong)
                                        .toList());
                if (lethe.privacy().keys().master() instanceof dev.lethe.core.privacy.keys.LocalMasterKey local) {
                    cli.spec
                            .commandLine()
                            .getErr()
                            .println("now: copy the new keyset ("
                                    + local.file().toAbsolutePath().normalize() + ") to where your keyset copy is"
                                    + " kept, and take a backup (lethe backup): until then this file is the only key"
                                    + " to this store, and backups taken before the rotation no longer open with it");
                    cli.spec
                            .commandLine()
                            .getErr()
                            .println("note: a copy of the keyset file taken before this rotation (kept apart with a"
                                    + " backup) still unwraps the keys of backups taken before it, forgotten subjects"
                                    + " included: delete such copies once those backups may no longer be read"
                                    + " (docs/privacy.md §9)");
                }
            }
            return 0;
        }
    }

    @Command(
            name = "move-to-pkcs11",
            description = {
                "Move the master key out of its keyset file into the PKCS#11 token that --pkcs11-library,"
                        + " --pkcs11-slot and the PIN (--pkcs11-pin-file or $LETHE_PKCS11_PIN) name: every live key"
                        + " is re-wrapped under the token's key for this store, then the keyset file is deleted.",
                "From then on every command needs the PKCS#11 settings. Copies of the keyset kept elsewhere, with"
                        + " backups of keys.db made before the move, still unwrap the keys of that time: destroy"
                        + " those copies (a rotation cannot reach them). Needs the rotate-keys permission."
            })
    static final class KeysMoveToPkcs11 implements Callable<Integer> {
        @ParentCommand
        Keys keys;

        @Override
        public Integer call() {
            LetheCli cli = keys.parent;
            cli.store.requireExisting();
            SqliteLethe.MasterKeyMove move = SqliteLethe.moveMasterKeyToToken(
                    cli.store.directory,
                    cli.store.keysetOptions(),
                    cli.store.pkcs11Token(),
                    cli.store.principal(),
                    Progress.ofKeys(cli.spec.commandLine().getErr()));
            PrintWriter out = cli.spec.commandLine().getOut();
            out.printf(
                    "master key moved: %d keys re-wrapped%n  from  %s%n  into  %s%n",
                    move.rewrapped(), move.from(), move.to());
            if (move.keysetDeleted()) {
                out.printf("  deleted %s%n", move.keyset());
            } else {
                cli.spec
                        .commandLine()
                        .getErr()
                        .printf(
                                "warning: the old keyset %s could not be deleted; it still holds the old master key:"
                                        + " delete it by hand (each writer open with the token tries again)%n",
                                move.keyset());
            }
            out.println("From now on give every command --pkcs11-library, --pkcs11-slot and the PIN. Copies of the old"
                    + " keyset (in backups, say), with backups of keys.db made before the move, still unwrap the keys"
                    + " of that time: destroy those copies; a rotation cannot reach them.");
            return 0;
        }
    }

    @Command(
            name = "check",
            description = {
                "Unwrap every live key in keys.db with the master key, in memory, to see that they belong together:"
                        + " after restoring keys.db, moving the data directory, or changing the keyset or token.",
                "Then reads the log and checks that every subject it names has a key or was forgotten. Opens the"
                        + " directory read-only (beside a running server too), releases no data and changes nothing."
                        + " Exit code 0 when all is well; 1 when some keys do not unwrap or some subjects have lost"
                        + " their keys (their data reads as unavailable); 4 when the check could not run (the"
                        + " directory, its files or its master key cannot be opened or read: the error says why); 2 on bad"
                        + " options."
            })
    static final class KeysCheck implements Callable<Integer> {
        @ParentCommand
        Keys keys;

        /** Set once the check found damage: a step that then fails does not make it "could not check". */
        private boolean failedAlready;

        @Override
        public Integer call() {
            try {
                return check();
            } catch (dev.lethe.core.privacy.AccessDeniedException e) {
                throw e;
            } catch (RuntimeException e) {
                if (failedAlready) {
                    // The damage found (a keys.db quick_check failure, say) stopped a later step: that is the result.
                    PrintWriter out = keys.parent.spec.commandLine().getOut();
                    out.printf(
                            "  then stopped   %s%n",
                            String.valueOf(e.getMessage()).replace("\n", "; "));
                    out.printf("result           FAILED%n");
                    return 1;
                }
                // A bad data directory, keys.db, policy.yaml or master key: the check could not run (not 2,
                // which says the command line itself was wrong).
                throw new LetheCli.CouldNotRun(e);
            }
        }

        private int check() {
            LetheCli cli = keys.parent;
            PrintWriter out = cli.spec.commandLine().getOut();
            cli.store.requireExisting();
            // Read-only, always: a check creates nothing (no keys.db, no keyset) and changes nothing.
            try (SqliteLethe lethe = SqliteLethe.openReadOnly(cli.store.directory, cli.store.options())) {
                cli.store.warnIfPolicyMissing(cli.spec.commandLine().getErr());
                KeyService service = lethe.privacy().keys();
                // The file first: a damaged page passes every unwrap (the keys are elsewhere) and fails later
                // forgets and new natural keys.
                String integrity = dev.lethe.sqlite.SqliteKeyStore.quickCheck(cli.store.directory);
                boolean damaged = !reportFile(out, "keys.db", integrity);
                failedAlready = damaged;
                // The log's file too: a damaged page of an index fails every append (SQLITE_CORRUPT) while every key
                // still unwraps (review U).
                out.printf("checking events.db (SQLite quick_check: reads the whole file)...%n");
                out.flush();
                if (!reportFile(
                        out,
                        "events.db",
                        dev.lethe.sqlite.SqliteKeyStore.quickCheckFile(cli.store.directory.resolve("events.db")))) {
                    damaged = true;
                    failedAlready = true;
                }
                out.printf("checking every live key in keys.db against the master key...%n");
                KeyService.KeyCheck check = service.checkKeys();
                out.printf(
                        "keys.db          %,d live keys (%s)%n",
                        check.total(),
                        check.byKind().entrySet().stream()
                                .map(e -> String.format("%,d %s", e.getValue(), e.getKey()))
                                .collect(java.util.stream.Collectors.joining(", ")));
                out.printf(
                        "master key       %s; live epochs %s%n",
                        service.master().describe(), unsigned(check.liveEpochs()));
                if (check.liveEpochs().size() > 1) {
                    // Not a failure (every key still unwraps), but the older epochs outlive what rotation promises.
                    out.printf(
                            "  note           %d live epochs: a rotation was stopped before it destroyed the older"
                                    + " one(s), which still unwrap copies of keys.db taken before it; run lethe keys"
                                    + " rotate to finish%n",
                            check.liveEpochs().size());
                }
                if (check.unreachable() > 0) {
                    // The token or HSM failed: nothing is known about those keys, nor anything wrong with keys.db.
                    out.printf(
                            "unwrap           NOT CHECKED: the master key could not be used for %,d of %,d keys: %s%n",
                            check.unreachable(),
                            check.total(),
                            check.unreachableBecause().orElse("?"));
                    out.printf("result           could not check (the master key's device failed; keys.db is not"
                            + " known to be wrong): check the HSM, then run lethe keys check again%n");
                    return 4;
                }
                boolean failed = damaged;
                if (check.failing() == 0) {
                    out.printf("unwrap           all %,d unwrap%n", check.total());
                } else {
                    failed = true;
                    failedAlready = true;
                    reportFailing(out, check, lethe);
                }
                KeyService.IndexCheck index = service.checkIndex();
                if (index.failing() == 0) {
                    out.printf("blind index      all %,d entries open under the index secret%n", index.entries());
                } else {
                    failed = true;
                    failedAlready = true;
                    out.printf(
                            "blind index      FAILED: %,d of %,d entries do not open under the index secret: their"
                                    + " natural keys no longer find their subjects, and a new event naming one would"
                                    + " create a second subject for the person (whose forget would leave the first"
                                    + " one's data readable)%n",
                            index.failing(), index.entries());
                    out.printf(
                            "  e.g. subjects %s%n",
                            index.examples().stream()
                                    .map(Object::toString)
                                    .collect(java.util.stream.Collectors.joining(", ")));
                    out.printf("  likely cause   keys.db damaged or altered: restore the whole data directory from one"
                            + " backup (docs/privacy.md §9, Restoring); until then append nothing that names those"
                            + " people%n");
                }
                java.util.Optional<String> olderLog = lethe.privacy().logOlderThanKeyStore();
                if (olderLog.isPresent()) {
                    failed = true;
                    out.printf("log              FAILED: %s%n", olderLog.get());
                } else {
                    out.printf(
                            "log              not older than keys.db (its audit trail and last position are where the"
                                    + " last writer left them, or past)%n");
                }
                out.printf("checking the subjects the log names against keys.db...%n");
                PrivateEventStore.LostSubjects lost = lethe.privacy()
                        .subjectsWithoutKeys(KeyService.CHECK_EXAMPLES, read -> {
                            if (read % 1_000_000 < dev.lethe.core.store.EventStore.MAX_READ_LIMIT) {
                                out.printf("  %,d events read%n", read);
                            }
                        });
                if (lost.lost() == 0) {
                    out.printf(
                            "subjects         all %,d the log names (%,d events) have a key or were forgotten%n",
                            lost.subjects(), lost.events());
                } else {
                    failed = true;
                    out.printf(
                            "subjects         FAILED: %,d of %,d subjects the log names have neither a key nor an"
                                    + " erasure fence: their personal data reads as unavailable, though nobody forgot"
                                    + " them%n",
                            lost.lost(), lost.subjects());
                    out.printf(
                            "  e.g. %s%n",
                            lost.examples().stream()
                                    .map(Object::toString)
                                    .collect(java.util.stream.Collectors.joining(", ")));
                    if (lost.lostWithReceipt() > 0) {
                        // A receipt says they were forgotten: it is the fence that was lost, not the forget undone.
                        out.printf(
                                "  %,d of them have an erasure receipt in keys.db: they were forgotten, and keys.db"
                                        + " has since lost their erasure fence (damaged?), which keeps personal data"
                                        + " from being sealed for them again%n",
                                lost.lostWithReceipt());
                    }
                    out.printf("  likely cause   a keys.db older than events.db (from an earlier backup), or damaged:"
                            + " restore the whole data directory from one backup (docs/privacy.md §9, Restoring)%n");
                }
                if (lost.unreadable() > 0) {
                    failed = true;
                    out.printf(
                            "events           FAILED: %,d event(s) whose privacy record no longer parses (altered on"
                                    + " disk: a read reports them as tampered); restore the whole data directory"
                                    + " from one backup (docs/privacy.md §9, Restoring)%n",
                            lost.unreadable());
                }
                if (lost.lostPeriods().isEmpty()) {
                    out.printf(
                            "periods          all %,d key periods the log's fields are sealed in have a key or"
                                    + " expired%n",
                            lost.periods());
                } else {
                    failed = true;
                    out.printf(
                            "periods          FAILED: %,d of %,d key periods the log's fields are sealed in have"
                                    + " neither a key nor a record of their expiry: %s; their fields read as"
                                    + " unavailable, and a new value of such a period would be sealed under a new key"
                                    + " that does not open them (they would then read as tampered)%n",
                            lost.lostPeriods().size(),
                            lost.periods(),
                            String.join(
                                    ", ",
                                    lost.lostPeriods()
                                            .subList(
                                                    0,
                                                    Math.min(
                                                            10,
                                                            lost.lostPeriods().size()))));
                    out.printf("  likely cause   a keys.db older than events.db, or damaged: restore the whole data"
                            + " directory from one backup (docs/privacy.md §9, Restoring) before appending%n");
                }
                out.printf("result           %s%n", failed ? "FAILED" : "ok");
                return failed ? 1 : 0;
            }
        }

        /** Prints a database file's quick_check result; true when it is "ok". */
        private static boolean reportFile(PrintWriter out, String file, String integrity) {
            if ("ok".equals(integrity)) {
                out.printf("%-17sok (SQLite quick_check)%n", file + " file");
                return true;
            }
            out.printf(
                    "%-17sFAILED: SQLite's quick_check found damage: %s%n"
                            + "  likely cause   a damaged disk or a copy changed by hand: restore the whole"
                            + " data directory from one backup (docs/privacy.md §9, Restoring)%n",
                    file + " file", integrity.replace("\n", "; "));
            return false;
        }

        private static void reportFailing(PrintWriter out, KeyService.KeyCheck check, SqliteLethe lethe) {
            out.printf(
                    "unwrap           FAILED: %,d of %,d keys do not unwrap; their data reads as unavailable%n",
                    check.failing(), check.total());
            check.failingByEpoch()
                    .forEach((epoch, count) -> out.printf(
                            "  %,d wrapped by %s%n",
                            count,
                            epoch == -1
                                    ? "no epoch this master key can name (not its format: another kind of master key?)"
                                    : "epoch " + Integer.toUnsignedLong(epoch)
                                            + (check.liveEpochs().contains(epoch)
                                                    ? " (live: altered, or wrapped for another reference)"
                                                    : ", which this master key does not hold")));
            out.printf("  e.g. %s%n", String.join(", ", check.failingExamples()));
            lethe.masterKeyChangeRefusal()
                    .ifPresent(why -> out.printf(
                            "  likely cause   a rotation of the store this one shares its master key with destroyed"
                                    + " the epoch these keys were wrapped by: %s%n",
                            why));
            out.printf("  else check     the keyset (--master-key-dir) or token (--pkcs11-slot, --pkcs11-library)"
                    + " is this store's; a keys.db restored from before a rotation holds keys no master key"
                    + " unwraps any more (which is what rotation is for): restore a newer one%n");
        }

        private static java.util.List<Long> unsigned(java.util.List<Integer> epochs) {
            return epochs.stream().map(Integer::toUnsignedLong).toList();
        }
    }

    @Command(
            name = "policy",
            description = "The data policy.",
            subcommands = {PolicyShow.class, PolicyCheck.class, PolicySet.class})
    static final class Policy implements Runnable {
        @ParentCommand
        LetheCli parent;

        @Override
        public void run() {
            parent.printUsageOf("policy");
        }
    }

    @Command(name = "show", description = "Print the data directory's policy (policy.yaml).")
    static final class PolicyShow implements Callable<Integer> {
        @ParentCommand
        Policy policy;

        @Override
        public Integer call() throws IOException {
            LetheCli cli = policy.parent;
            Store.requireReachable(cli.store.directory); // not "not a data directory (yet)" and the default policy
            SqliteLethe.readPolicy(cli.store.directory); // refuses a file that does not parse
            Path file = cli.store.directory.resolve(SqliteLethe.POLICY_FILE);
            String yaml;
            if (Files.exists(file)) {
                yaml = Files.readString(file);
            } else {
                yaml = DataPolicy.defaultYaml();
                boolean hasRun = Files.isRegularFile(cli.store.directory.resolve("keys.db"));
                cli.spec
                        .commandLine()
                        .getErr()
                        .println(
                                hasRun
                                        ? "warning: " + file + " is missing from a store that has run under a policy:"
                                                + " this is the default policy, which Lethe does not put back; writing"
                                                + " commands refuse to open until the store's own policy file is"
                                                + " copied back"
                                        : !Files.isDirectory(cli.store.directory)
                                                ? "note: " + cli.store.directory + " is not a data directory (yet):"
                                                        + " this is the default policy a new one gets"
                                                : "note: no " + file + " yet: this is the default policy, which the"
                                                        + " first command that writes the directory puts there");
            }
            PrintWriter out = cli.spec.commandLine().getOut();
            out.print(yaml.endsWith("\n") ? yaml : yaml + "\n");
            out.flush();
            return 0;
        }
    }

    @Command(
            name = "check",
            description = {
                "Lint the registered schemas and the stored stream ids against the policy.",
                "Fields that look personal but are not classified, personal fields in undeclared groups; and scan"
                        + " every stream id of the store, a page at a time, for the personal data strict mode rejects"
                        + " at append (a phone number or an IBAN after the first '-'), and in the category before it"
                        + " too; $ system streams are skipped.",
                "Exit code 1 when there are findings.",
                "A stream id finding prints the id in full, on standard output only, so that you can find the"
                        + " stream; it is never logged or written to the audit trail.",
                "Progress goes to standard error."
            })
    static final class PolicyCheck implements Callable<Integer> {
        @ParentCommand
        Policy policy;

        @Option(
                names = "--progress-every",
                paramLabel = "N",
                defaultValue = "100000",
                description = "Report progress on standard error about every N stream ids (default: ${DEFAULT-VALUE}).")
        long progressEvery;

        @Override
        public Integer call() {
            LetheCli cli = policy.parent;
            if (progressEvery < 1) {
                throw InvalidEventException.of("--progress-every", progressEvery + " must be at least 1");
            }
            try (Store.Opened opened =
                    cli.store.openForReading(cli.spec.commandLine().getErr())) {
                PrintWriter out = cli.spec.commandLine().getOut();
                PrintWriter err = cli.spec.commandLine().getErr();
                List<SchemaRegistry.Registered> schemas =
                        opened.lethe().privacy().schemas().all();
                List<PolicyLinter.Finding> findings = new java.util.ArrayList<>(PolicyLinter.check(
                        opened.lethe().policy(), schemas, dev.lethe.protobuf.ProtobufNotation::unreadMembers));
                findings.addAll(PolicyLinter.checkHistory(
                        opened.lethe().policy(),
                        opened.lethe().privacy().schemas().allVersions(),
                        opened.lethe().privacy().keys().livePeriods()));
                findings.forEach(f -> out.println("finding: " + f));
                long[] streamFindings = {0};
                long[] reported = {0};
                long streams = PolicyLinter.checkStreamIds(
                        opened.lethe().store(),
                        opened.lethe().policy().numericIdCategories(),
                        f -> {
                            streamFindings[0]++;
                            out.println("finding: " + f);
                        },
                        scanned -> {
                            if (scanned / progressEvery > reported[0]) {
                                reported[0] = scanned / progressEvery;
                                out.flush();
                                err.printf(
                                        "%,d stream ids scanned, %,d finding(s) so far%n", scanned, streamFindings[0]);
                            }
                        });
                long total = findings.size() + streamFindings[0];
                out.printf(
                        "%d schema(s) and %d stream id(s) checked, %d finding(s)%s%n",
                        schemas.size(), streams, total, opened.lethe().policy().strict() ? " (strict mode)" : "");
                return total == 0 ? 0 : 1;
            }
        }
    }

    @Command(
            name = "set",
            description = "Replace the data policy with FILE (validated first; audited). Needs change-policy.")
    static final class PolicySet implements Callable<Integer> {
        @ParentCommand
        Policy policy;

        @Parameters(paramLabel = "FILE")
        Path file;

        @Option(
                names = "--yes",
                description = "Replace it even though it shortens a group's retention: the next retention run then"
                        + " destroys, for good, the keys of every period whose new retention has ended.")
        boolean yes;

        @Override
        public Integer call() throws IOException {
            LetheCli cli = policy.parent;
            String yaml;
            try {
                // As every open reads policy.yaml: at most 1 MiB of UTF-8 (read from a pipe too, /dev/stdin, but
                // never more than that: /dev/zero would never end).
                if (Files.isDirectory(file)) {
                    throw InvalidEventException.of("policy file", file + " is a directory");
                }
                byte[] bytes;
                try (java.io.InputStream in = Files.newInputStream(file)) {
                    bytes = in.readNBytes(DataPolicy.MAX_BYTES + 1);
                }
                if (bytes.length > DataPolicy.MAX_BYTES) {
                    throw InvalidEventException.of(
                            "policy file",
                            file + " is over " + DataPolicy.MAX_BYTES + " bytes; a data policy is at most that");
                }
                yaml = java.nio.charset.StandardCharsets.UTF_8
                        .newDecoder()
                        .decode(java.nio.ByteBuffer.wrap(bytes))
                        .toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw InvalidEventException.of("policy file", file + " is not UTF-8 text (saved as UTF-16?)");
            } catch (IOException e) {
                throw InvalidEventException.of(
                        "policy file", "cannot read " + file + ": " + dev.lethe.server.IoErrors.describe(e));
            }
            DataPolicy parsed;
            try {
                parsed = DataPolicy.parse(yaml);
            } catch (InvalidEventException e) {
                throw e.at(file + ": " + e.subject());
            }
            java.util.Optional<Path> journalBefore;
            List<String> shortenedRetention = List.of();
            String journalNotRead = null;
            SqliteLethe opened;
            try {
                opened = cli.store.openForWriting();
            } catch (dev.lethe.core.store.StorageException e) {
                // A journal that stops every open (its directory gone, a volume not mounted) must not stop
                // the change that replaces it: opened once more without it, when the new policy names
                // another journal or none, and when that open succeeds (the failure was the journal's).
                java.util.Optional<Path> current = currentJournal(cli);
                if (current.isEmpty() || current.equals(parsed.receiptJournal()) || usable(cli, current.get())) {
                    throw e;
                }
                try {
                    opened = SqliteLethe.openWithoutReceiptJournal(cli.store.directory, cli.store.options());
                } catch (RuntimeException again) {
                    throw e;
                }
                journalNotRead = current.get().toString();
                cli.spec
                        .commandLine()
                        .getErr()
                        .printf(
                                "warning: the store cannot be opened with its receipt journal %s (%s). Opened without"
                                        + " it to replace the policy: forgets journaled there since this store last"
                                        + " read it are not applied here. If its volume is only unmounted, stop,"
                                        + " mount it and open the store once before changing the policy; otherwise"
                                        + " forget those subjects again from receipts kept elsewhere (lethe subject"
                                        + " forget-again, docs/privacy.md §9)%n",
                                current.get(), e.getMessage());
            }
            try (SqliteLethe lethe = opened) {
                journalBefore = lethe.policy().receiptJournal();
                // Once: the new file may rename or drop the caller's role, which must not fail the change after
                // the file is replaced (the principal is checked against the policy file as it is read).
                dev.lethe.core.privacy.Principal who = cli.store.principal();
                if (!lethe.policy().may(who, DataPolicy.Permission.CHANGE_POLICY)) {
                    throw new dev.lethe.core.privacy.AccessDeniedException(who, "change-policy");
                }
                refuseBreaking(parsed, lethe, file);
                List<String> shortened = shortenedRetentions(lethe.policy(), parsed);
                shortenedRetention = shortened;
                if (!shortened.isEmpty() && !yes) {
                    throw InvalidEventException.of(
                            file + ": retention",
                            "shortens the retention of " + String.join(", ", shortened) + ": the next retention run"
                                    + " (hourly in lethe serve, or lethe retention run) destroys, for good, the keys of"
                                    + " every period whose new retention has ended, and the personal data sealed"
                                    + " under them; add --yes to replace the policy all the same (then lethe retention"
                                    + " plan shows what the next run destroys)");
                }
                try {
                    SqliteLethe.checkReceiptJournal(cli.store.directory, parsed);
                } catch (dev.lethe.core.store.StorageException e) {
                    throw InvalidEventException.of(file + ": receiptJournal", e.getMessage());
                }
                Path target = cli.store.directory.resolve(SqliteLethe.POLICY_FILE);
                String sha256 = SqliteLethe.policySha256(yaml);
                // Intent first: a process stopped after the file is replaced must not leave a change of
                // who may read what without an audit entry. The request is durable before the change.
                lethe.privacy().audit().record("PolicyChangeRequested", who, Map.of("sha256", sha256));
                // rw-r--r--: whoever could write it could give a role more to read.
                dev.lethe.core.spi.DurableFiles.replace(
                        target,
                        yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
                Map<String, Object> changed = new java.util.LinkedHashMap<>();
                changed.put("groups", parsed.groups().size());
                changed.put("roles", parsed.roles().size());
                changed.put("strict", parsed.strict());
                changed.put("sha256", sha256);
                changed.put(
                        "receiptJournal",
                        parsed.receiptJournal().map(Path::toString).orElse(""));
                if (journalNotRead != null) {
                    changed.put("journalNotRead", journalNotRead);
                }
                // Who may read and do what from now on: the trail alone tells who could read a group when.
                changed.put("access", parsed.auditedAccessSummary());
                lethe.privacy().audit().record("PolicyChanged", who, changed);
                lethe.privacy().notePolicy(sha256, true);
            }
            cli.spec
                    .commandLine()
                    .getOut()
                    .println("policy replaced; it applies from the next command or server start");
            // What the file says that does nothing, or less than it seems (as policy check says it).
            for (String notice : parsed.notices()) {
                cli.spec.commandLine().getErr().println("note: " + notice);
            }
            if (!shortenedRetention.isEmpty()) {
                cli.spec
                        .commandLine()
                        .getErr()
                        .printf(
                                "warning: retention shortened for %s: see lethe retention plan before the next"
                                        + " retention run%n",
                                String.join(", ", shortenedRetention));
            }
            if (journalBefore.isPresent() && !journalBefore.equals(parsed.receiptJournal())) {
                cli.spec
                        .commandLine()
                        .getErr()
                        .printf(
                                "warning: the receipt journal was %s; backups taken before this change name that file"
                                        + " in their policy.yaml, and the forgets from now on are %s. After restoring"
                                        + " one of them, set its receiptJournal to the current file before its first"
                                        + " open, or run `lethe subject forget-again` with the current file's"
                                        + " lines (docs/privacy.md §9)%n",
                                journalBefore.get(),
                                parsed.receiptJournal().map(p -> "in " + p).orElse("journaled nowhere"));
            }
            return 0;
        }
    }

    /**
     * Whether {@code journal} is a file this data directory could use: then an open that failed did not fail
     * because of it, and must not be retried without it.
     */
    private static boolean usable(LetheCli cli, Path journal) {
        try {
            SqliteLethe.checkReceiptJournal(cli.store.directory, SqliteLethe.readPolicy(cli.store.directory));
        } catch (RuntimeException unusable) {
            return false;
        }
        return Files.isRegularFile(journal, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    /** The receipt journal of the policy in force, or none when that policy cannot be read either. */
    private static java.util.Optional<Path> currentJournal(LetheCli cli) {
        try {
            return SqliteLethe.readPolicy(cli.store.directory).receiptJournal();
        } catch (RuntimeException unreadable) {
            return java.util.Optional.empty();
        }
    }

    /**
     * Whether a file's first character that is not white space opens a JSON object (a descriptor set may start so
     * too: its first bytes are a field tag, 0x0A, and a length, 123 is '{'; asked only of one that does not parse).
     */
    private static boolean looksLikeJson(byte[] bytes) {
        for (byte b : bytes) {
            if (!Character.isWhitespace(b)) {
                return b == '{';
            }
        }
        return false;
    }

    /** Whether a file reads as Protobuf source text ({@code syntax = "proto3";}, {@code message X {}}). */
    private static boolean looksLikeProtoSource(byte[] bytes) {
        String text = new String(bytes, 0, Math.min(bytes.length, 64 * 1024), java.nio.charset.StandardCharsets.UTF_8);
        return java.util.regex.Pattern.compile("(?m)^\\s*(syntax|edition)\\s*=|^\\s*message\\s+\\w+\\s*\\{")
                .matcher(text)
                .find();
    }

    /**
     * The groups whose retention {@code next} makes shorter than {@code current} does, for a period ending on any
     * day: "contact (P2Y to P1Y)". Every day of the 400-year Gregorian cycle is tried (146,097 days), since months
     * and years differ in length ({@code P366D} to {@code P1Y} is shorter from a day in most years, not from 1
     * January 2000; {@code P29220D} to {@code P80Y} only across 2100).
     */
    static List<String> shortenedRetentions(DataPolicy current, DataPolicy next) {
        java.time.LocalDate first = java.time.LocalDate.of(2001, 1, 1);
        java.time.LocalDate cycleEnd = first.plusYears(400); // the Gregorian cycle: 2100 is no leap year
        List<String> shortened = new java.util.ArrayList<>();
        next.groups().forEach((group, rule) -> {
            DataPolicy.GroupRule before = current.groups().get(group);
            if (before == null || before.retention().equals(rule.retention())) {
                return;
            }
            for (java.time.LocalDate from = first; from.isBefore(cycleEnd); from = from.plusDays(1)) {
                if (end(from, rule.retention()).isBefore(end(from, before.retention()))) {
                    shortened.add(group + " (" + before.retention() + " to " + rule.retention() + ")");
                    return;
                }
            }
        });
        java.util.Collections.sort(shortened);
        return shortened;
    }

    /** {@code from} plus a retention; one that ends past the calendar ({@code P999999999Y}: for ever) is the last date. */
    private static java.time.LocalDate end(java.time.LocalDate from, java.time.Period retention) {
        try {
            return from.plus(retention);
        } catch (java.time.DateTimeException | ArithmeticException pastTheCalendar) {
            return java.time.LocalDate.MAX;
        }
    }

    /**
     * Refuses a new policy that would lock everyone out of changing it, leave a data group undeclared that
     * the latest version of a registered schema uses (every append of that type would fail), or that
     * still holds live period keys, whatever schema version wrote them: retention only destroys keys of
     * groups the policy declares, so that data would be kept for ever. A group only older versions used
     * may go once its periods have expired.
     */
    static void refuseBreaking(DataPolicy parsed, SqliteLethe lethe, Path file) {
        if (parsed.roles().values().stream()
                .noneMatch(role -> role.permissions().contains(DataPolicy.Permission.CHANGE_POLICY))) {
            throw InvalidEventException.of(
                    file.toString(),
                    "gives no role 'change-policy': nobody could change the policy again from Lethe (edit"
                            + " policy.yaml in the data directory by hand to do that deliberately)");
        }
        java.util.Map<String, java.util.List<String>> liveByGroup = new java.util.TreeMap<>();
        for (dev.lethe.core.privacy.keys.KeyStore.PeriodRef live :
                lethe.privacy().keys().livePeriods()) {
            liveByGroup
                    .computeIfAbsent(live.group().name(), g -> new java.util.ArrayList<>())
                    .add(live.period());
        }
        liveByGroup.forEach((group, periods) -> {
            if (!parsed.knows(new dev.lethe.core.privacy.DataGroup(group))) {
                throw InvalidEventException.of(
                        file.toString(),
                        "does not declare data group '" + group + "', which still holds personal data under "
                                + periods.size() + " live period key(s) ("
                                + String.join(", ", periods.subList(0, Math.min(3, periods.size())))
                                + (periods.size() > 3 ? ", …" : "") + "); retention only expires declared groups, so"
                                + " that data would be kept for ever. Keep the group until its periods have expired"
                                + " (lethe retention run)");
            }
        });
        for (SchemaRegistry.Registered schema : lethe.privacy().schemas().all()) {
            for (dev.lethe.core.privacy.FieldRule field : schema.schema().fields()) {
                if (field.personal()
                        && field.group().isPresent()
                        && !parsed.knows(field.group().get())) {
                    throw InvalidEventException.of(
                            file.toString(),
                            "does not declare data group '" + field.group().get() + "', which schema "
                                    + schema.eventType() + " v" + schema.version() + " uses for "
                                    + field.path() + "; every append of that type would fail");
                }
            }
        }
    }

    @Command(
            name = "schemas",
            description = "Event type schemas and their privacy classification.",
            subcommands = {SchemasList.class, SchemasRegister.class})
    static final class Schemas implements Runnable {
        @ParentCommand
        LetheCli parent;

        @Override
        public void run() {
            parent.printUsageOf("schemas");
        }
    }

    @Command(name = "list", description = "Each registered event type with its version and classified fields.")
    static final class SchemasList implements Callable<Integer> {
        @ParentCommand
        Schemas schemas;

        @Override
        public Integer call() {
            LetheCli cli = schemas.parent;
            try (Store.Opened opened =
                    cli.store.openForReading(cli.spec.commandLine().getErr())) {
                PrintWriter out = cli.spec.commandLine().getOut();
                for (SchemaRegistry.Registered registered :
                        opened.lethe().privacy().schemas().all()) {
                    out.printf("%s v%d (%s)%n", registered.eventType(), registered.version(), registered.notation());
                    var schema = registered.schema();
                    // Whose each personal field is, when the event names more than one subject: a forget of one
                    // reaches that one's fields only.
                    boolean severalSubjects = schema.keyFields().size() > 1;
                    schema.fields()
                            .forEach(f -> out.printf(
                                    "  %-24s %s%s%s%s%n",
                                    f.path(),
                                    f.personal() ? "pii " : "",
                                    f.subjectKey() ? "key " : "",
                                    f.group().map(g -> "group " + g).orElse(""),
                                    severalSubjects && f.personal() && !f.subjectKey()
                                            ? " of " + schema.ownerOf(f).path()
                                            : ""));
                }
            }
            return 0;
        }
    }

    @Command(
            name = "register",
            description = {
                "Register a schema for an event type: a JSON Schema or a Protobuf descriptor set.",
                "JSON Schema: properties marked \"x-gdpr\": {\"pii\", \"key\", \"dataGroup\"}, or \"contentMediaType\":",
                "\"aes256gcm\". Protobuf: a descriptor set (protoc --descriptor_set_out=F",
                "--include_imports) whose fields carry the (gdpr) option, with --protobuf-message.",
                "Needs change-policy (--role); a new version is audited as SchemaRegistered.",
                "  lethe schemas register CustomerRegistered customer-registered.schema.json --role dpo",
                "  lethe schemas register Purchase my_message.desc --protobuf-message lethe.example.MyMessage --role dpo"
            })
    static final class SchemasRegister implements Callable<Integer> {
        @ParentCommand
        Schemas schemas;

        @Parameters(index = "0", paramLabel = "TYPE")
        String type;

        @Parameters(index = "1", paramLabel = "FILE")
        Path file;

        @Option(
                names = "--protobuf-message",
                paramLabel = "NAME",
                description = "FILE is a descriptor set; NAME the message.")
        String protobufMessage;

        @Option(
                names = "--declassify",
                paramLabel = "FIELD",
                split = ",",
                description =
                        "Fields the latest version classifies as personal that this one does not, named to say that"
                                + " it is intended: their new values will be stored in plaintext. Without it, such a"
                                + " version (an older schema registered again) is refused.")
        List<String> declassify = List.of();

        @Override
        public Integer call() {
            LetheCli cli = schemas.parent;
            dev.lethe.core.store.EventData.of(type, Json.EMPTY_OBJECT); // rejects an invalid type name first
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw InvalidEventException.of(
                        "schema file", "cannot read " + file + ": " + dev.lethe.server.IoErrors.describe(e));
            }
            dev.lethe.core.privacy.PrivacySchema schema;
            SchemaRegistry.Notation notation;
            List<String> allPaths;
            Json source;
            if (protobufMessage != null) {
                if (looksLikeJson(bytes)
                        && dev.lethe.protobuf.ProtobufNotation.messagesIfDescriptorSet(bytes)
                                .isEmpty()) {
                    throw InvalidEventException.of(
                            "schema file",
                            file + " is JSON (a JSON Schema?), not a compiled Protobuf descriptor set: leave out"
                                    + " --protobuf-message to register a JSON Schema");
                }
                schema = dev.lethe.protobuf.ProtobufNotation.read(type, bytes, protobufMessage);
                allPaths = dev.lethe.protobuf.ProtobufNotation.allPaths(type, bytes, protobufMessage);
                notation = SchemaRegistry.Notation.PROTOBUF;
                source = dev.lethe.protobuf.ProtobufNotation.source(type, bytes, protobufMessage);
            } else {
                JsonNode node;
                try {
                    node = Json.ofBytes(bytes).asTree();
                } catch (InvalidEventException e) {
                    List<String> messages = bytes.length > 0 && bytes[0] != '{'
                            ? dev.lethe.protobuf.ProtobufNotation.messagesIfDescriptorSet(bytes)
                            : List.of();
                    if (looksLikeProtoSource(bytes)) {
                        throw InvalidEventException.of(
                                "schema file",
                                file + " is a .proto source file; Lethe reads compiled descriptor sets: run protoc"
                                        + " --include_imports --descriptor_set_out=FILE.desc " + file.getFileName()
                                        + ", then register FILE.desc with --protobuf-message NAME");
                    }
                    if (!messages.isEmpty()) {
                        throw InvalidEventException.of(
                                "schema file",
                                file + " is a Protobuf descriptor set, not a JSON Schema: add --protobuf-message NAME"
                                        + " (it declares "
                                        + String.join(", ", messages.subList(0, Math.min(10, messages.size())))
                                        + (messages.size() > 10 ? ", …" : "") + ")");
                    }
                    throw e.at(file.toString());
                }
                Json.requireUniqueMembers(bytes, file.toString());
                schema = JsonSchemaNotation.read(type, node);
                allPaths = SchemaRegistry.propertyPaths(node);
                notation = SchemaRegistry.Notation.JSON_SCHEMA;
                source = Json.of(node);
            }
            try (SqliteLethe lethe = cli.store.openForWriting()) {
                java.util.Optional<SchemaRegistry.Registered> earlier =
                        lethe.privacy().schemas().latest(type);
                int before = earlier.map(SchemaRegistry.Registered::version).orElse(0);
                SchemaRegistry.Registered registered = lethe.privacy()
                        .registerSchema(
                                cli.store.principal(),
                                schema,
                                notation,
                                allPaths,
                                notation == SchemaRegistry.Notation.PROTOBUF
                                        ? dev.lethe.protobuf.ProtobufNotation.sameAsEarlier(
                                                source, earlier.map(SchemaRegistry.Registered::source))
                                        : source,
                                java.util.Set.copyOf(declassify));
                List<PolicyLinter.Finding> findings = PolicyLinter.check(
                        lethe.policy(), List.of(registered), dev.lethe.protobuf.ProtobufNotation::unreadMembers);
                cli.spec
                        .commandLine()
                        .getOut()
                        .printf(
                                "%s %s v%d (%s): %d personal field(s), %d key field(s)%n",
                                registered.version() == before ? "unchanged, already registered:" : "registered",
                                type,
                                registered.version(),
                                notation,
                                registered.schema().personalFields().size(),
                                registered.schema().keyFields().size());
                findings.forEach(f -> cli.spec.commandLine().getErr().println("finding: " + f));
                // A field no longer personal, or other key fields, are warned of by the store itself (its log
                // line, on standard error): said here as well, they were printed twice.
            }
            return 0;
        }
    }
}
