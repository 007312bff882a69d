package dev.lethe.core.tck;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.projection.ProjectionStatus;
import dev.lethe.core.projection.ProjectionStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.StreamId;
import dev.lethe.core.subscription.CheckpointFit;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Projections on any engine and projection store: fold, checkpoint, restart, rebuild, as-of. */
public abstract class ProjectionTck extends SubscriptionTck {
    private static final Duration WAIT = Duration.ofSeconds(30);

    protected ProjectionStore projectionStore;
    private ProjectionRuntime runtime;

    /** A fresh, empty projection store, to go with {@link #openEmptyStore()}. */
    protected abstract ProjectionStore openEmptyProjectionStore() throws Exception;

    public record CustomerView(String name, String city, int purchases) {}

    public record Sales(Map<String, Integer> byProduct) {}

    static final Projection<CustomerView> CUSTOMERS = Projection.perStream(
                    "customers", CustomerView.class, new CustomerView(null, null, 0))
            .category("customer")
            .on(
                    "CustomerRegistered",
                    (s, e) -> new CustomerView(
                            e.data().asTree().get("name").asText(),
                            e.data().asTree().get("city").asText(),
                            s.purchases()))
            .on(
                    "AddressChanged",
                    (s, e) -> new CustomerView(
                            s.name(), e.data().asTree().get("city").asText(), s.purchases()))
            .on("ProductBought", (s, e) -> new CustomerView(s.name(), s.city(), s.purchases() + 1))
            .build();

    static final Projection<Sales> SALES = Projection.global("sales", Sales.class, new Sales(Map.of()))
            .on("ProductBought", (s, e) -> {
                Map<String, Integer> next = new TreeMap<>(s.byProduct());
                next.merge(e.data().asTree().get("product").asText(), 1, Integer::sum);
                return new Sales(next);
            })
            .build();

    static final Projection<Sales> SALES_BY_REASON = Projection.keyed(
                    "sales-by-reason",
                    Sales.class,
                    new Sales(Map.of()),
                    e -> Optional.ofNullable(e.data().asTree().get("reason")).map(r -> r.asText()))
            .on("ProductBought", (s, e) -> {
                Map<String, Integer> next = new TreeMap<>(s.byProduct());
                next.merge(e.data().asTree().get("product").asText(), 1, Integer::sum);
                return new Sales(next);
            })
            .build();

    @BeforeEach
    void openProjections() throws Exception {
        projectionStore = openEmptyProjectionStore();
        runtime = new ProjectionRuntime(store, projectionStore);
    }

    @AfterEach
    void closeProjections() {
        runtime.close();
        projectionStore.close();
    }

    private long given(String stream, String type, String json) {
        return store.append(StreamId.of(stream), ExpectedVersion.any(), List.of(event(type, json)))
                .lastPosition();
    }

    private long givenStory() {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        given("customer-2", "CustomerRegistered", "{\"name\":\"Bob\",\"city\":\"Oslo\"}");
        given("order-1", "Unrelated", "{}");
        given("customer-1", "ProductBought", "{\"product\":\"fund-a\",\"reason\":\"retirement\"}");
        given("customer-2", "ProductBought", "{\"product\":\"fund-a\",\"reason\":\"education\"}");
        return given("customer-1", "ProductBought", "{\"product\":\"fund-b\",\"reason\":\"retirement\"}");
    }

    public record LastMove(Optional<String> city, Optional<String> reason, java.time.Instant at) {}

    public record Blob(String text) {}

