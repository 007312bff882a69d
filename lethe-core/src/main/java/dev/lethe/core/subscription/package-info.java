/**
 * Catch-up subscriptions: deliver the stored events of the log or a category from a position or a
 * checkpoint, then follow live, with no gap and no duplicate at the switch. Subscriptions pull pages
 * at their own pace, so a slow listener never blocks writers and never buffers more than a page.
 */
package dev.lethe.core.subscription;
