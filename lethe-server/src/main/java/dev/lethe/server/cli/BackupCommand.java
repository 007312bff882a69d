package dev.lethe.server.cli;

import dev.lethe.sqlite.SqliteBackup;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "backup",
        description = {
            "Copy the data directory into a new directory, consistently, while writers go on (a running lethe"
                    + " serve too): projections.db, events.db, then keys.db, each a snapshot checked with"
                    + " quick_check.",
            "The master key is never copied: keep the keyset file apart from the backups (the two together decrypt"
                    + " everything the backup holds). A rotation cuts off every earlier backup: take a new one after"
                    + " it. To restore, stop every process on the data directory and move it aside; the backup's"
                    + " directory, with the master key put back, is a data directory: use it (or a copy of it) in its"
                    + " place, never by copying its files over another store's, whose -wal and -shm files would"
                    + " corrupt them; then run lethe keys check, lethe retention run, and lethe subject forget-again"
                    + " FILE with the erasure receipts kept apart (the subjects forgotten since the backup was taken;"
                    + " docs/privacy.md §9)."
        })
final class BackupCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Parameters(
            paramLabel = "DIRECTORY",
            description = "The backup's directory: a new one (never one that exists), outside the data directory.")
    Path target;

    @Override
    public Integer call() {
        PrintWriter out = parent.spec.commandLine().getOut();
        Path directory = parent.store.directory;
        long started = System.nanoTime();
        boolean[] begun = {false};
        SqliteBackup.Result backup = SqliteBackup.take(directory, target, file -> {
            if (!begun[0]) { // once the target is checked and claimed
                begun[0] = true;
                out.printf(
                        "backing up %s into %s%n",
                        directory.toAbsolutePath().normalize(),
                        target.toAbsolutePath().normalize());
            }
            out.printf("  copying %s%n", file);
        });
        for (SqliteBackup.Copied file : backup.files()) {
            out.printf("  %-16s %,14d bytes%n", file.file(), file.bytes());
        }
        out.printf(
                "done in %.1f s: %s (log up to position %d)%n",
                (System.nanoTime() - started) / 1e9, backup.target(), backup.headPosition());
        if (backup.inToken()) {
            out.printf("not in the backup: the master key, in %s. A restore needs that token%n", backup.masterKey());
        } else {
            out.printf(
                    "not in the backup: the master key, %s. A restore needs it: keep a copy of it apart from the"
                            + " backups (the two together decrypt everything the backup holds)%n",
                    backup.masterKey());
        }
        java.util.Optional<Path> journal = receiptJournal(backup.target());
        if (journal.isPresent()) {
            out.printf(
                    "not in the backup: the receipt journal, %s. A restore of this backup reads it as it opens and"
                            + " forgets again the subjects forgotten since%n",
                    journal.get());
        } else {
            out.printf("no receipt journal: a restore of this backup brings back the subjects forgotten after it,"
                    + " until `lethe subject forget-again` forgets them again from receipts kept elsewhere; set"
                    + " receiptJournal in policy.yaml to make it automatic (docs/privacy.md §9)%n");
        }
        if (backup.warning().isPresent()) {
            parent.spec
                    .commandLine()
                    .getErr()
                    .printf("WARNING: %s%n", backup.warning().get());
            return 1;
        }
        return 0;
    }

    /** The receipt journal the backup's policy names, if it has a policy that names one. */
    private static java.util.Optional<Path> receiptJournal(Path backup) {
        Path policy = backup.resolve(dev.lethe.sqlite.SqliteLethe.POLICY_FILE);
        try {
            return dev.lethe.core.privacy.policy.DataPolicy.parse(java.nio.file.Files.readString(policy))
                    .receiptJournal();
        } catch (java.io.IOException | RuntimeException noneOrUnreadable) {
            return java.util.Optional.empty(); // the open that restores it says what is wrong with it
        }
    }
}
