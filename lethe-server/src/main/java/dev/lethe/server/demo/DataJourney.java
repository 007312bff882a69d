package dev.lethe.server.demo;

import dev.lethe.core.projection.Projection;
import dev.lethe.core.store.EventData;
import dev.lethe.core.store.EventStore;
import dev.lethe.core.store.ExpectedVersion;
import dev.lethe.core.store.RecordedEvent;
import dev.lethe.core.store.StreamId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The seed's "data journey": performance data of share classes published as provisional, signed off,
 * and the commitments of sub-funds for a period — events in stream {@code journey-2021-04-30} and a
 * global projection the GraphQL hub serves as {@code dataJourney}. No personal data.
 */
public final class DataJourney {
    public static final StreamId STREAM = StreamId.of("journey-2021-04-30");

    private DataJourney() {}

    /** One journey event as the seed's GraphQL example shows it. */
    public record JourneyEvent(
            String code,
            String leg,
            String eventType,
            String eventTypeDescription,
            String itemType,
            String period,
            String by,
            String lastUpdated,
            String version) {}

    public record Item(String code, String itemType) {}

    public record CommitmentStatus(
            String commitmentDeadline,
            String dateFulfilled,
            String fulfilmentStatus,
            String commitmentType,
            String period) {}

    public record Commitment(String businessDayDeadline, String startEffectiveDate, String endEffectiveDate) {}

    public record State(
            List<JourneyEvent> events,
            List<Item> items,
            List<CommitmentStatus> commitmentStatus,
            List<Commitment> commitments) {
        static final State EMPTY = new State(List.of(), List.of(), List.of(), List.of());
    }

    private static final Map<String, String> DESCRIPTIONS = Map.of(
            "PerformancePublishedProvisional", "Performance Published as Provisional - awaiting signoff",
            "PerformanceSignedOff", "Performance Signed Off");

    public static final Projection<State> PROJECTION = Projection.global("data-journey", State.class, State.EMPTY)
            .category("journey")
            .on("PerformancePublishedProvisional", DataJourney::journeyEvent)
            .on("PerformanceSignedOff", DataJourney::journeyEvent)
            .on("ItemRegistered", (s, e) -> {
                // The seed's API answers every item with its code and type: one without either is left out,
                // rather than failing every later query of the journey.
                if (text(e, "code") == null || itemType(e) == null) {
                    return s;
                }
                List<Item> items = appended(s.items(), new Item(text(e, "code"), itemType(e)));
                return new State(s.events(), items, s.commitmentStatus(), s.commitments());
            })
            .on("CommitmentDefined", (s, e) -> {
                List<Commitment> commitments = appended(
                        s.commitments(),
                        new Commitment(
                                text(e, "businessDayDeadline"),
                                text(e, "startEffectiveDate"),
                                text(e, "endEffectiveDate")));
                return new State(s.events(), s.items(), s.commitmentStatus(), commitments);
            })
            .on("CommitmentFulfilled", (s, e) -> {
                List<CommitmentStatus> status = appended(
                        s.commitmentStatus(),
                        new CommitmentStatus(
                                text(e, "commitmentDeadline"),
                                text(e, "dateFulfilled"),
                                text(e, "fulfilmentStatus"),
                                text(e, "commitmentType"),
                                text(e, "period")));
                return new State(s.events(), s.items(), status, s.commitments());
            })
            .build();

    private static State journeyEvent(State state, RecordedEvent event) {
        if (text(event, "code") == null) {
            return state; // the seed's API answers every journey event with its item's code
        }
        List<JourneyEvent> events = appended(
                state.events(),
                new JourneyEvent(
                        text(event, "code"),
                        text(event, "leg"),
                        event.type(),
                        DESCRIPTIONS.getOrDefault(event.type(), event.type()),
                        itemType(event),
                        text(event, "period"),
                        text(event, "by"),
                        event.recordedAt().toString(),
                        Long.toString(event.version() + 1)));
        return new State(events, state.items(), state.commitmentStatus(), state.commitments());
    }

    /** The most entries each list of the state keeps: the latest ones (a state over 16 MiB fails for good). */
    static final int MAX_ENTRIES = 1_000;

    private static <T> List<T> appended(List<T> list, T entry) {
        List<T> next = new ArrayList<>(
                list.size() >= MAX_ENTRIES ? list.subList(list.size() - MAX_ENTRIES + 1, list.size()) : list);
        next.add(entry);
        return next;
    }

    private static String text(RecordedEvent event, String field) {
        return DemoProjections.copied(event.data().asTree().get(field), null);
    }

    /** The seed's item types, as its GraphQL enum has them; anything else is kept as no type. */
    private static String itemType(RecordedEvent event) {
        String type = text(event, "itemType");
        return "ShareClass".equals(type) || "SubFund".equals(type) ? type : null;
    }

    /** Appends the journey's events, unless the stream already holds them. */
    public static void load(EventStore store) {
        if (store.streamInfo(STREAM).exists()) {
            return;
        }
        List<EventData> events = new ArrayList<>();
        for (String code : List.of("AMER_GBP_A_ACC", "AMER_GBP_A_INC", "AMER_GBP_I-H_ACC")) {
            events.add(EventData.of("ItemRegistered", "{\"code\":\"" + code + "\",\"itemType\":\"ShareClass\"}"));
        }
        events.add(EventData.of("ItemRegistered", "{\"code\":\"AMER\",\"itemType\":\"SubFund\"}"));
        events.add(EventData.of("ItemRegistered", "{\"code\":\"EURO_BOND\",\"itemType\":\"SubFund\"}"));
        events.add(EventData.of(
                "CommitmentDefined",
                "{\"businessDayDeadline\":\"5\",\"startEffectiveDate\":\"2021-01-01\","
                        + "\"endEffectiveDate\":\"2021-12-31\"}"));
        for (String code : List.of("AMER_GBP_A_ACC", "AMER_GBP_A_INC", "AMER_GBP_I-H_ACC")) {
            events.add(
                    EventData.of(
                            "PerformancePublishedProvisional",
                            "{\"code\":\"" + code + "\",\"leg\":\"Performance\","
                                    + "\"itemType\":\"ShareClass\",\"period\":\"2021-04-30\",\"by\":\"Performance Platform\"}"));
        }
        events.add(EventData.of(
                "PerformanceSignedOff",
                "{\"code\":\"AMER_GBP_A_ACC\",\"leg\":\"Performance\","
                        + "\"itemType\":\"ShareClass\",\"period\":\"2021-04-30\",\"by\":\"Performance Oversight\"}"));
        events.add(
                EventData.of(
                        "CommitmentFulfilled",
                        "{\"commitmentDeadline\":\"2021-05-07\",\"dateFulfilled\":\"2021-05-11\","
                                + "\"fulfilmentStatus\":\"FulfilledLate\",\"commitmentType\":\"PerformancePublication\",\"period\":\"2021-04-30\"}"));
        store.append(STREAM, ExpectedVersion.noStream(), events);
    }
}
