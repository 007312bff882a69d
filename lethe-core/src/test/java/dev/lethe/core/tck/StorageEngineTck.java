package dev.lethe.core.tck;

/**
 * The whole conformance suite: {@link EventStoreTck}, {@link SubscriptionTck}, {@link ProjectionTck} and
 * {@link AppendAsyncTck}. An engine's test class extends this one and implements the two factory methods.
 */
public abstract class StorageEngineTck extends AppendAsyncTck {}
