package dev.lethe.guide;

import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.policy.DataPolicy;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.StorageException;
import dev.lethe.core.store.StreamId;
import dev.lethe.sqlite.SqliteLethe;
import dev.lethe.sqlite.SqliteOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/** Guide §1: opening a data directory, options, read-only opens, the writer lock, strict mode, close. */
public class OpenStore {
    static final Path ROOT = Guide.dir("open");

    public static void main(String[] args) throws Exception {
        deleteTree(ROOT);
        Path dataDir = ROOT.resolve("lethe-data");
        Path keyDir = ROOT.resolve("secrets");

        // tag::open-default[]
        try (SqliteLethe lethe = SqliteLethe.open(ROOT.resolve("plain"))) {
            System.out.println("store id " + lethe.storeId().orElseThrow() + ", strict " + lethe.policy().strict());
        }
        // end::open-default[]
        try (var files = Files.list(ROOT.resolve("plain"))) {
            files.map(p -> p.getFileName().toString()).sorted().forEach(f -> System.out.println("  " + f));
        }

        // tag::open-options[]
        SqliteOptions options = SqliteOptions.DEFAULT.withMasterKeyDirectory(keyDir); // outside the backups
        try (SqliteLethe lethe = SqliteLethe.open(dataDir, options)) {
            Path keyset = keyDir.resolve("master-" + lethe.storeId().orElseThrow() + ".keyset.json");
            System.out.println(Files.exists(keyset) + " " + Files.exists(dataDir.resolve("master.keyset.json")));
        }                                                                                  // true false
        // end::open-options[]

        // tag::open-without-key-dir[]
        try {
            SqliteLethe.open(dataDir); // the keyset is elsewhere: refused, nothing created
        } catch (StorageException e) {
            System.out.println(e.getMessage()); // "this store's master keyset is …/master-….keyset.json, not …"
        }
        // end::open-without-key-dir[]

        try (SqliteLethe writer = SqliteLethe.open(dataDir, options)) {
            // tag::second-open[]
            try {
                SqliteLethe.open(dataDir, options); // same process, same directory
            } catch (StorageException e) {
                System.out.println(e.isTransient() + " " + e.getMessage()); // false "… is in use by this process …"
            }
            // end::second-open[]

            // Another JVM on the same directory fails at once, naming the holder.
            Process other = new ProcessBuilder(
                            ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"), OpenStore.SecondProcess.class.getName(),
                            dataDir.toString(), keyDir.toString())
                    .inheritIO()
                    .start();
            System.out.println("second process exit code " + other.waitFor());

            // tag::read-only[]
            try (SqliteLethe reader = SqliteLethe.openReadOnly(dataDir, options)) {  // beside the writer
                System.out.println("head " + reader.store().headPosition());
                reader.privacy().append(StreamId.of("order-1"), ExpectedVersion.any(),
                        List.of(EventData.of("OrderPlaced", "{}")));
            } catch (StorageException e) {
                System.out.println(e.getMessage()); // this event store was opened read-only; appends go through …
            }
            // end::read-only[]
        }

        // tag::closed[]
        SqliteLethe lethe = SqliteLethe.open(dataDir, options);
        lethe.close();
        try {
            lethe.store().readAll(0, 10);
        } catch (StorageException e) {
            System.out.println(e.isTransient() + " " + e.getMessage()); // false the event store is closed
        }
        // end::closed[]

        Path strictDir = ROOT.resolve("strict-data");
        Files.createDirectories(strictDir);
        // tag::strict[]
        // Before the first open, which would otherwise write the default policy (strict: false):
        Files.writeString(strictDir.resolve(SqliteLethe.POLICY_FILE),
                DataPolicy.defaultYaml().replace("strict: false", "strict: true"));
        try (SqliteLethe strict = SqliteLethe.open(strictDir)) {
            strict.privacy().append(StreamId.of("customer-7f3c"), ExpectedVersion.any(), List.of(
                    EventData.of("CustomerRegistred", "{\"email\":\"ada@example.com\"}")));  // misspelt type
        } catch (InvalidEventException e) {
            System.out.println(e.getMessage()); // events[0] type: 'CustomerRegistred' has no registered schema (strict mode): register one first (…)
        }
        // end::strict[]

        // tag::lenient[]
        try (SqliteLethe lenient = SqliteLethe.open(ROOT.resolve("plain"))) {            // strict: false
            var written = lenient.privacy().append(StreamId.of("customer-7f3c"), ExpectedVersion.any(), List.of(
                    EventData.of("CustomerRegistred", "{\"email\":\"ada@example.com\"}")));    // stored!
            Json stored = lenient.store().readAll(written.firstPosition(), 1).get(0).data();
            System.out.println(stored);                                          // {"email":"ada@example.com"}
        }
        // end::lenient[]
    }

    /** Run in a second JVM while main holds the directory. */
    public static class SecondProcess {
        public static void main(String[] args) {
            // tag::second-process[]
            try (SqliteLethe lethe = SqliteLethe.open(Path.of(args[0]),
                    SqliteOptions.DEFAULT.withMasterKeyDirectory(Path.of(args[1])))) {
                System.out.println("opened?!");
            } catch (StorageException e) {
                // "data directory … is in use by a Lethe process (pid N), which holds lethe.lock; stop it, …"
                System.out.println("second process: " + e.getMessage());
                System.exit(1);
            }
            // end::second-process[]
        }
    }

    static void deleteTree(Path path) throws Exception {
        if (Files.exists(path)) {
            try (var walk = Files.walk(path)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
