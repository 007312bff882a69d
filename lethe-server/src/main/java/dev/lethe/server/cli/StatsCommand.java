package dev.lethe.server.cli;

import dev.lethe.core.privacy.ReceiptJournal;
import dev.lethe.server.demo.DemoProjections;
import dev.lethe.sqlite.SqliteEventStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(
        name = "stats",
        description =
                "Events, streams, projections, the subject index, schemas, forgotten subjects, the receipt journal,"
                        + " the master key and file sizes of the data directory.")
final class StatsCommand implements Callable<Integer> {
    @ParentCommand
    LetheCli parent;

    @Option(
            names = "--json",
            description = "One JSON object: the same figures, named, for monitoring (sizes in bytes; absent: null).")
    boolean json;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = parent.spec.commandLine().getOut();
        Path directory = parent.store.directory;
        try (Store.Opened opened =
                parent.store.openForReading(parent.spec.commandLine().getErr())) {
            SqliteEventStore store = opened.lethe().store();
            dev.lethe.core.privacy.PrivateEventStore privacy = opened.lethe().privacy();
            long head = store.headPosition();
            int projections = opened.lethe().projections().list().size();
            dev.lethe.core.privacy.SubjectIndex.Checkpoint index =
                    opened.lethe().subjectIndex().subjectIndexCheckpoint();
            dev.lethe.core.subscription.CheckpointFit fit = index.next() == 0
                    ? null
                    : dev.lethe.core.subscription.CheckpointFit.of(index.next(), index.eventBefore(), store);
            if (fit == dev.lethe.core.subscription.CheckpointFit.AHEAD && store.isReadOnly()) {
                // Read beside a running writer, this view of the log may lag the index the writer keeps: wait
                // for the log to reach it (briefly) before calling it another log's.
                try {
                    store.awaitHeadBeyond(index.next() - 2, java.time.Duration.ofSeconds(2));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                fit = dev.lethe.core.subscription.CheckpointFit.of(index.next(), index.eventBefore(), store);
                head = Math.max(head, store.headPosition());
            }
            String indexState = fit == null
                    ? "not-built"
                    : fit == dev.lethe.core.subscription.CheckpointFit.FITS ? "built" : "other-log";
            int schemas = privacy.schemas().all().size();
            int forgotten = privacy.keys().receipts().size();
            Optional<Path> journal = privacy.receiptJournal().map(ReceiptJournal::file);
            List<Integer> epochs = privacy.keys().masterEpochs();
            String heldIn = privacy.keys().master().describe();
            Optional<Path> leftByMove = opened.lethe().keysetLeftByMove();
            Optional<String> noRotation = privacy.masterKeyChangeRefusal();
            Optional<String> noForgets = privacy.forgetRefusal();
            Map<String, Long> files = new LinkedHashMap<>();
            try (Stream<Path> listed = Files.list(directory)) {
                listed.sorted().forEach(file -> files.put(file.getFileName().toString(), size(file)));
            }
            if (json) {
                Map<String, Object> stats = new LinkedHashMap<>();
                stats.put(
                        "dataDirectory", directory.toAbsolutePath().normalize().toString());
                stats.put("storeId", opened.lethe().storeId().orElse(null));
                stats.put("events", head + 1);
                stats.put("headPosition", head);
                stats.put("streams", store.streamCount());
                stats.put("projections", projections);
                Map<String, Object> subjectIndex = new LinkedHashMap<>();
                subjectIndex.put("state", indexState);
                subjectIndex.put("upToPosition", indexState.equals("built") ? index.next() - 1 : null);
                stats.put("subjectIndex", subjectIndex);
                stats.put("schemas", schemas);
                stats.put("forgottenSubjects", forgotten);
                stats.put("receiptJournal", journal.map(Path::toString).orElse(null));
                Map<String, Object> master = new LinkedHashMap<>();
                master.put(
                        "epochs", epochs.stream().map(Integer::toUnsignedLong).toList());
                master.put("rotationIncomplete", epochs.size() > 1);
                master.put("heldIn", heldIn);
                master.put("keysetLeftByMove", leftByMove.map(Path::toString).orElse(null));
                master.put("rotationRefused", noRotation.orElse(null));
                stats.put("masterKey", master);
                stats.put("forgetsRefused", noForgets.orElse(null));
                Map<String, Long> sizes = new LinkedHashMap<>();
                files.forEach((name, bytes) -> sizes.put(name, bytes < 0 ? null : bytes)); // gone meanwhile: null
                stats.put("files", sizes);
                out.println(PriorForgets.JSON.valueToTree(stats));
                return 0;
            }
            out.printf("data directory   %s%n", directory.toAbsolutePath().normalize());
            out.printf(
                    "store id         %s%n",
                    opened.lethe().storeId().orElse("none yet (given at the next writer open)"));
            out.printf("events           %,d (head position %d)%n", head + 1, head);
            out.printf("streams          %,d%n", store.streamCount());
            long neverRun = DemoProjections.BUILT_IN.stream()
                    .filter(projection -> opened.lethe().projections().list().stream()
                            .noneMatch(info -> info.name().equals(projection.name())))
                    .count();
            out.printf(
                    "projections      %d stored%s%n",
                    projections, neverRun == 0 ? "" : " (" + neverRun + " more never run: lethe projections list)");
            out.printf(
                    "subject index    %s%n",
                    switch (indexState) {
                        case "not-built" -> "not built yet (the first export builds it)";
                        case "built" -> "up to position " + (index.next() - 1) + " (exports read the rest of the log)";
                        default -> "built from another log: the next export builds it again";
                    });
            out.printf("schemas          %d%n", schemas);
            out.printf("forgotten        %d subjects%n", forgotten);
            out.printf(
                    "receipt journal  %s%n",
                    journal.map(Path::toString)
                            .orElse("none (a restored backup brings back the subjects forgotten after it:"
                                    + " docs/privacy.md §9)"));
            out.printf(
                    "master key       %s%n",
                    epochs.size() == 1
                            ? "epoch " + Integer.toUnsignedLong(epochs.get(0))
                            : epochs.size() + " epochs still unwrap (a rotation is incomplete: run 'lethe keys rotate'"
                                    + " to finish it; until then a key-store backup is not yet cut off)");
            out.printf("  held in        %s%n", heldIn);
            leftByMove.ifPresent(file -> out.printf(
                    "  WARNING        the old keyset %s, left by a move into the token, still holds the old"
                            + " master key: delete it%n",
                    file));
            noRotation.ifPresent(why -> out.printf("  no rotation    %s%n", why));
            noForgets.ifPresent(why -> out.printf("no forgets       %s%n", why));
            files.forEach((name, bytes) -> out.printf("  %-32s %,14d bytes%n", name, bytes));
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
