/** The pull loop behind every subscription; not API. */
package dev.lethe.core.subscription.internal;