    @Test
    void a_state_over_16_mib_fails_its_projection_naming_the_limit_and_not_the_key() throws Exception {
        Projection<Blob> blobs = Projection.perStream("blobs", Blob.class, new Blob(""))
                .on("CustomerRegistered", (s, e) -> new Blob("x".repeat(16 * 1024 * 1024)))
                .build();
        given("customer-secret42", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        runtime.start(blobs);
        ProjectionStatus status = awaitFailed("blobs");
        assertThat(status.failure())
                .get()
                .asString()
                .contains("over the limit of 16777216")
                .doesNotContain("secret42");
        assertThat(projectionStore.loadState("blobs", "customer-secret42")).isEmpty();
    }

    public record Noted(dev.lethe.core.store.Json last, List<dev.lethe.core.store.Json> all) {}

    @Test
    void a_state_of_lethes_own_json_type_is_kept_as_the_json_it_holds() throws Exception {
        // Read as a bean, a Json was stored as {"object":true}: its content lost, and the state unreadable.
        Projection<dev.lethe.core.store.Json> raw = Projection.perStream(
                        "raw", dev.lethe.core.store.Json.class, dev.lethe.core.store.Json.parse("{}"))
                .on("CustomerRegistered", (s, e) -> e.data())
                .build();
        Projection<Noted> noted = Projection.perStream("noted", Noted.class, new Noted(null, List.of()))
                .on("CustomerRegistered", (s, e) -> {
                    List<dev.lethe.core.store.Json> all = new java.util.ArrayList<>(s.all());
                    all.add(e.data());
                    return new Noted(e.data(), all);
                })
                .build();
        runtime.start(raw);
        runtime.start(noted);
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"tags\":[1,2.5,null]}");
        long last = given("customer-1", "CustomerRegistered", "{\"name\":\"Grace\",\"n\":1.50,\"big\":1e400}");
        assertThat(runtime.awaitPosition("raw", last, WAIT)).isTrue();
        assertThat(runtime.awaitPosition("noted", last, WAIT)).isTrue();

        // Numbers as written, read back too: 1.50 stays 1.50 (not 1.5), 1e400 no Infinity.
        com.fasterxml.jackson.databind.JsonNode grace = dev.lethe.core.store.Json.parse(
                        "{\"name\":\"Grace\",\"n\":1.50,\"big\":1e400}")
                .asTree();
        assertThat(runtime.state(raw, "customer-1").orElseThrow().asTree()).isEqualTo(grace);
        assertThat(dev.lethe.core.store.Json.parse(
                                projectionStore.loadState("raw", "customer-1").orElseThrow())
                        .asTree())
                .isEqualTo(grace);
        Noted state = runtime.state(noted, "customer-1").orElseThrow();
        assertThat(state.all())
                .extracting(json -> json.asTree().toString())
                .containsExactly("{\"name\":\"Ada\",\"tags\":[1,2.5,null]}", grace.toString());
        assertThat(state.last().asTree().get("name").asText()).isEqualTo("Grace");
    }

    @Test
    void a_state_keyed_by_a_value_longer_than_jacksons_name_limit_still_reads() throws Exception {
        String product = "A".repeat(60_000); // Jackson stops member names at 50,000 characters by default
        runtime.start(SALES);
        given("customer-1", "ProductBought", "{\"product\":\"" + product + "\",\"reason\":\"x\"}");
        long last = given("customer-2", "ProductBought", "{\"product\":\"fund-a\",\"reason\":\"x\"}");
        assertThat(runtime.awaitPosition("sales", last, WAIT)).isTrue();
        assertThat(runtime.state(SALES, Projection.GLOBAL_KEY).orElseThrow().byProduct())
                .containsEntry(product, 1)
                .containsEntry("fund-a", 1);
        assertThat(runtime.status("sales").phase()).isNotEqualTo(ProjectionStatus.Phase.FAILED);
        // As the server reads a stored state to reveal it.
        String stored =
                projectionStore.loadState("sales", Projection.GLOBAL_KEY).orElseThrow();
        assertThat(dev.lethe.core.store.Json.parse(stored)
                        .asTree()
                        .get("byProduct")
                        .has(product))
                .isTrue();
    }

    @Test
    void a_state_with_optionals_and_instants_is_stored_as_events_carry_them_and_reads_back() throws Exception {
        Projection<LastMove> moves = Projection.perStream(
                        "moves", LastMove.class, new LastMove(Optional.empty(), Optional.empty(), null))
                .category("customer")
                .on(
                        "AddressChanged",
                        (s, e) -> new LastMove(
                                Optional.of(e.data().asTree().get("city").asText()), Optional.empty(), e.recordedAt()))
                .build();
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        long last = given("customer-1", "AddressChanged", "{\"city\":\"Porto\"}");
        runtime.start(moves);
        assertThat(runtime.awaitPosition("moves", last, WAIT)).isTrue();
        java.time.Instant at = store.readAll(last, 1).get(0).recordedAt();
        assertThat(runtime.state(moves, "customer-1"))
                .contains(new LastMove(Optional.of("Porto"), Optional.empty(), at));
        // Stored as the event carries an instant (ISO-8601 text), an Optional as its value or null.
        assertThat(projectionStore.loadState("moves", "customer-1").orElseThrow())
                .contains("\"city\":\"Porto\"", "\"reason\":null", "\"at\":\"" + at + "\"");
    }

