package dev.lethe.core.store;

import java.util.List;

/**
 * One batch of events for one stream, as {@link EventStore#append} takes it; a list of them is what
 * {@link EventStore#appendTogether} commits together.
 */
public record StreamAppend(StreamId streamId, ExpectedVersion expected, List<EventData> events) {}
