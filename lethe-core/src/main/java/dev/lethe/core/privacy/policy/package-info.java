/** The data policy: data groups with retention and key periods, roles, permissions. */
package dev.lethe.core.privacy.policy;