    @Test
    void a_per_stream_projection_folds_each_streams_events_into_its_state() throws Exception {
        long last = givenStory();
        runtime.start(CUSTOMERS);
        assertThat(runtime.awaitPosition("customers", last, WAIT)).isTrue();

        assertThat(runtime.state(CUSTOMERS, "customer-1")).contains(new CustomerView("Ada", "Lisbon", 2));
        assertThat(runtime.state(CUSTOMERS, "customer-2")).contains(new CustomerView("Bob", "Oslo", 1));
        assertThat(runtime.state(CUSTOMERS, "order-1")).isEmpty();
    }

    @Test
    void global_and_derived_key_projections_follow_live_appends() throws Exception {
        givenStory();
        runtime.start(SALES);
        runtime.start(SALES_BY_REASON);
        long last = given("customer-3", "ProductBought", "{\"product\":\"fund-c\",\"reason\":\"education\"}");
        assertThat(runtime.awaitPosition("sales", last, WAIT)).isTrue();
        assertThat(runtime.awaitPosition("sales-by-reason", last, WAIT)).isTrue();

        assertThat(runtime.state(SALES, Projection.GLOBAL_KEY).orElseThrow().byProduct())
                .containsExactly(Map.entry("fund-a", 2), Map.entry("fund-b", 1), Map.entry("fund-c", 1));
        assertThat(runtime.state(SALES_BY_REASON, "education").orElseThrow().byProduct())
                .containsExactly(Map.entry("fund-a", 1), Map.entry("fund-c", 1));
        // The awaited position may have been committed while catching up, just before LIVE.
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (runtime.status("sales").phase() != ProjectionStatus.Phase.LIVE && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(runtime.status("sales").phase()).isEqualTo(ProjectionStatus.Phase.LIVE);
        assertThat(runtime.status("sales").lag()).isZero();
    }

    @Test
    void a_live_category_projection_reaches_positions_of_other_categories_without_folding_them() throws Exception {
        long last = givenStory();
        runtime.start(CUSTOMERS);
        assertThat(runtime.awaitPosition("customers", last, WAIT)).isTrue();
        long other = given("order-7", "Unrelated", "{}");
        assertThat(runtime.awaitPosition("customers", other, WAIT)).isTrue();
        assertThat(runtime.status("customers").lag()).isZero();
    }

    @Test
    void a_failed_projection_can_be_started_again_from_its_checkpoint() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        given("customer-1", "AddressChanged", "{\"street\":\"no city here\"}");
        runtime.start(CUSTOMERS);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (runtime.status("customers").phase() != ProjectionStatus.Phase.FAILED && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        runtime.start(CUSTOMERS);
        assertThat(runtime.status("customers").phase()).isNotEqualTo(ProjectionStatus.Phase.LIVE);
    }

    @Test
    void a_restarted_projection_resumes_from_its_checkpoint_without_refolding() throws Exception {
        long last = givenStory();
        runtime.start(SALES);
        assertThat(runtime.awaitPosition("sales", last, WAIT)).isTrue();
        runtime.close();

        long next = given("customer-2", "ProductBought", "{\"product\":\"fund-b\",\"reason\":\"gift\"}");
        ProjectionRuntime again = new ProjectionRuntime(store, projectionStore);
        again.start(SALES);
        assertThat(again.awaitPosition("sales", next, WAIT)).isTrue();
        assertThat(again.state(SALES, Projection.GLOBAL_KEY).orElseThrow().byProduct())
                .containsExactly(Map.entry("fund-a", 2), Map.entry("fund-b", 2));
        again.close();
    }

    @Test
    void a_read_model_ahead_of_the_log_is_rebuilt_from_it_so_new_events_reach_it() throws Exception {
        long last = givenStory();
        // As a projections.db restored from a later copy than events.db leaves it: a checkpoint past the
        // head, and a state holding events the log does not.
        projectionStore.commit("sales", Map.of(Projection.GLOBAL_KEY, "{\"byProduct\":{\"ghost\":7}}"), last + 50, "x");

        runtime.start(SALES);
        assertThat(runtime.awaitPosition("sales", last, WAIT)).isTrue();
        long next = given("customer-2", "ProductBought", "{\"product\":\"fund-b\",\"reason\":\"gift\"}");
        assertThat(runtime.awaitPosition("sales", next, WAIT)).isTrue();

        assertThat(runtime.state(SALES, Projection.GLOBAL_KEY).orElseThrow().byProduct())
                .containsExactly(Map.entry("fund-a", 2), Map.entry("fund-b", 2));
    }

    @Test
    void a_read_model_folded_from_another_history_is_rebuilt_from_this_log() throws Exception {
        long last = givenStory();
        // As a log restored from an older backup, then appended to past the read model's checkpoint,
        // leaves it: the checkpoint lies within the log, after an event the log does not hold — here one
        // with the same id (a client's, appended again after the restore) recorded at the same instant (a
        // clock behind the log's last one repeats it), by another writer session.
        var before = store.readAll(last - 1, 1).get(0);
        projectionStore.commit(
                "sales",
                Map.of(Projection.GLOBAL_KEY, "{\"byProduct\":{\"ghost\":7}}"),
                last,
                before.id() + "@" + before.recordedAt() + "#another-session");
        assertThat(projectionStore.list()).singleElement().satisfies(info -> {
            assertThat(info.fit(store)).isEqualTo(CheckpointFit.OTHER_HISTORY);
            assertThat(info.lag(store)).isEqualTo(-1);
        });

        runtime.start(SALES);
        assertThat(runtime.awaitPosition("sales", last, WAIT)).isTrue();

        assertThat(runtime.state(SALES, Projection.GLOBAL_KEY).orElseThrow().byProduct())
                .containsExactly(Map.entry("fund-a", 2), Map.entry("fund-b", 1));
        assertThat(projectionStore.list())
                .singleElement()
                .satisfies(info -> assertThat(info.fit(store)).isEqualTo(CheckpointFit.FITS));
    }

    @Test
    void a_checkpoint_records_the_event_before_it_also_past_events_of_other_categories() throws Exception {
        givenStory();
        runtime.start(CUSTOMERS);
        long other = given("order-7", "Unrelated", "{}");
        assertThat(runtime.awaitPosition("customers", other, WAIT)).isTrue();
        runtime.close();

        // Past the skipped event when a commit followed it (within a second it may not have: a restart
        // then skips it again), and in both cases after the event the log holds there.
        long next = projectionStore.checkpoint("customers").orElseThrow();
        assertThat(next).isBetween(other, other + 1);
        assertThat(projectionStore.checkpointEvent("customers"))
                .contains(
                        CheckpointFit.witness(store, store.readAll(next - 1, 1).get(0)));
        assertThat(projectionStore.list()).singleElement().satisfies(info -> {
            assertThat(info.fit(store)).isEqualTo(CheckpointFit.FITS);
            assertThat(info.lag(store)).isEqualTo(other + 1 - next);
        });
    }

    @Test
    void a_rebuild_starts_from_zero_and_reaches_the_same_states() throws Exception {
        long last = givenStory();
        runtime.start(CUSTOMERS);
        assertThat(runtime.awaitPosition("customers", last, WAIT)).isTrue();
        Optional<CustomerView> before = runtime.state(CUSTOMERS, "customer-1");

        runtime.rebuild("customers");
        assertThat(runtime.awaitPosition("customers", last, WAIT)).isTrue();

        assertThat(runtime.state(CUSTOMERS, "customer-1")).isEqualTo(before);
        assertThat(projectionStore.list())
                .singleElement()
                .satisfies(info -> assertThat(info.keyCount()).isEqualTo(2));
    }

    @Test
    void the_state_of_a_stream_as_of_an_instant_is_folded_from_what_was_recorded_by_then() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        Instant beforeMove = pauseAndMark();
        given("customer-1", "AddressChanged", "{\"city\":\"Porto\"}");

        assertThat(runtime.stateAsOf(CUSTOMERS, StreamId.of("customer-1"), beforeMove))
                .isEqualTo(new CustomerView("Ada", "Lisbon", 0));
        assertThat(runtime.stateAsOf(CUSTOMERS, StreamId.of("customer-1"), Instant.now()))
                .isEqualTo(new CustomerView("Ada", "Porto", 0));
        assertThat(runtime.stateAsOfVersion(CUSTOMERS, StreamId.of("customer-1"), 0))
                .isEqualTo(new CustomerView("Ada", "Lisbon", 0));
        // A state as of a time is one stream's fold: refused, not made up, where it is none of the states.
        given("order-1", "CustomerRegistered", "{\"name\":\"Not a customer stream\",\"city\":\"x\"}");
        assertThatThrownBy(() -> runtime.stateAsOf(CUSTOMERS, StreamId.of("order-1"), Instant.now()))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("is not of projection 'customers''s category 'customer'");
        given("customer-1", "ProductBought", "{\"product\":\"fund-a\",\"reason\":\"x\"}");
        assertThatThrownBy(() -> runtime.stateAsOf(SALES, StreamId.of("customer-1"), Instant.now()))
                .isInstanceOf(dev.lethe.core.store.InvalidEventException.class)
                .hasMessageContaining("keys its states by something else than the stream");
        assertThatThrownBy(() -> runtime.stateAsOfVersion(SALES_BY_REASON, StreamId.of("customer-1"), 5))
                .hasMessageContaining("keys its states by something else than the stream");
    }

