package dev.lethe.core.spi;

import java.time.Duration;

/**
 * The log's head position, published by an engine after each commit and awaited by subscriptions.
 * An engine calls {@link #advance(long)} only once the events up to that position are visible to
 * readers, so a subscriber woken by it finds them.
 */
public final class HeadSignal {
    private final Object monitor = new Object();
    private volatile long head;
    private volatile boolean closed;

    public HeadSignal(long initialHead) {
        this.head = initialHead;
    }

    public long head() {
        return head;
    }

    /** Publishes a new head; wakes every waiter. */
    public void advance(long newHead) {
        synchronized (monitor) {
            if (newHead > head) {
                head = newHead;
            }
            monitor.notifyAll();
        }
    }

    /** Wakes every waiter for good. */
    public void close() {
        synchronized (monitor) {
            closed = true;
            monitor.notifyAll();
        }
    }

    /** Waits until the head is beyond {@code position}, the timeout passes or the signal closes. */
    public boolean awaitBeyond(long position, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (monitor) {
            while (head <= position && !closed) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return false;
                }
                monitor.wait(Math.max(1, remaining / 1_000_000));
            }
            return head > position;
        }
    }
}
