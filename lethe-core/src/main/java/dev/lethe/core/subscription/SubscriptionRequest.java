package dev.lethe.core.subscription;

import dev.lethe.core.spi.AppendRules;
import dev.lethe.core.store.InvalidEventException;
import java.util.Optional;

/**
 * What to subscribe to: the whole log or one category; where to start (a position, the end of the log,
 * or a stored checkpoint); how many events to read per page.
 *
 * <p>With a checkpoint, the subscription starts after the stored position (or at {@code from} when
 * nothing is stored) and saves its position after each page its listener has handled: delivery is at
 * least once, and exactly once for a listener that stores its own effects in the same transaction as
 * the checkpoint, as projections do.
 */
public record SubscriptionRequest(
        Optional<String> category, long from, int pageSize, Optional<CheckpointStore> checkpoints, String name) {
    /** Start at the end: only events appended after the subscription starts. */
    public static final long FROM_END = -1;

    public static final int DEFAULT_PAGE_SIZE = 512;

    public SubscriptionRequest {
        AppendRules.require(category, "category (Optional.empty() for the whole log)");
        AppendRules.require(checkpoints, "checkpoints (Optional.empty() for none)");
        category.ifPresent(AppendRules::checkCategory);
        if (from < FROM_END) {
            throw InvalidEventException.of("from", "position " + from + " is negative");
        }
        if (pageSize < 1 || pageSize > dev.lethe.core.store.EventStore.MAX_READ_LIMIT) {
            throw InvalidEventException.of("page size", pageSize + " is outside 1..10000");
        }
        if (checkpoints.isPresent() && (name == null || name.isBlank())) {
            throw InvalidEventException.of("subscription name", "a checkpointed subscription needs a name");
        }
    }

    /** The whole log, from its first event. */
    public static SubscriptionRequest allFromStart() {
        return new SubscriptionRequest(Optional.empty(), 0, DEFAULT_PAGE_SIZE, Optional.empty(), "all");
    }

    /** One category, from its first event. */
    public static SubscriptionRequest categoryFromStart(String category) {
        return new SubscriptionRequest(Optional.of(category), 0, DEFAULT_PAGE_SIZE, Optional.empty(), category);
    }

    /** This request starting at {@code position} (inclusive), or {@link #FROM_END}. */
    public SubscriptionRequest from(long position) {
        return new SubscriptionRequest(category, position, pageSize, checkpoints, name);
    }

    /** This request reading {@code size} events per page. */
    public SubscriptionRequest pageSize(int size) {
        return new SubscriptionRequest(category, from, size, checkpoints, name);
    }

    /** This request resuming from, and saving to, the named checkpoint. */
    public SubscriptionRequest checkpointed(String subscriptionName, CheckpointStore store) {
        return new SubscriptionRequest(category, from, pageSize, Optional.of(store), subscriptionName);
    }
}
