/** The demo story and its projections: customers buying products for a reason, as in the seed. */
package dev.lethe.server.demo;