    @Test
    void a_failing_fold_marks_the_projection_failed_and_keeps_the_last_good_checkpoint() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        long broken = given("customer-1", "AddressChanged", "{\"street\":\"no city here\"}");
        runtime.start(CUSTOMERS);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (runtime.status("customers").phase() != ProjectionStatus.Phase.FAILED && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        ProjectionStatus status = runtime.status("customers");
        assertThat(status.phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
        assertThat(status.failure())
                .get()
                .asString()
                .contains("NullPointerException", "folding AddressChanged at position " + broken);
        assertThat(status.nextPosition()).isLessThanOrEqualTo(broken);
    }

    @Test
    void a_key_function_that_throws_fails_the_projection_naming_the_event_not_quoting_its_data() throws Exception {
        Projection<CustomerView> byAge = Projection.keyed(
                        "by-age",
                        CustomerView.class,
                        new CustomerView(null, null, 0),
                        e -> Optional.of("age-"
                                + Integer.parseInt(e.data().asTree().path("age").asText())))
                .category("customer")
                .on("CustomerRegistered", (s, e) -> s)
                .build();
        long broken = given("customer-1", "CustomerRegistered", "{\"age\":\"forty MARKER-AGE\"}");
        runtime.start(byAge);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (runtime.status("by-age").phase() != ProjectionStatus.Phase.FAILED && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        ProjectionStatus status = runtime.status("by-age");
        assertThat(status.phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
        assertThat(status.failure())
                .get()
                .asString()
                .contains("keying CustomerRegistered at position " + broken, "NumberFormatException")
                .doesNotContain("MARKER-AGE");
    }

    public record Cart(List<String> items) {
        /** Derived: Jackson writes it too ("empty"), and a restart must read it back. */
        public boolean isEmpty() {
            return items.isEmpty();
        }
    }

    /** Built by Jackson through a builder (as Lombok's @Jacksonized writes it), with a derived getter. */
    @com.fasterxml.jackson.databind.annotation.JsonDeserialize(builder = Tally.Builder.class)
    public static final class Tally {
        private final int n;

        Tally(int n) {
            this.n = n;
        }

        public int getN() {
            return n;
        }

        public boolean isZero() {
            return n == 0;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Tally tally && tally.n == n;
        }

        @Override
        public int hashCode() {
            return n;
        }

        @com.fasterxml.jackson.databind.annotation.JsonPOJOBuilder(withPrefix = "")
        public static final class Builder {
            private int n;

            public Builder n(int n) {
                this.n = n;
                return this;
            }

            public Tally build() {
                return new Tally(n);
            }
        }
    }

    @Test
    void a_state_built_through_a_builder_with_a_derived_getter_reads_back_after_a_restart() throws Exception {
        Projection<Tally> tallies = Projection.global("tallies", Tally.class, new Tally(0))
                .on("ProductBought", (s, e) -> new Tally(s.getN() + 1))
                .build();
        long first = given("customer-1", "ProductBought", "{\"product\":\"fund-a\"}");
        runtime.start(tallies);
        assertThat(runtime.awaitPosition("tallies", first, WAIT)).isTrue();
        runtime.close();
        runtime = new ProjectionRuntime(store, projectionStore);
        long second = given("customer-1", "ProductBought", "{\"product\":\"fund-b\"}");
        runtime.start(tallies);
        assertThat(runtime.awaitPosition("tallies", second, WAIT))
                .as(() -> runtime.status("tallies").toString())
                .isTrue();
        assertThat(runtime.state(tallies, Projection.GLOBAL_KEY)).contains(new Tally(2));
    }

    @Test
    void a_state_type_with_a_derived_getter_reads_its_states_back_after_a_restart() throws Exception {
        Projection<Cart> carts = Projection.perStream("carts", Cart.class, new Cart(List.of()))
                .category("customer")
                .on("ProductBought", (s, e) -> {
                    List<String> items = new java.util.ArrayList<>(s.items());
                    items.add(e.data().asTree().get("product").asText());
                    return new Cart(items);
                })
                .build();
        long first = given("customer-1", "ProductBought", "{\"product\":\"fund-a\"}");
        runtime.start(carts);
        assertThat(runtime.awaitPosition("carts", first, WAIT)).isTrue();
        assertThat(projectionStore.loadState("carts", "customer-1").orElseThrow())
                .contains("\"empty\":false");
        runtime.close();

        runtime = new ProjectionRuntime(store, projectionStore);
        long second = given("customer-1", "ProductBought", "{\"product\":\"fund-b\"}");
        runtime.start(carts);
        assertThat(runtime.awaitPosition("carts", second, WAIT)).isTrue();
        assertThat(runtime.state(carts, "customer-1")).contains(new Cart(List.of("fund-a", "fund-b")));
    }

    public record CountV1(int n, String note) {}

    public record CountV2(int n) {}

    public record CountV3(List<String> n) {}

    private static <S> Projection<S> counting(Class<S> type, S initial, java.util.function.UnaryOperator<S> step) {
        return Projection.global("count", type, initial)
                .on("ProductBought", (s, e) -> step.apply(s))
                .build();
    }

    private ProjectionStatus awaitFailed(String name) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (runtime.status(name).phase() != ProjectionStatus.Phase.FAILED && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        return runtime.status(name);
    }

    @Test
    void a_state_type_that_lost_or_retyped_a_member_fails_naming_it_and_the_fix_and_a_rebuild_mends_it()
            throws Exception {
        long first = given("customer-1", "ProductBought", "{\"product\":\"fund-a\"}");
        runtime.start(counting(CountV1.class, new CountV1(0, "kept"), s -> new CountV1(s.n() + 1, s.note())));
        assertThat(runtime.awaitPosition("count", first, WAIT)).isTrue();
        runtime.close();

        // A member gone (removed, or renamed: read as a new one it would start again from 0) fails, naming it.
        runtime = new ProjectionRuntime(store, projectionStore);
        Projection<CountV2> v2 = counting(CountV2.class, new CountV2(0), s -> new CountV2(s.n() + 1));
        long second = given("customer-1", "ProductBought", "{\"product\":\"fund-b\"}");
        runtime.start(v2);
        assertThat(awaitFailed("count").failure())
                .get()
                .asString()
                .contains("does not read as CountV2 at 'note'", "lethe projections rebuild count");
        runtime.rebuild("count");
        assertThat(runtime.awaitPosition("count", second, WAIT)).isTrue();
        assertThat(runtime.state(v2, Projection.GLOBAL_KEY)).contains(new CountV2(2));
        runtime.close();

        runtime = new ProjectionRuntime(store, projectionStore);
        Projection<CountV3> v3 = counting(CountV3.class, new CountV3(List.of()), s -> s);
        given("customer-1", "ProductBought", "{\"product\":\"fund-c\"}");
        runtime.start(v3);
        ProjectionStatus status = awaitFailed("count");
        assertThat(status.phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
        assertThat(status.failure())
                .get()
                .asString()
                .contains("does not read as CountV3 at 'n'", "lethe projections rebuild count");
        assertThatThrownBy(() -> runtime.state(v3, Projection.GLOBAL_KEY))
                .isInstanceOf(dev.lethe.core.store.StorageException.class)
                .hasMessageContaining("at 'n'");
    }

    @Test
    void a_fold_that_throws_gives_its_exception_to_the_developer_whole() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        Projection<CustomerView> boom = Projection.perStream(
                        "boom", CustomerView.class, new CustomerView(null, null, 0))
                .on("CustomerRegistered", (s, e) -> {
                    throw new IllegalStateException("boom in the fold");
                })
                .build();
        runtime.start(boom);
        assertThat(awaitFailed("boom").failure()).get().asString().doesNotContain("boom in the fold");
        assertThat(runtime.failureCause("boom"))
                .get()
                .isInstanceOf(IllegalStateException.class)
                .extracting(Throwable::getMessage)
                .isEqualTo("boom in the fold");
    }

    @Test
    void a_fold_that_returns_null_fails_naming_the_event_rather_than_storing_null() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        Projection<CustomerView> nothing = Projection.perStream(
                        "nothing", CustomerView.class, new CustomerView(null, null, 0))
                .on("CustomerRegistered", (s, e) -> null)
                .build();
        assertThatThrownBy(() -> runtime.start(null)).hasMessage("projection: is missing");
        runtime.start(nothing);
        // Said as what happened: the fold threw nothing.
        assertThat(awaitFailed("nothing").failure())
                .get()
                .asString()
                .contains("folding CustomerRegistered")
                .endsWith(": the fold returned null; a fold returns the next state")
                .doesNotContain("threw");
        assertThat(runtime.failureCause("nothing"))
                .get()
                .extracting(Throwable::getMessage)
                .isEqualTo("the fold returned null; a fold returns the next state");
        assertThat(projectionStore.loadState("nothing", "customer-1")).isEmpty();
    }

    /** The projection store, whose commits throw what {@code refusal} gives (none: null). */
    private ProjectionStore refusingCommits(
            java.util.function.Supplier<dev.lethe.core.store.StorageException> refusal) {
        return (ProjectionStore) java.lang.reflect.Proxy.newProxyInstance(
                ProjectionStore.class.getClassLoader(),
                new Class<?>[] {ProjectionStore.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("commit")) {
                        dev.lethe.core.store.StorageException refused = refusal.get();
                        if (refused != null) {
                            throw refused;
                        }
                    }
                    try {
                        return method.invoke(projectionStore, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void a_commit_the_storage_refuses_for_a_while_is_tried_again_and_the_projection_goes_on() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        java.util.concurrent.atomic.AtomicInteger refusals = new java.util.concurrent.atomic.AtomicInteger(3);
        ProjectionStore full = refusingCommits(() -> refusals.getAndDecrement() > 0
                ? dev.lethe.core.store.StorageException.transientFailure("disk full (a test)", null)
                : null);
        try (ProjectionRuntime retrying = new ProjectionRuntime(store, full)) {
            retrying.start(CUSTOMERS);
            long deadline = System.nanoTime() + WAIT.toNanos();
            boolean sawRetrying = false;
            while (retrying.status("customers").phase() != ProjectionStatus.Phase.LIVE
                    && System.nanoTime() < deadline) {
                ProjectionStatus status = retrying.status("customers");
                assertThat(status.phase()).isNotEqualTo(ProjectionStatus.Phase.FAILED);
                sawRetrying |=
                        status.failure().filter(f -> f.contains("trying again")).isPresent();
                Thread.sleep(20);
            }
            assertThat(retrying.status("customers").phase()).isEqualTo(ProjectionStatus.Phase.LIVE);
            assertThat(retrying.status("customers").failure()).isEmpty();
            assertThat(sawRetrying).as("the status said why it waited").isTrue();
            assertThat(projectionStore.loadState("customers", "customer-1"))
                    .get()
                    .asString()
                    .contains("Ada");
        }
    }

    @Test
    void a_commit_the_storage_refuses_for_good_fails_the_projection_at_once() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        ProjectionStore corrupt = refusingCommits(
                () -> dev.lethe.core.store.StorageException.permanent("file is not a database (a test)", null));
        try (ProjectionRuntime failing = new ProjectionRuntime(store, corrupt)) {
            long started = System.nanoTime();
            failing.start(CUSTOMERS);
            long deadline = started + WAIT.toNanos();
            while (failing.status("customers").phase() != ProjectionStatus.Phase.FAILED
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            ProjectionStatus status = failing.status("customers");
            assertThat(status.phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
            assertThat(status.failure()).get().asString().contains("file is not a database");
            assertThat(status.failure()).get().asString().doesNotContain("trying again");
        }
    }

    @Test
    void a_failure_reaches_the_runtimes_listener() throws Exception {
        given("customer-1", "CustomerRegistered", "{\"name\":\"Ada\",\"city\":\"Lisbon\"}");
        given("customer-1", "AddressChanged", "{\"street\":\"no city here\"}");
        java.util.concurrent.CompletableFuture<ProjectionStatus> heard = new java.util.concurrent.CompletableFuture<>();
        runtime.onFailure(heard::complete);
        runtime.start(CUSTOMERS);
        ProjectionStatus status = heard.get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        assertThat(status.name()).isEqualTo("customers");
        assertThat(status.phase()).isEqualTo(ProjectionStatus.Phase.FAILED);
    }
}
