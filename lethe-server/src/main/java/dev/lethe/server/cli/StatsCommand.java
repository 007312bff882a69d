package dev.lethe.server.cli;

import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.sqlite.SqliteEventStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "stats",
        description =
                "Events, streams, projections, the subject index, schemas, forgotten subjects, the receipt journal,"
                        + " the master key and file sizes of the data directory.")
final class StatsCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = parent.spec.commandLine().getOut();
        Path directory = parent.store.directory;
        try (Store.Opened opened =
                parent.store.openForReading(parent.spec.commandLine().getErr())) {
            SqliteEventStore store = opened.lethe().store();
            ProjectionStore states = opened.lethe().projections();
            out.printf("data directory   %s%n", directory.toAbsolutePath().normalize());
            out.printf("events           %,d (head position %d)%n", store.headPosition() + 1, store.headPosition());
            out.printf("streams          %,d%n", store.streamCount());
            out.printf("projections      %d%n", states.list().size());
            dev.lethe.core.privacy.SubjectIndex.Checkpoint index =
                    opened.lethe().subjectIndex().subjectIndexCheckpoint();
            out.printf(
                    "subject index    %s%n",
                    index.next() == 0
                            ? "not built yet (the first export builds it)"
                            : dev.lethe.core.subscription.CheckpointFit.of(index.next(), index.eventBefore(), store)
                                            == dev.lethe.core.subscription.CheckpointFit.FITS
                                    ? "up to position " + (index.next() - 1) + " (exports read the rest of the log)"
                                    : "built from another log: the next export builds it again");
            out.printf(
                    "schemas          %d%n",
                    opened.lethe().privacy().schemas().all().size());
            out.printf(
                    "forgotten        %d subjects%n",
                    opened.lethe().privacy().keys().receipts().size());
            out.printf(
                    "receipt journal  %s%n",
                    opened.lethe()
                            .privacy()
                            .receiptJournal()
                            .map(journal -> journal.file().toString())
                            .orElse("none (a restored backup brings back the subjects forgotten after it:"
                                    + " docs/privacy.md §9)"));
            java.util.List<Integer> epochs = opened.lethe().privacy().keys().masterEpochs();
            out.printf(
                    "master key       %s%n",
                    epochs.size() == 1
                            ? "epoch " + Integer.toUnsignedLong(epochs.get(0))
                            : epochs.size() + " epochs still unwrap (a rotation is incomplete: run 'lethe keys rotate'"
                                    + " to finish it; until then a key-store backup is not yet cut off)");
            out.printf(
                    "  held in        %s%n",
                    opened.lethe().privacy().keys().master().describe());
            opened.lethe()
                    .keysetLeftByMove()
                    .ifPresent(file -> out.printf(
                            "  WARNING        the old keyset %s, left by a move into the token, still holds the old"
                                    + " master key: delete it%n",
                            file));
            opened.lethe()
                    .privacy()
                    .masterKeyChangeRefusal()
                    .ifPresent(why -> out.printf("  no rotation    %s%n", why));
            opened.lethe().privacy().forgetRefusal().ifPresent(why -> out.printf("no forgets       %s%n", why));
            try (Stream<Path> files = Files.list(directory)) {
                files.sorted().forEach(file -> out.printf("  %-32s %,14d bytes%n", file.getFileName(), size(file)));
            }
        }
        return 0;
    }

    private static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }
}
