/**
 * The privacy model: data subjects, data groups, which fields of an event type are personal data and
 * whose; the policy; the key service; the codec that encrypts personal fields before they are stored
 * and redacts them on the way out.
 */
package dev.lethe.core.privacy;
