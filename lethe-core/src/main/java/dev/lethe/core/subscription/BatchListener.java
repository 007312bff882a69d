package dev.lethe.core.subscription;

import dev.lethe.core.store.RecordedEvent;
import java.util.List;

/** Like {@link EventListener}, but receives a page of events at a time; for projections and relays. */
public interface BatchListener {
    void onBatch(List<RecordedEvent> events) throws Exception;

    /** The subscription has delivered every event stored when it started and now follows live. */
    default void onCaughtUp(long lastPosition) {}

    /**
     * The subscription has moved to {@code nextPosition} past events it does not deliver (other
     * categories'): everything before it has been handled or does not concern this listener.
     */
    default void onProgress(long nextPosition) {}

    /** The subscription stopped because of {@code error}. By default, a warning, as {@link EventListener#onError}. */
    default void onError(Throwable error) {
        EventListener.logStopped(error);
    }

    /** Adapts a per-event listener. */
    static BatchListener of(EventListener listener) {
        return new BatchListener() {
            @Override
            public void onBatch(List<RecordedEvent> events) throws Exception {
                for (RecordedEvent event : events) {
                    listener.onEvent(event);
                }
            }

            @Override
            public void onCaughtUp(long lastPosition) {
                listener.onCaughtUp(lastPosition);
            }

            @Override
            public void onError(Throwable error) {
                listener.onError(error);
            }
        };
    }
}
