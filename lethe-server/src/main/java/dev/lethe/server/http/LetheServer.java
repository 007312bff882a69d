package dev.lethe.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.AccessDeniedException;
import dev.lethe.core.privacy.ErasureFenceException;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.PrivateEventStore;
import dev.lethe.core.privacy.RetentionScheduler;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.privacy.policy.PolicyLinter;
import dev.lethe.core.projection.Projection;
import dev.lethe.core.projection.ProjectionRuntime;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.core.store.DuplicateEventException;
import dev.lethe.core.store.InvalidEventException;
import dev.lethe.core.store.Json;
import dev.lethe.core.store.LetheException;
import dev.lethe.core.store.WrongExpectedVersionException;
import dev.lethe.core.subscription.Subscription;
import dev.lethe.core.subscription.SubscriptionRequest;
import dev.lethe.server.demo.DemoProjections;
import dev.lethe.sqlite.SqliteLethe;
import graphql.ExecutionResult;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP server: REST per resource and projection, the GraphQL hub, server-sent events, GraphiQL,
 * health and metrics, on the embedded store of one data directory. Binds to {@link ServerConfig#host()}
 * (127.0.0.1 by default).
 */
public final class LetheServer implements AutoCloseable {
    /** The most findings {@code POST /v1/policy/check} returns; {@code findingsTotal} counts them all. */
    static final int MAX_POLICY_FINDINGS = 1_000;

    public static final String PROBLEM_JSON = "application/problem+json";

    private final ServerConfig config;
    private final SqliteLethe lethe;
    private final ProjectionRuntime projections;
    private final RetentionScheduler retention;
    private final Metrics metrics = new Metrics();
    private final JsonLog log;
    private final Hub hub;
    private final GraphQlApi graphQl;
    private final AtomicLong openSubscriptions = new AtomicLong();
    private final java.util.Set<SseClient> sseClients = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final long KEEP_ALIVE_SECONDS = 15;
    /** Open event streams at most (each holds two threads): more are refused with 503 until some close. */
    static final int MAX_SUBSCRIPTIONS = 512;
    /** Open event streams of one principal at most: one token cannot take every stream of the server. */
    static final int MAX_SUBSCRIPTIONS_PER_PRINCIPAL = 64;

    /**
     * Requests of one principal in progress at most (event streams apart): each holds one of the server's
     * threads (about 250) while its body arrives, so that one token sending bodies a byte at a time cannot
     * take them all — health probes and other clients keep theirs. More are answered 429.
     */
    static final int MAX_IN_FLIGHT_PER_PRINCIPAL = 64;

    private static final String IN_FLIGHT = "lethe.inFlight";
    private final java.util.concurrent.ConcurrentHashMap<String, Integer> inFlight =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** The request attribute holding the KiB of {@link #parsing} a request took, released after it. */
    private static final String PARSING = "parsingKib";

    /**
     * Request bodies held at once, server-wide, in KiB of heap they may take, raw and parsed: a body's bytes,
     * read before it is parsed, and its tree (with GraphQL's variables converted from it) take about
     * {@value #HEAP_BYTES_PER_TOKEN} bytes per JSON token beside {@value #RAW_COPIES} copies of its text. A
     * request takes its raw share before its body is read (from Content-Length, the largest body when chunked),
     * and its tree's share once its tokens are counted (a pass that builds nothing); a quarter of the heap in
     * all, at least one body of the largest size. A body that waits more than 10 s for its share is a 503; one
     * whose tree alone would take more than the whole budget is a 413 (16 MiB of {@code [{},{},…]} is a tree of
     * some 900 MB).
     */
    private volatile java.util.concurrent.Semaphore parsing;

    static final int HEAP_BYTES_PER_TOKEN = 160;
    static final int RAW_COPIES = 3;

    private int parseBudgetKib() {
        return (int) Math.min(
                Integer.MAX_VALUE,
                Math.max(
                                config.maxBodyBytes() * RAW_COPIES,
                                Runtime.getRuntime().maxMemory() / 4)
                        / 1024);
    }

    /** Takes {@code bytes} more of the budget for this request (the whole budget at most, in all). */
    private void takeParseBudget(Context ctx, long bytes) {
        synchronized (this) {
            if (parsing == null) {
                parsing = new java.util.concurrent.Semaphore(parseBudgetKib());
            }
        }
        Integer held = ctx.attribute(PARSING);
        int already = held == null ? 0 : held;
        int kib = (int) Math.max(0, Math.min(parseBudgetKib() - already, (bytes + 1023) / 1024));
        if (kib == 0) {
            return;
        }
        // One principal holds at most half of it (at least one body of the largest size): its slow senders, or
        // its bodies that wait for one another, cannot keep every other principal's bodies out.
        Principal who = ctx.attribute("principal");
        String name = who == null ? "-" : who.name();
        long share =
                Math.max(parseBudgetKib() / 2, Math.min(parseBudgetKib(), config.maxBodyBytes() * RAW_COPIES / 1024));
        long after = parsingByPrincipal.merge(name, (long) kib, Long::sum);
        if (after > share && after > already + kib) { // a request alone always gets its share: others wait
            parsingByPrincipal.computeIfPresent(name, (key, now) -> now - kib <= 0 ? null : now - kib);
            throw new ApiException(
                            503,
                            "Service unavailable",
                            "principal " + name + " has as many request bodies in hand as one principal may: retry"
                                    + " once some are answered")
                    .retryAfter(2);
        }
        boolean taken;
        try {
            taken = parsing.tryAcquire(kib, 10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            taken = false;
        }
        if (!taken) {
            parsingByPrincipal.computeIfPresent(name, (key, now) -> now - kib <= 0 ? null : now - kib);
            throw new ApiException(
                            503,
                            "Service unavailable",
                            "the server is reading other large request bodies and has no memory to spare for this"
                                    + " one now: retry shortly")
                    .retryAfter(2);
        }
        ctx.attribute(PARSING, already + kib);
    }

    private void releaseParseBudget(Context ctx) {
        Integer kib = ctx.attribute(PARSING);
        if (kib != null) {
            ctx.attribute(PARSING, null);
            parsing.release(kib);
            Principal who = ctx.attribute("principal");
            parsingByPrincipal.computeIfPresent(
                    who == null ? "-" : who.name(), (key, now) -> now - kib <= 0 ? null : now - kib);
        }
    }

    /** KiB of {@link #parsing} each principal holds now. */
    private final java.util.concurrent.ConcurrentHashMap<String, Long> parsingByPrincipal =
            new java.util.concurrent.ConcurrentHashMap<>();

    private void releaseInFlight(Context ctx) {
        String name = ctx.attribute(IN_FLIGHT);
        if (name != null) {
            ctx.attribute(IN_FLIGHT, null);
            inFlight.computeIfPresent(name, (key, count) -> count <= 1 ? null : count - 1);
        }
    }

    private final java.util.concurrent.ConcurrentHashMap<String, Integer> subscriptionsByPrincipal =
            new java.util.concurrent.ConcurrentHashMap<>();
    /** The request attribute saying why authentication refused a request (for the request log line). */
    private static final String REFUSAL = "refusal";

    /** The principal of a token refused for its role: for the request's log line. */
    private static final String REFUSED_PRINCIPAL = "refusedPrincipal";

    /** The request attribute holding a JWT's {@code exp} (absent for static tokens and JWTs without one). */
    private static final String EXPIRES = "expires";

    /**
     * How long stopping waits for the requests in flight (an export may be cut off after it): under
     * {@code docker stop}'s 10 seconds, so that the store still closes before a SIGKILL.
     */
    static final java.time.Duration DRAIN = java.time.Duration.ofSeconds(6);

    private final org.eclipse.jetty.server.handler.GracefulHandler graceful = gracefulHandler();

    /**
     * Run when a request's thread runs out of memory (after the log line): {@code lethe serve} halts the
     * process, so that its supervisor restarts it rather than it going on with threads dead (the writer, a
     * projection) and health still green. Nothing by default (tests run servers in their own JVM).
     */
    static volatile Runnable outOfMemory = () -> {};

    /** The exit code of a server halted for want of memory. */
    public static final int OUT_OF_MEMORY_EXIT = 70;

    /**
     * For {@code lethe serve}: running out of memory, in a request or in any other thread (the store's
     * writer, a projection), halts the process with {@value #OUT_OF_MEMORY_EXIT} after one log line, so that
     * its supervisor restarts it. Acknowledged appends are on disk already.
     */
    public static void haltOnOutOfMemory(java.io.PrintStream logStream) {
        JsonLog log = new JsonLog(logStream);
        Runnable halt = () -> {
            try {
                log.error(
                        "out of memory: stopping at once, so that a supervisor restarts the server",
                        Map.of("exitCode", OUT_OF_MEMORY_EXIT));
                logStream.flush();
            } finally {
                Runtime.getRuntime().halt(OUT_OF_MEMORY_EXIT); // even if the log line itself ran out of memory
            }
        };
        outOfMemory = halt;
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
            if (error instanceof OutOfMemoryError) {
                halt.run();
            }
            if (before != null) {
                before.uncaughtException(thread, error);
            } else {
                System.err.print("Exception in thread \"" + thread.getName() + "\" ");
                error.printStackTrace();
            }
        });
    }

    /** Requests that arrived on a kept-alive connection while stopping, answered 503 (counted for the log). */
    private final java.util.concurrent.atomic.AtomicLong refusedWhileStopping =
            new java.util.concurrent.atomic.AtomicLong();

    private org.eclipse.jetty.server.handler.GracefulHandler gracefulHandler() {
        org.eclipse.jetty.server.handler.GracefulHandler handler =
                new org.eclipse.jetty.server.handler.GracefulHandler() {
                    @Override
                    public boolean handle(
                            org.eclipse.jetty.server.Request request,
                            org.eclipse.jetty.server.Response response,
                            org.eclipse.jetty.util.Callback callback)
                            throws Exception {
                        if (isShutdown()) {
                            // Answered 503 by Jetty, through ProblemErrorHandler (which says why and when to retry).
                            refusedWhileStopping.incrementAndGet();
                        }
                        return super.handle(request, response, callback);
                    }
                };
        handler.setShutdownIdleTimeout(DRAIN.toMillis());
        return handler;
    }

    /** Whether the server is stopping: new requests on open connections are refused meanwhile. */
    boolean stopping() {
        return graceful.isShutdown();
    }

    private final Javalin app;
    private final JwtVerifier jwt;
    private final dev.lethe.core.subscription.Subscription subjectIndexer;

    private LetheServer(ServerConfig config, SqliteLethe lethe, JsonLog log) {
        this.config = config;
        this.lethe = lethe;
        this.log = log;
        // First: a bad key in the JWT settings stops the start before any thread is started (projections, the
        // retention scheduler), which a failed start could not stop.
        this.jwt = config.jwt().enabled() ? new JwtVerifier(config.jwt(), Clock.systemUTC()) : null;
        this.projections = new ProjectionRuntime(lethe.store(), lethe.projections());
        projections.onFailure(status -> log.warn(
                "projection failed; its states stay at its last checkpoint: fix the cause (its fold, the storage) and"
                        + " restart the server, which resumes it from there (rebuild it only if its states are wrong)",
                Map.of(
                        "projection", status.name(),
                        "nextPosition", status.nextPosition(),
                        "failure", status.failure().orElse("?"))));
        for (Projection<?> projection : projections()) {
            projections.start(projection);
        }
        this.retention = new RetentionScheduler(
                lethe.privacy(),
                Clock.systemUTC(),
                RetentionScheduler.DEFAULT_INTERVAL,
                // Keys destroyed for good: said in the server's log and its metrics too, not only in the audit
                // trail (a forget the server does when its date comes counts as one asked over HTTP).
                report -> {
                    metrics.count("forgets", report.forgotten().size());
                    metrics.count("period_keys_destroyed", report.expired().size());
                    log.info(
                            "retention run",
                            Map.of(
                                    "periodKeysDestroyed",
                                    report.expired().size(),
                                    "periods",
                                    report.expired().stream()
                                            .limit(20)
                                            .map(p -> p.group() + "/" + p.period())
                                            .toList(),
                                    "scheduledForgetsDone",
                                    report.forgotten().size()));
                });
        // Exports then read a subject's events from the index instead of scanning the log.
        this.subjectIndexer = dev.lethe.core.privacy.SubjectIndexer.follow(lethe.store(), lethe.subjectIndex());
        this.hub = new Hub(lethe, projections, metrics);
        this.graphQl = new GraphQlApi(hub, log);
        // Every documented counter from the start, at 0: an alert on its rate (or its absence) needs the series.
        for (String counter : List.of(
                "appends",
                "appended_events",
                "forgets",
                "period_keys_destroyed",
                "read_events",
                "graphql_queries",
                "subscriptions")) {
            metrics.count(counter, 0);
        }
        metrics.gauge("subscriptions_open", openSubscriptions::get);
        metrics.gauge(
                "requests_in_progress",
                () -> inFlight.values().stream().mapToLong(Integer::longValue).sum());
        metrics.counterFrom("key_cache_hits", () -> lethe.privacy().keys().cacheCounters()[0]);
        metrics.counterFrom("key_cache_misses", () -> lethe.privacy().keys().cacheCounters()[1]);
        metrics.gauge("log_head_position", () -> lethe.store().headPosition());
        metrics.gauge("data_free_bytes", this::freeBytes);
        // What /health/ready says, as numbers a rule can alert on without parsing JSON.
        metrics.gauge("ready", () -> unreadiness().isEmpty() ? 1 : 0);
        metrics.gauge("projections_failed", this::failedProjectionCount);
        metrics.gauge("projection_lag_events_max", this::largestProjectionLag);
        metrics.gauge("retention_held", () -> retentionHeld().isPresent() ? 1 : 0);
        metrics.gauge("subject_index_lag_events", this::subjectIndexLag);
        metrics.gauge("append_failures_in_a_row", () -> hub.writeFailuresInARow.get());
        this.app = Javalin.create(javalin -> {
            javalin.jetty.host = config.host();
            javalin.jetty.port = config.port();
            javalin.http.maxRequestSize = config.maxBodyBytes();
            // A known path with another method: 405 naming the methods it has, not "no route".
            javalin.http.prefer405over404 = true;
            javalin.startup.showJavalinBanner = false;
            // What Jetty refuses itself (a path that is not UTF-8, say) is a problem+json too, not an HTML page.
            javalin.jetty.modifyServer(server -> {
                server.setErrorHandler(new ProblemErrorHandler(this::stopping));
                // Stopping (SIGTERM) lets the requests in flight finish, for up to DRAIN, before the store closes:
                // an append the client is waiting for is answered, not cut off after its commit. Javalin puts its
                // servlet inside this wrapper; new connections are refused meanwhile.
                server.setHandler(graceful);
                server.setStopTimeout(DRAIN.toMillis());
            });
            // An Error (out of memory on a huge export, say): a problem and one JSON log line, not an empty
            // 500 and Jetty's plain-text stack among the JSON lines.
            javalin.router.javaLangErrorHandler((response, error) -> {
                log.error("fatal error", Map.of("error", error.getClass().getName()));
                if (error instanceof OutOfMemoryError) {
                    outOfMemory.run();
                }
                if (!response.isCommitted()) {
                    try {
                        response.reset();
                        response.setStatus(500);
                        response.setContentType(PROBLEM_JSON + "; charset=utf-8");
                        ObjectNode problem = Hub.JSON.createObjectNode();
                        problem.put("type", "about:blank");
                        problem.put("title", "Internal server error");
                        problem.put("status", 500);
                        problem.put(
                                "detail",
                                "the server failed (" + error.getClass().getSimpleName() + "); see its log");
                        response.getWriter().write(problem.toString());
                    } catch (IOException | IllegalStateException ignored) {
                        // The client is gone, or the answer began: nothing more to send.
                    }
                }
            });
            routes(javalin.routes);
        });
    }

    static List<Projection<?>> projections() {
        return DemoProjections.BUILT_IN;
    }

    /** Opens the data directory and starts serving; returns once the port is bound. */
    public static LetheServer start(ServerConfig config, JsonLogTarget logTarget) {
        JsonLog log = new JsonLog(logTarget.stream());
        log.captureLibraryLogs();
        // Held for as long as it serves: another process's open is refused at once, naming the server.
        dev.lethe.sqlite.internal.DirectoryLock.describeHolder("lethe serve (HTTP server)", false);
        SqliteLethe lethe;
        try {
            lethe = SqliteLethe.open(config.data(), config.storeOptions());
        } catch (RuntimeException | Error e) {
            log.releaseLibraryLogs();
            throw e;
        }
        LetheServer server = null;
        // No application stream (Lethe's own $… streams aside: a retention run writes to $audit at each start).
        boolean emptyAtOpen = lethe.store().readStreamIds(null, 100).stream()
                .allMatch(id -> id.value().startsWith("$"));
        try {
            refuseUndeclaredGroups(lethe);
            server = new LetheServer(config, lethe, log);
            // A token whose role the policy does not declare could read nothing and do nothing: say so.
            java.util.Set<String> roles = lethe.policy().roles().keySet();
            for (Principal principal : config.tokens().values()) {
                if (!roles.contains(principal.role())) {
                    log.warn(
                            "token role not in the data policy",
                            Map.of("principal", principal.name(), "role", principal.role(), "roles", roles));
                }
            }
            lethe.privacy()
                    .forgetRefusal()
                    .ifPresent(why -> log.warn("forgets refused in this data directory", Map.of("why", why)));
            // What the open repaired after a crash or a restore, or found (an events.db older than keys.db).
            lethe.recoveredAtOpen().forEach(what -> log.warn("at open", Map.of("what", what)));
            // A store restored from before a key rotation, or a token that is not this store's, opens fine and
            // then fails every append and reads every field as unavailable: said now, and by /health/ready.
            // At level error, as /health/ready will say it: a server no probe asks yet is not quietly down. Once:
            // the health routes do not say it again while it lasts.
            LetheServer started = server;
            server.keyProblem().ifPresent(why -> {
                log.error(
                        "not ready: the master key does not open this key store, or the store lost its blind index's"
                                + " secret (lethe keys check tells more)",
                        Map.of("why", why));
                started.lastUnreadiness = "keys";
            });
            // A rotation stopped half-way is among what the open found (recoveredAtOpen, above).
            server.app.start();
            long head = lethe.store().headPosition();
            if (emptyAtOpen) {
                // A mistyped --data makes a new, empty store as well as a first run does: said where it shows.
                log.warn(
                        "the event store is empty (a new data directory? check --data if this server should hold events)",
                        Map.of(
                                "data",
                                config.data().toAbsolutePath().normalize().toString()));
            }
            // What it serves, in a fixed order (a start's line compares with the last one's): where, the store, the
            // key, the policy's mode (lenient: types without a schema stored as written), who may come in.
            dev.lethe.core.privacy.policy.DataPolicy policy =
                    lethe.privacy().keys().policy();
            Map<String, Object> listening = new java.util.LinkedHashMap<>();
            listening.put("host", config.host());
            listening.put("port", server.port());
            listening.put("data", config.data().toAbsolutePath().normalize().toString());
            listening.put("demo", config.demo());
            listening.put("version", version());
            listening.put("headPosition", head);
            listening.put("masterKey", lethe.privacy().keys().master().describe());
            listening.put(
                    "masterKeyDirectory",
                    config.storeOptions().pkcs11() != null
                            ? "none: a PKCS#11 token"
                            : config.storeOptions().masterKeyDirectory() == null
                                    ? "the data directory"
                                    : config.storeOptions()
                                            .masterKeyDirectory()
                                            .toAbsolutePath()
                                            .normalize()
                                            .toString());
            listening.put("strict", policy.strict());
            listening.put(
                    "receiptJournal",
                    policy.receiptJournal()
                            .map(file -> config.data()
                                    .resolve(file)
                                    .toAbsolutePath()
                                    .normalize()
                                    .toString())
                            .orElse("none"));
            listening.put("tokens", config.tokens().size());
            listening.put("jwt", config.jwt().enabled());
            log.info("listening", listening);
            return server;
        } catch (RuntimeException e) {
            if (server != null) {
                server.retention.close();
                server.subjectIndexer.close();
                server.projections.close();
            }
            lethe.close();
            log.releaseLibraryLogs();
            if (e instanceof io.javalin.util.JavalinBindException) {
                // One line for the operator, not Jetty's stack: the address, and why (in use, not assignable).
                Throwable cause = e;
                while (cause.getCause() != null) {
                    cause = cause.getCause();
                }
                throw new java.io.UncheckedIOException(new java.net.BindException("cannot listen on " + config.host()
                        + ":" + config.port() + ": "
                        + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage())));
            }
            throw e;
        }
    }

    /**
     * Refuses to serve a store whose policy (edited by hand) no longer declares a data group that an event
     * type's latest schema uses: every append of that type would fail, as a client's 400, while the server
     * looked ready. {@code lethe policy set} refuses such a policy; a hand edit is caught here.
     */
    private static void refuseUndeclaredGroups(SqliteLethe lethe) {
        for (dev.lethe.core.privacy.SchemaRegistry.Registered schema :
                lethe.privacy().schemas().all()) {
            boolean latest = lethe.privacy()
                    .schemas()
                    .latest(schema.eventType())
                    .map(l -> l.version() == schema.version())
                    .orElse(false);
            for (dev.lethe.core.privacy.FieldRule field : schema.schema().fields()) {
                if (latest
                        && field.personal()
                        && field.group().isPresent()
                        && !lethe.policy().knows(field.group().get())) {
                    throw InvalidEventException.of(
                            SqliteLethe.POLICY_FILE,
                            "does not declare data group '" + field.group().get() + "', which schema "
                                    + schema.eventType() + " v" + schema.version() + " uses for " + field.path()
                                    + ": every append of " + schema.eventType() + " would fail. Declare the group"
                                    + " again in " + lethe.store().directory().resolve(SqliteLethe.POLICY_FILE)
                                    + " (edited by hand: lethe policy set refuses such a policy)");
                }
            }
        }
    }

    /**
     * Why this server cannot do its work, if it cannot, in words for anyone (the health routes need no token:
     * no path, no pid): appends refused for good (its lethe.lock was deleted or replaced), or a master key
     * that does not open the key store. The full message goes to the log, once.
     */
    private java.util.Optional<String> unreadiness() {
        java.util.Optional<String> refused = lethe.store().writeRefusal();
        java.util.Optional<String> keys = refused.isPresent() ? java.util.Optional.empty() : keyProblem();
        java.util.Optional<String> full = refused.or(() -> keys);
        // Logged when it changes: not ready (once per kind of problem while it lasts), and ready again.
        String kind = full.isEmpty() ? null : refused.isPresent() ? "lock" : "keys";
        String before = lastUnreadiness;
        if (!java.util.Objects.equals(kind, before)) {
            lastUnreadiness = kind;
            if (kind != null) {
                log.error("not ready", Map.of("why", full.get()));
            } else {
                log.info("ready again", Map.of("was", before));
            }
        }
        return refused.isPresent()
                ? java.util.Optional.of(
                        refused.get().startsWith("the event store's writer stopped")
                                ? "appends refused: the event store's writer stopped after an internal error; restart"
                                        + " the server (its log says more)"
                                : "appends refused for good: this server's lethe.lock was deleted or replaced (its log"
                                        + " says more)")
                : keys.map(why -> "the master key cannot be used: it does not open this key store, or its token or"
                        + " HSM fails, or the key store lost its blind index's secret (the server log says which;"
                        + " lethe keys check)");
    }

    private volatile String lastUnreadiness;

    /** This release, as the jar's manifest names it ("development build" when run from classes). */
    static String version() {
        String version = LetheServer.class.getPackage().getImplementationVersion();
        return version == null ? "development build" : version;
    }

    /** Why retention is held (a clock far ahead of its last run), if it is. */
    private java.util.Optional<String> retentionHeld() {
        return retention
                .lastFailure()
                .filter(e -> e instanceof dev.lethe.core.privacy.PrivateEventStore.RetentionClockException)
                .map(Throwable::getMessage);
    }

    /**
     * Why the last scheduled retention run failed, if it did: held for the clock ({@link #retentionHeld}), or any
     * other failure, which is retried at each tick — while it lasts, nothing expires and scheduled forgets wait.
     */
    private java.util.Optional<String> retentionProblem() {
        return retentionHeld()
                .or(() -> retention
                        .lastFailure()
                        // Its class only: /health/ready needs no token, and a message may name a subject or a path.
                        .map(e -> "the last scheduled retention run failed ("
                                + e.getClass().getSimpleName()
                                + "); retried at each tick: until one succeeds nothing expires and scheduled forgets"
                                + " wait (the server log says why)"));
    }

    private long failedProjectionCount() {
        return projections.statuses().stream()
                .filter(p -> p.phase() == dev.lethe.core.projection.ProjectionStatus.Phase.FAILED)
                .count();
    }

    /** The events the furthest-behind read model has yet to fold (0 with none). */
    private long largestProjectionLag() {
        long next = lethe.store().headPosition() + 1;
        return projections.statuses().stream()
                .mapToLong(p -> Math.max(0, next - p.nextPosition()))
                .max()
                .orElse(0);
    }

    /** The events the subject index (exports) has yet to take in. */
    private long subjectIndexLag() {
        return Math.max(0, lethe.store().headPosition() + 1 - subjectIndexer.nextPosition());
    }

    /** Below this much free space on the data directory's file system, readiness says "degraded". */
    static final long LOW_DISK_BYTES = 64L * 1024 * 1024;

    /** The usable bytes of the data directory's file system (-1 if it cannot be told). */
    private long freeBytes() {
        try {
            return java.nio.file.Files.getFileStore(config.data()).getUsableSpace();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Why the master key cannot open this key store, if it cannot ({@code KeyService.masterProblem}). */
    java.util.Optional<String> keyProblem() {
        return lethe.privacy().keys().masterProblem();
    }

    /** Where structured logs go. */
    public record JsonLogTarget(java.io.PrintStream stream) {
        /**
         * A warning before the server starts (a config file others may read, a host that is not the
         * loopback), as a JSON line like the server's own: a log shipper routes it by its level.
         */
        public void warn(String message) {
            new JsonLog(stream).warn(message, Map.of());
        }
    }

    public int port() {
        return app.port();
    }

    public SqliteLethe lethe() {
        return lethe;
    }

    public ProjectionRuntime projectionRuntime() {
        return projections;
    }

    private static final java.util.Set<String> HTTP_METHODS =
            java.util.Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT");

    /**
     * The request's method for metrics and the log: a standard one as it is, any other as {@code OTHER}, so
     * that requests with made-up methods (no token needed to send them) cannot add metric series without
     * end, nor long names to the log.
     */
    static String methodLabel(io.javalin.http.Context ctx) {
        String method = ctx.req().getMethod();
        return method != null && HTTP_METHODS.contains(method) ? method : "OTHER";
    }

    /**
     * The request's method as an answer names it: a standard one as it is, any other as "that method" (not
     * {@code OTHER}, which reads as a method of that name; nor echoed back as sent).
     */
    static String methodSaid(io.javalin.http.Context ctx) {
        String method = methodLabel(ctx);
        return method.equals("OTHER") ? "that method" : method;
    }

    /** A 404's detail: the method and path no route takes. */
    static String noRoute(io.javalin.http.Context ctx) {
        String method = methodSaid(ctx);
        return (method.equals("that method") ? "no route for that method at " : "no route " + method + " ") + ctx.path()
                + "; see /openapi.json for the API";
    }

    /**
     * The route pattern {@code path} falls under, for a request refused before its handler ran (a 401, a 413, a
     * 405, a subscription's 406): so that its log line and metric count under its route, as the answered ones
     * do; "unmatched" for a path no route takes.
     */
    private String routeOf(String path) {
        for (io.javalin.router.ParsedEndpoint parsed : app.unsafe.internalRouter.allHttpHandlers()) {
            if (parsed.endpoint.method.isHttpMethod() && parsed.matches(path)) {
                return parsed.endpoint.path;
            }
        }
        return "unmatched";
    }

    private void routes(io.javalin.config.RoutesConfig routes) {
        routes.before(this::authenticate);
        routes.after(ctx -> {
            releaseInFlight(ctx);
            releaseParseBudget(ctx);
            Long started = ctx.attribute("started");
            io.javalin.router.Endpoint matched = ctx.endpoints().matchedHttpEndpoint();
            String route = matched == null ? routeOf(ctx.path()) : matched.path;
            long nanos = started == null ? 0 : System.nanoTime() - started;
            String method = methodLabel(ctx);
            metrics.time(method + " " + route, nanos);
            metrics.response(ctx.statusCode());
            Principal who = ctx.attribute("principal");
            if (who == null) {
                who = ctx.attribute(REFUSED_PRINCIPAL);
            }
            Map<String, Object> line = new java.util.LinkedHashMap<>();
            line.put("method", method);
            line.put("route", route);
            line.put("status", ctx.statusCode());
            line.put("ms", nanos / 1_000_000.0);
            line.put("principal", who == null ? "-" : who.name());
            String refusal = ctx.attribute(REFUSAL);
            if (refusal != null) {
                line.put("refused", refusal); // why a request was not let in: never the token
            }
            log.info("request", line);
        });
        routes.exception(Exception.class, (e, ctx) -> problem(ctx, e));
        // Javalin answers its own (a chunked body over the limit: 413) in text/plain unless told otherwise.
        routes.exception(io.javalin.http.HttpResponseException.class, (e, ctx) -> problem(ctx, e));
        routes.error(404, ctx -> {
            // A handler's own 404 (an unknown subject or projection) is a problem already: kept. Its
            // content type may carry a charset, and a handler may have set another type before failing.
            String type = ctx.res().getContentType();
            if (!ctx.res().isCommitted() && (type == null || !type.startsWith(PROBLEM_JSON))) {
                writeProblem(ctx, 404, "Not found", noRoute(ctx));
            }
        });

        io.javalin.http.Handler health = ctx -> {
            java.util.Optional<String> refused = unreadiness();
            // Down is a 503 here too: a checker that looks only at the status code must see it.
            ctx.status(refused.isEmpty() ? 200 : 503)
                    .json(Map.of(
                            "status",
                            refused.isEmpty() ? "up" : "down",
                            "live",
                            true,
                            "ready",
                            refused.isEmpty(),
                            "headPosition",
                            lethe.store().headPosition(),
                            "version",
                            version()));
        };
        io.javalin.http.Handler live = ctx -> ctx.json(Map.of("status", "up"));
        io.javalin.http.Handler ready = ctx -> {
            List<String> failed = projections.statuses().stream()
                    .filter(p -> p.phase() == dev.lethe.core.projection.ProjectionStatus.Phase.FAILED)
                    .map(dev.lethe.core.projection.ProjectionStatus::name)
                    .toList();
            java.util.Optional<String> refused = unreadiness();
            if (refused.isPresent()) {
                // Appends are refused for good (its lethe.lock was deleted or replaced), or the master key
                // opens none of the key store's keys: not ready.
                ctx.status(503)
                        .json(Map.of(
                                "status",
                                "down",
                                "problem",
                                refused.get(),
                                "headPosition",
                                lethe.store().headPosition()));
                return;
            }
            // Still serving the log; read models that failed are stale, and a disk about to fill will refuse
            // appends and forgets (503) and reads that release keys: a monitor should see both.
            long free = freeBytes();
            boolean lowDisk = free >= 0 && free < LOW_DISK_BYTES;
            // Retention refused for a clock far ahead, or failing otherwise: nothing expires, scheduled forgets wait,
            // until someone looks. Said here, not only in the log.
            java.util.Optional<String> retentionHeld = retentionProblem();
            java.util.Optional<String> writesFailing = hub.writeProblem();
            Map<String, Object> answer = new java.util.LinkedHashMap<>();
            answer.put(
                    "status",
                    failed.isEmpty() && !lowDisk && retentionHeld.isEmpty() && writesFailing.isEmpty()
                            ? "up"
                            : "degraded");
            answer.put("failedProjections", failed);
            if (writesFailing.isPresent()) {
                answer.put("problem", writesFailing.get());
            } else if (lowDisk) {
                answer.put(
                        "problem",
                        "the data directory's file system has " + free + " bytes free: appends, forgets"
                                + " and reads that release keys fail once it is full");
            } else if (retentionHeld.isPresent()) {
                answer.put("problem", retentionHeld.get());
            }
            answer.put("freeBytes", free);
            answer.put("headPosition", lethe.store().headPosition());
            ctx.json(answer);
        };
        // HEAD too, run as GET (its status, no body): Jetty would answer 200 without running it, a server down
        // included, to a load balancer that checks with HEAD.
        for (Map.Entry<String, io.javalin.http.Handler> probe : Map.of(
                        "/health", health, "/health/live", live, "/health/ready", ready)
                .entrySet()) {
            routes.get(probe.getKey(), probe.getValue());
            routes.head(probe.getKey(), probe.getValue());
        }
        routes.get(
                "/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4").result(metrics.prometheus()));
        routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(resource("openapi.json")));
        // Outside demo mode the demo tokens are not accepted: the page does not offer them.
        String graphiqlPage = config.demo()
                ? resource("graphiql.html")
                : resource("graphiql.html")
                        .replace(
                                "<input id=\"token\" value=\"demo-advisor-token\">",
                                "<input id=\"token\" value=\"\" placeholder=\"your bearer token\">")
                        .replace(" (demo tokens: demo-admin-token, demo-advisor-token, demo-analyst-token)", "");
        routes.get("/graphiql", ctx -> ctx.html(graphiqlPage));
        routes.get("/graphiql/{asset}", this::graphiqlAsset);

        routes.post("/v1/streams/{stream}/events", this::append);
        routes.get("/v1/streams/{stream}", this::readStream);
        routes.get("/v1/events", this::readLog);
        routes.get("/v1/schemas", ctx -> ctx.json(hub.schemasJson()));
        routes.post("/v1/schemas", this::registerSchema);
        routes.post("/v1/subjects", this::createSubject);
        routes.post("/v1/subjects/{id}/forget", this::forget);
        routes.get("/v1/subjects/{id}/export", this::export);
        routes.get("/v1/receipts", this::receipts);
        routes.get("/v1/scheduled-forgets", this::scheduledForgets);
        routes.post("/v1/scheduled-forgets/{id}/cancel", this::cancelScheduledForget);
        routes.get("/v1/retention/plan", this::retentionPlan);
        routes.get("/v1/projections", this::listProjections);
        routes.get("/v1/projections/{name}", ctx -> {
            for (Map.Entry<String, List<String>> given : ctx.queryParamMap().entrySet()) {
                String parameter = given.getKey();
                if (parameter.isEmpty()) {
                    continue; // "?limit=2&": an empty pair, not a parameter
                }
                if (!parameter.equals("after") && !parameter.equals("limit")) {
                    throw ApiException.badRequest(
                            "GET /v1/projections/{name} takes 'after' and 'limit' only (a page of keys after"
                                    + " a key)");
                }
                if (given.getValue().size() > 1) {
                    throw ApiException.badRequest("'" + parameter + "' is given more than once; give it once");
                }
            }
            ctx.json(hub.projectionKeys(
                    ctx.pathParam("name"),
                    ctx.queryParam("after"),
                    ctx.queryParam("limit") == null ? null : intParam(ctx, "limit", Hub.DEFAULT_LIMIT)));
        });
        routes.get(
                "/v1/projections/{name}/{key}",
                // Within the page budget, answer written: a state is up to 16 MiB, and any token may read one.
                ctx -> hub.withPageBudget(
                        principal(ctx).name(),
                        1 + Hub.STATE_PAGES,
                        () -> writeNow(
                                ctx,
                                200,
                                jsonBytes(hub.projectionState(
                                        ctx.pathParam("name"), ctx.pathParam("key"), principal(ctx))))));
        routes.get("/v1/audit", ctx -> {
            // The latest entries only: a ?from= taken silently would answer the wrong page.
            for (String parameter : ctx.queryParamMap().keySet()) {
                if (!parameter.isEmpty() && !parameter.equals("limit")) {
                    throw ApiException.badRequest("GET /v1/audit takes 'limit' only (the latest entries);"
                            + " page through the whole trail with GET /v1/streams/$audit?from=0&limit=N");
                }
            }
            ctx.json(events(hub.audit(intParam(ctx, "limit", Hub.DEFAULT_LIMIT), principal(ctx))));
        });
        routes.get(
                "/v1/policy",
                // The policy this server runs under, not the file as edited since.
                ctx -> ctx.contentType("application/yaml; charset=utf-8")
                        .result(lethe.policyText().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        routes.post("/v1/policy/check", ctx -> {
            // Its findings may quote stream ids that hold personal data: for those who govern the policy.
            require(ctx, dev.lethe.core.privacy.policy.DataPolicy.Permission.CHANGE_POLICY);
            List<PolicyLinter.Finding> findings = new java.util.ArrayList<>(PolicyLinter.check(
                    lethe.policy(),
                    lethe.privacy().schemas().all(),
                    dev.lethe.protobuf.ProtobufNotation::unreadMembers));
            findings.addAll(PolicyLinter.checkHistory(
                    lethe.policy(),
                    lethe.privacy().schemas().allVersions(),
                    lethe.privacy().keys().livePeriods()));
            long[] total = {findings.size()};
            long streams = 0;
            String streamsParam = ctx.queryParam("streams");
            if (streamsParam != null && !streamsParam.equals("true") && !streamsParam.equals("false")) {
                throw ApiException.badRequest("'streams' must be true or false");
            }
            if (!"false".equals(streamsParam)) {
                streams = PolicyLinter.checkStreamIds(
                        lethe.store(),
                        lethe.policy().numericIdCategories(),
                        finding -> {
                            total[0]++;
                            if (findings.size() < MAX_POLICY_FINDINGS) {
                                findings.add(finding);
                            }
                        },
                        scanned -> {});
            }
            ctx.json(Map.of(
                    "findings",
                    findings.stream()
                            .limit(MAX_POLICY_FINDINGS)
                            .map(f -> Map.of("subject", f.subject(), "problem", f.problem()))
                            .toList(),
                    "findingsTotal",
                    total[0],
                    "schemasChecked",
                    lethe.privacy().schemas().all().size(),
                    "streamsChecked",
                    streams,
                    "strict",
                    lethe.policy().strict()));
        });
        routes.post("/graphql", this::graphql);
        routes.get("/graphql", ctx -> {
            if (!ctx.queryParamMap().isEmpty()) {
                // A client set to send queries by GET would take the schema for its answer.
                throw new ApiException(
                        400,
                        "Bad request",
                        "GraphQL queries are sent by POST (application/json: {\"query\": …}); GET /graphql"
                                + " answers the schema (SDL) only");
            }
            ctx.contentType("text/plain").result(graphQl.sdl());
        });
        routes.before("/v1/subscribe", this::checkSubscription);
        routes.sse("/v1/subscribe", this::subscribe);
        routes.after("/v1/subscribe", this::releaseSubscriptionSlot); // a stream that never started
    }

    private void authenticate(Context ctx) {
        ctx.attribute("started", System.nanoTime());
        String declared = ctx.header("Content-Length");
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                throw ApiException.badRequest("Content-Length is not a number of bytes");
            }
            if (length > config.maxBodyBytes()) {
                // At once, rather than after waiting for a body that will be refused (or never comes).
                throw new ApiException(
                        413,
                        "Content too large",
                        "the body is " + length + " bytes; the limit is " + config.maxBodyBytes()
                                + " (maxBodyBytes in the server config)");
            }
        }
        String path = ctx.path();
        // Answers may hold decrypted personal data: no cache keeps a copy. Every path, not a list of them
        // (/graphql/ reaches the GraphQL handler too); GraphiQL's static assets set their own max-age.
        ctx.header("Cache-Control", "no-store");
        // Nor is an answer read as another type than it says, nor GraphiQL (its token box filled in demo mode)
        // shown inside another site's frame.
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("Content-Security-Policy", "frame-ancestors 'none'");
        // The router ignores a trailing slash: /metrics/ is /metrics, and needs no more token than it.
        String route = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
        boolean open = route.equals("/health")
                || route.startsWith("/health/")
                || route.equals("/metrics")
                || route.equals("/openapi.json");
        if (ctx.method().name().equals("HEAD") && !open) {
            // Jetty would answer a HEAD of any GET route 200 without running it: no token checked, no
            // permission, not even whether the path is valid.
            if (routeOf(path).equals("unmatched")) {
                throw ApiException.notFound("no route HEAD " + path + "; see /openapi.json for the API");
            }
            ctx.header("Allow", "GET");
            throw new ApiException(
                    405,
                    "Method not allowed",
                    "HEAD is answered on /health, /metrics and /openapi.json only: send GET");
        }
        if (open
                || path.startsWith("/graphiql")
                || (route.equals("/graphql") && ctx.method().name().equals("GET"))) {
            return;
        }
        if (java.util.Collections.list(ctx.req().getHeaders("Authorization")).size() > 1) {
            // One is allowed (RFC 9110 §11.6.2); which would a proxy in front have checked?
            ctx.attribute(REFUSAL, "several Authorization headers");
            throw new ApiException(400, "Bad request", "send one Authorization header, not several");
        }
        String header = ctx.header("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            ctx.header("WWW-Authenticate", "Bearer");
            ctx.attribute(REFUSAL, "no bearer token");
            throw ApiException.unauthorized("send 'Authorization: Bearer <token>'");
        }
        String token = header.substring(7).trim();
        Principal principal = config.tokens().get(token);
        if (principal == null && jwt != null && JwtVerifier.looksLikeJwt(token)) {
            try {
                principal = jwt.verify(token);
                if (mixesConfusableScripts(principal.name())) {
                    throw ApiException.unauthorized("JWT 'sub' mixes Latin letters with Cyrillic or Greek ones, which"
                            + " read alike: the audit trail could show it as another principal's name");
                }
                String name = comparable(principal.name());
                if (RESERVED_PRINCIPALS.contains(name)
                        || config.tokens().values().stream()
                                .anyMatch(p -> comparable(p.name()).equals(name))) {
                    // The trail names principals, and the in-progress limits count per name: a JWT subject must
                    // not pass for a static token's principal or Lethe's own (nor share their limits), spelt with
                    // other case or spaces around it either.
                    throw ApiException.unauthorized("JWT 'sub' names a principal a static token of this server, or"
                            + " Lethe itself (lethe, retention-scheduler, the command line's cli, the demo's"
                            + " demo-dpo), has; the audit trail could not tell them apart: give the identity"
                            + " provider's subjects other names, or rename the token's principal");
                }
                ctx.attribute(EXPIRES, JwtVerifier.expiry(token));
            } catch (RuntimeException refused) {
                ctx.header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
                ctx.attribute(REFUSAL, String.valueOf(refused.getMessage()));
                throw refused;
            }
        }
        if (principal == null) {
            ctx.header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
            ctx.attribute(REFUSAL, "unknown token");
            throw ApiException.unauthorized("unknown token");
        }
        if (!lethe.policy().roles().containsKey(principal.role())) {
            // Taking a role out of policy.yaml takes its access away: it read the log and the audit trail before.
            ctx.attribute(REFUSAL, "role not in the data policy");
            ctx.attribute(REFUSED_PRINCIPAL, principal); // named in the request's log line: whose token it was
            throw new ApiException(
                    403,
                    "Forbidden",
                    "role '" + principal.role() + "' is not declared in the data policy: it may do nothing here"
                            + " (declare it in policy.yaml, or give the token a role it declares)");
        }
        ctx.attribute("principal", principal);
        // Event streams are counted, and bounded, on their own ("/v1/subscribe/" reaches the stream route too).
        if (!path.replaceAll("/+$", "").equals("/v1/subscribe")) {
            String name = principal.name();
            int now = inFlight.merge(name, 1, Integer::sum);
            ctx.attribute(IN_FLIGHT, name);
            if (now > MAX_IN_FLIGHT_PER_PRINCIPAL) {
                releaseInFlight(ctx);
                ctx.header("Retry-After", "1");
                throw new ApiException(
                        429,
                        "Too many requests",
                        "principal " + name + " has " + MAX_IN_FLIGHT_PER_PRINCIPAL + " requests in progress, the"
                                + " most one principal may: retry once some have been answered");
            }
        }
    }

    private static Principal principal(Context ctx) {
        return Objects.requireNonNull(ctx.attribute("principal"));
    }

    /** The body as a JSON object with no members but {@code members}: one misspelt is refused, naming it. */
    private JsonNode body(Context ctx, String... members) {
        JsonNode node = body(ctx);
        for (java.util.Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!List.of(members).contains(name)) {
                throw ApiException.badRequest("the body has the unknown member "
                        + dev.lethe.core.privacy.policy.PolicyLinter.quotedName(name) + "; its members: "
                        + String.join(", ", members));
            }
        }
        return node;
    }

    private JsonNode body(Context ctx) {
        String contentType = ctx.contentType();
        if (contentType == null || !contentType.toLowerCase().startsWith("application/json")) {
            throw new ApiException(415, "Unsupported media type", "send the body as application/json");
        }
        // Held while the body is in use (released after the handler, before Javalin writes the answer; GraphQL,
        // which writes its own, releases it first): not while an answer is written to a client that may not read
        // it, where one token could hold it and every body of every principal wait. The raw share first, before
        // the bytes are read: requests waiting for their share must not each hold a body outside it.
        String declared = ctx.header("Content-Length");
        long raw = declared != null && declared.trim().matches("[0-9]{1,18}")
                ? Long.parseLong(declared.trim())
                : config.maxBodyBytes();
        takeParseBudget(ctx, raw * RAW_COPIES);
        boolean parsed = false;
        try {
            byte[] bytes = ctx.bodyAsBytes();
            long tokens = tokens(bytes);
            long tree = tokens * HEAP_BYTES_PER_TOKEN;
            if (tree > (long) parseBudgetKib() * 1024) {
                throw new ApiException(
                        413,
                        "Content too large",
                        "the body holds " + tokens + " JSON tokens, more than this server's memory takes in one"
                                + " request (about " + (long) parseBudgetKib() * 1024 / HEAP_BYTES_PER_TOKEN
                                + "): send fewer values at once");
            }
            takeParseBudget(ctx, tree);
            JsonNode node = Hub.JSON.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw ApiException.badRequest("the body must be a JSON object");
            }
            parsed = true;
            return node;
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed JSON: " + Json.describeError(e));
        } catch (NumberFormatException e) { // Jackson's reading of 1e99999999999
            throw ApiException.badRequest("malformed JSON: a number cannot be read (an exponent beyond ±999,999,999?)");
        } catch (IOException e) {
            throw ApiException.badRequest("cannot read the body: " + e.getMessage());
        } finally {
            if (!parsed) {
                releaseParseBudget(ctx);
            }
        }
    }

    /** The JSON tokens of {@code bytes}, counted by a streaming pass that builds nothing. */
    private static long tokens(byte[] bytes) throws IOException {
        long count = 0;
        try (com.fasterxml.jackson.core.JsonParser parser =
                Hub.JSON.getFactory().createParser(bytes)) {
            while (parser.nextToken() != null) {
                count++;
            }
        }
        return count;
    }

    private void append(Context ctx) {
        // Before the body is read and parsed: a token that may not append here costs the server nothing more.
        hub.requireMayAppend(principal(ctx), ctx.pathParam("stream"));
        JsonNode body = body(ctx, "expectedVersion", "events");
        AppendResult result = hub.append(
                principal(ctx),
                ctx.pathParam("stream"),
                body.get("expectedVersion"),
                body.get("events"),
                Hub.rawMembers(ctx.bodyAsBytes()));
        ctx.status(201).json(Hub.appendJson(result));
    }

    private void readStream(Context ctx) {
        String direction = ctx.queryParam("direction");
        Direction dir;
        if (direction == null || direction.equalsIgnoreCase("forward")) {
            dir = Direction.FORWARD;
        } else if (direction.equalsIgnoreCase("backward")) {
            dir = Direction.BACKWARD;
        } else {
            throw ApiException.badRequest("direction '" + direction + "' must be forward or backward");
        }
        long from = longParam(ctx, "from", dir == Direction.FORWARD ? 0 : Long.MAX_VALUE);
        int limit = intParam(ctx, "limit", Hub.DEFAULT_LIMIT);
        String asOf = ctx.queryParam("asOf");
        if (asOf != null && dir == Direction.BACKWARD) {
            throw ApiException.badRequest("asOf reads forward");
        }
        int pageSize = Hub.limit(limit);
        long start = asOf != null && from == Long.MAX_VALUE ? 0 : from;
        hub.withPageBudget(
                principal(ctx).name(), () -> writeNow(ctx, 200, streamPage(ctx, start, pageSize, dir, asOf)));
    }

    /**
     * Writes a JSON answer before the handler returns, so that it is sent while the page budget is held: a
     * client that does not read would otherwise keep its page in the heap outside the budget (Javalin writes
     * a result after the handler).
     */
    private static Void writeNow(Context ctx, int status, byte[] json) {
        ctx.status(status);
        ctx.res().setContentType("application/json");
        ctx.res().setContentLength(json.length);
        try {
            ctx.res().getOutputStream().write(json);
            ctx.res().flushBuffer();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // the client went away
        }
        return null;
    }

    /** A page of a stream, written out as JSON (within the page budget: the bytes are what the heap holds). */
    private byte[] streamPage(Context ctx, long from, int pageSize, Direction dir, String asOf) {
        Hub.Page read =
                hub.readStreamPage(ctx.pathParam("stream"), from, pageSize, dir, asOf, principal(ctx), event -> true);
        List<dev.lethe.core.privacy.RevealedEvent> page = read.events();
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("stream", ctx.pathParam("stream"));
        body.put("events", events(page));
        if (page.size() == pageSize || (read.cut() && !page.isEmpty())) {
            // A full page, or one that ended at its size: there may be more. The next page's ?from= (with the
            // same direction and asOf).
            long last = page.get(page.size() - 1).event().version();
            long next = dir == Direction.FORWARD ? last + 1 : last - 1;
            if (next >= 0) {
                body.put("next", next);
            }
        }
        return jsonBytes(body);
    }

    private static byte[] jsonBytes(Object body) {
        try {
            return Hub.JSON.writeValueAsBytes(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * A page of the log. {@code after} (the {@code next} of the previous page: "position:event id:recorded
     * instant") goes on after that event, once it is checked that the log still holds it there; {@code
     * from} (a bare position) is not checked.
     */
    private void readLog(Context ctx) {
        String category = ctx.queryParam("category");
        String after = ctx.queryParam("after");
        long from;
        if (after != null) {
            if (ctx.queryParam("from") != null) {
                throw ApiException.badRequest(
                        "give from or after, not both (after, the next of the page before, is checked against the log)");
            }
            from = dev.lethe.server.LogCursor.next(lethe.store(), "after", after, "read on with ?from=");
        } else {
            from = Hub.logFrom(lethe.store(), longParam(ctx, "from", 0));
        }
        int limit = Hub.limit(intParam(ctx, "limit", Hub.DEFAULT_LIMIT));
        Principal who = principal(ctx);
        hub.withPageBudget(who.name(), () -> {
            List<dev.lethe.core.privacy.RevealedEvent> page = hub.readLog(category, from, limit, who);
            Map<String, Object> body = new java.util.LinkedHashMap<>();
            body.put("events", events(page));
            if (!page.isEmpty()) {
                // The next page's ?after=: it checks that the log still holds this page's last event.
                body.put(
                        "next",
                        dev.lethe.server.LogCursor.of(page.get(page.size() - 1).event()));
            }
            return writeNow(ctx, 200, jsonBytes(body));
        });
    }

    private static ArrayNode events(List<dev.lethe.core.privacy.RevealedEvent> events) {
        ArrayNode array = Hub.JSON.createArrayNode();
        events.forEach(e -> array.add(Hub.eventJson(e)));
        return array;
    }

    private void registerSchema(Context ctx) {
        // Checked again by registerSchema; checked first so that a refused caller learns nothing of the body.
        require(ctx, dev.lethe.core.privacy.policy.DataPolicy.Permission.CHANGE_POLICY);
        JsonNode body = body(ctx, "eventType", "notation", "schema", "descriptorSet", "message", "declassify");
        String type = text(body, "eventType");
        java.util.Set<String> declassify = new java.util.TreeSet<>();
        JsonNode asked = body.path("declassify");
        if (!asked.isMissingNode() && !asked.isNull()) {
            if (!asked.isArray()) {
                throw ApiException.badRequest("'declassify' must be an array of field paths");
            }
            for (JsonNode path : asked) {
                if (!path.isTextual()) {
                    throw ApiException.badRequest("'declassify' must be an array of field paths");
                }
                declassify.add(path.asText());
            }
        }
        String notation = body.path("notation").asText("json-schema");
        java.util.Optional<dev.lethe.core.privacy.SchemaRegistry.Registered> before =
                lethe.privacy().schemas().latest(type);
        dev.lethe.core.privacy.SchemaRegistry.Registered registered;
        dev.lethe.core.store.EventData.of(type, dev.lethe.core.store.Json.EMPTY_OBJECT);
        switch (notation) {
            case "json-schema" -> {
                JsonNode schema = body.get("schema");
                registered = lethe.privacy()
                        .registerSchema(
                                principal(ctx),
                                dev.lethe.core.privacy.schema.JsonSchemaNotation.read(type, schema),
                                dev.lethe.core.privacy.SchemaRegistry.Notation.JSON_SCHEMA,
                                dev.lethe.core.privacy.SchemaRegistry.propertyPaths(schema),
                                dev.lethe.core.store.Json.of(schema),
                                declassify);
            }
            case "protobuf" -> {
                byte[] set;
                try {
                    set = java.util.Base64.getDecoder().decode(text(body, "descriptorSet"));
                } catch (IllegalArgumentException e) {
                    throw ApiException.badRequest("descriptorSet must be base64: " + e.getMessage());
                }
                String message = text(body, "message");
                registered = lethe.privacy()
                        .registerSchema(
                                principal(ctx),
                                dev.lethe.protobuf.ProtobufNotation.read(type, set, message),
                                dev.lethe.core.privacy.SchemaRegistry.Notation.PROTOBUF,
                                dev.lethe.protobuf.ProtobufNotation.allPaths(type, set, message),
                                dev.lethe.protobuf.ProtobufNotation.sameAsEarlier(
                                        dev.lethe.protobuf.ProtobufNotation.source(type, set, message),
                                        before.map(dev.lethe.core.privacy.SchemaRegistry.Registered::source)),
                                declassify);
            }
            default -> throw ApiException.badRequest("notation '" + notation + "' must be json-schema or protobuf");
        }
        java.util.Optional<dev.lethe.core.privacy.SchemaRegistry.Registered> earlier =
                before.filter(e -> e.version() != registered.version());
        Map<String, Object> answer = new java.util.LinkedHashMap<>();
        answer.put("eventType", type);
        answer.put("version", registered.version());
        answer.put(
                "findings",
                PolicyLinter.check(
                                lethe.policy(), List.of(registered), dev.lethe.protobuf.ProtobufNotation::unreadMembers)
                        .stream()
                        .map(Object::toString)
                        .toList());
        // Fields the previous version encrypted that new events store in plaintext.
        answer.put(
                "noLongerPersonal",
                earlier.map(e -> dev.lethe.core.privacy.PrivateEventStore.noLongerPersonal(e, registered))
                        .orElse(List.of()));
        // Other key fields: a person appended under both versions is two subjects.
        earlier.flatMap(e -> dev.lethe.core.privacy.PrivateEventStore.keyFieldsChanged(e, registered))
                .ifPresent(change -> answer.put(
                        "keyFieldsChanged",
                        Map.of(
                                "before", change.before(),
                                "after", change.after(),
                                "warning", change.warning(registered))));
        // Newly personal fields: events stored before keep them in plaintext.
        earlier.ifPresent(e -> {
            List<String> added = dev.lethe.core.privacy.PrivateEventStore.newlyPersonal(e, registered);
            if (!added.isEmpty()) {
                answer.put(
                        "newlyPersonal",
                        Map.of(
                                "fields",
                                added,
                                "warning",
                                dev.lethe.core.privacy.PrivateEventStore.newlyPersonalWarning(e, registered, added)));
            }
        });
        // A type's first version: the events stored before it hold what it classifies as written.
        lethe.privacy()
                .storedWithoutSchemaAtFirstVersion(type)
                .filter(stored -> before.isEmpty())
                .ifPresent(stored -> answer.put(
                        "storedWithoutSchema",
                        Map.of(
                                "events", stored.events(),
                                "lookedAt", stored.lookedAt(),
                                "warning", stored.warning(registered))));
        // Personal fields moved to other groups or owners: the values stored before stay sealed as they were.
        earlier.ifPresent(e -> {
            List<dev.lethe.core.privacy.PrivateEventStore.ClassificationChange> changes =
                    dev.lethe.core.privacy.PrivateEventStore.classificationChanged(e, registered);
            if (!changes.isEmpty()) {
                answer.put(
                        "classificationChanged",
                        Map.of(
                                "fields",
                                changes,
                                "warning",
                                dev.lethe.core.privacy.PrivateEventStore.classificationWarning(
                                        e, registered, changes)));
            }
        });
        ctx.status(201).json(answer);
    }

    /**
     * Looks a natural key's subject up (404 when it has none); with {@code "create": true}, creates it
     * when it has none (201, audited as {@code SubjectCreated}).
     */
    private void createSubject(Context ctx) {
        require(ctx, dev.lethe.core.privacy.policy.DataPolicy.Permission.EXPORT);
        JsonNode body = body(ctx, "naturalKey", "create");
        String naturalKey = text(body, "naturalKey");
        JsonNode create = body.path("create");
        if (!create.isMissingNode() && !create.isNull() && !create.isBoolean()) {
            throw ApiException.badRequest("'create' must be true or false");
        }
        if (create.asBoolean(false)) {
            var resolved = lethe.privacy().subjectFor(naturalKey, principal(ctx));
            ctx.status(resolved.created() ? 201 : 200)
                    .json(Map.of(
                            "subject",
                            resolved.subject().toString(),
                            "created",
                            resolved.created(),
                            "forgotten",
                            lethe.privacy().keys().isForgotten(resolved.subject())));
            return;
        }
        SubjectId found = lethe.privacy()
                .lookup(naturalKey, principal(ctx))
                .orElseThrow(() -> ApiException.notFound("no subject has this natural key (never used, or forgotten"
                        + lethe.privacy().schemas().keyFieldsHint()
                        + "); send \"create\": true to create one"
                        + dev.lethe.core.privacy.PrivacyCodec.numberLookupHint(naturalKey)));
        ctx.json(Map.of(
                "subject",
                found.toString(),
                "created",
                false,
                "forgotten",
                lethe.privacy().keys().isForgotten(found)));
    }

    private void forget(Context ctx) {
        // A misspelt "at" must not turn a scheduled forget into an immediate one.
        JsonNode body = body(ctx, "legalBasis", "reason", "at");
        if (body.hasNonNull("at")) { // an explicit null, as typed clients send, is no date
            scheduleForget(ctx, body);
            return;
        }
        ErasureReceipt receipt = lethe.privacy()
                .forget(
                        SubjectId.parse(ctx.pathParam("id")),
                        text(body, "legalBasis"),
                        body.path("reason").asText(null),
                        principal(ctx));
        hub.forgotten(receipt, log);
        // As GET /v1/receipts lists it, with the store it was made in, and what the forget did not reach.
        Map<String, Object> answer = receipt.asMap(lethe.storeId());
        answer.put("plaintextKeyFields", lethe.privacy().schemas().plaintextNaturalKeyFields());
        ctx.json(answer);
    }

    /** A forget at a date ({@code at}): 202 with the schedule, which a retention run carries out when due. */
    private void scheduleForget(Context ctx, JsonNode body) {
        if (body.hasNonNull("reason")) {
            throw ApiException.badRequest(
                    "'reason' is not kept for a scheduled forget (its receipt says who scheduled it); leave it out with 'at'");
        }
        var schedule = hub.scheduled(
                lethe.privacy()
                        .scheduleForget(
                                SubjectId.parse(ctx.pathParam("id")),
                                dev.lethe.server.Instants.parseDeadline("at", text(body, "at")),
                                text(body, "legalBasis"),
                                principal(ctx)),
                log);
        Map<String, Object> answer = new java.util.LinkedHashMap<>(schedule.asMap());
        if (schedule.at().isBefore(java.time.Instant.now())) {
            // As the command line warns: a date given wrong (a past year) forgets for good within the hour.
            answer.put(
                    "warning",
                    "at is in the past: the forget happens at the next retention run (within the hour); cancel it"
                            + " with POST /v1/scheduled-forgets/" + schedule.id() + "/cancel if that is not meant");
        }
        ctx.status(202).json(answer);
    }

    private void scheduledForgets(Context ctx) {
        String subject = ctx.queryParam("subject");
        ctx.json(
                lethe
                        .privacy()
                        .scheduledForgets(subject == null ? null : SubjectId.parse(subject), principal(ctx))
                        .stream()
                        .map(dev.lethe.core.privacy.PrivateEventStore.ScheduledForget::asMap)
                        .toList());
    }

    private void cancelScheduledForget(Context ctx) {
        JsonNode body = body(ctx, "reason");
        var cancel = hub.cancelled(
                lethe.privacy().cancelScheduledForget(ctx.pathParam("id"), text(body, "reason"), principal(ctx)), log);
        ctx.json(cancel.asMap());
    }

    /**
     * What retention runs will destroy, and when (as {@code lethe retention plan}): every live period key
     * with the end of its retention and whether a run as of {@code now} (default: now) destroys it; the
     * scheduled forgets due by then, for a role with the forget permission (else absent). Destroys nothing.
     */
    private void retentionPlan(Context ctx) {
        ctx.json(hub.retentionPlan(ctx.queryParam("now"), principal(ctx)));
    }

    private void receipts(Context ctx) {
        String subject = ctx.queryParam("subject");
        java.util.Optional<String> store = lethe.storeId();
        ctx.json(lethe.privacy().receipts(subject == null ? null : SubjectId.parse(subject), principal(ctx)).stream()
                .map(receipt -> receipt.asMap(store))
                .toList());
    }

    /**
     * Streamed, one event at a time: a subject with a million events costs no more memory than one with
     * ten. Every check is made before the first byte (a refusal is a problem as usual); a failure after it
     * (the client gone, the disk) cuts the JSON short, so the client sees it is incomplete.
     */
    private void export(Context ctx) {
        SubjectId subject = SubjectId.parse(ctx.pathParam("id"));
        StreamedAnswer body = new StreamedAnswer(ctx);
        java.io.Writer json = new java.io.OutputStreamWriter(body, StandardCharsets.UTF_8);
        try {
            PrivateEventStore.Exported exported =
                    lethe.privacy().exportTo(subject, principal(ctx), (reached, end) -> {}, json, false);
            json.flush();
            body.finish();
            if (exported.tamperedFields() > 0) {
                // The answer is sent (the fields read null, as tampered): the operator hears of it here.
                PrivateEventStore.Exported.TamperedField first =
                        exported.tampered().get(0);
                log.warn(
                        "exported personal fields failed authentication (altered, or copied from elsewhere): their"
                                + " stored bytes were changed outside Lethe; find out how",
                        Map.of(
                                "subject", subject.toString(),
                                "tamperedFields", exported.tamperedFields(),
                                "firstEvent", first.event().toString(),
                                "firstPath", first.path()));
            }
        } catch (RuntimeException | IOException e) {
            if (body.started()) {
                ctx.attribute(CUT_SHORT, true); // no problem appended to what was sent: the JSON stays unfinished
            }
            throw e instanceof IOException io ? new java.io.UncheckedIOException(io) : (RuntimeException) e;
        }
    }

    /**
     * Principals a JWT's {@code sub} may not name, {@link #comparable}: Lethe's own, the command line's default
     * ({@code --user} unset, no {@code $USER}) and the demo's, which the audit trail names.
     */
    private static final java.util.Set<String> RESERVED_PRINCIPALS = java.util.Set.of(
            comparable(Principal.SYSTEM.name()),
            comparable(dev.lethe.core.privacy.RetentionScheduler.SCHEDULER.name()),
            "cli",
            "demo-dpo");

    /**
     * A principal's name as a reader of the audit trail compares it: in Unicode compatibility form (full-width
     * letters as letters, a no-break space as a space), without case or surrounding spaces of any kind.
     */
    static String comparable(String name) {
        String normal = java.text.Normalizer.normalize(name, java.text.Normalizer.Form.NFKC);
        int start = 0;
        int end = normal.length();
        while (start < end && isSpace(normal.charAt(start))) {
            start++;
        }
        while (end > start && isSpace(normal.charAt(end - 1))) {
            end--;
        }
        return normal.substring(start, end).toLowerCase(java.util.Locale.ROOT);
    }

    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    /**
     * Whether a name mixes Latin letters with Cyrillic or Greek ones ({@code dorа} with a Cyrillic {@code а}):
     * the scripts whose letters look alike, which Unicode's security mechanisms (UTS #39) do not let one
     * identifier mix. Latin beside Han, Hiragana, Katakana or Hangul is allowed.
     */
    static boolean mixesConfusableScripts(String name) {
        boolean latin = false;
        boolean confusable = false;
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            i += Character.charCount(c);
            Character.UnicodeScript script = Character.UnicodeScript.of(c);
            latin |= script == Character.UnicodeScript.LATIN;
            confusable |= script == Character.UnicodeScript.CYRILLIC || script == Character.UnicodeScript.GREEK;
        }
        return latin && confusable;
    }

    /** Set on a streamed answer that failed after its first bytes were sent: no problem is written after them. */
    private static final String CUT_SHORT = "cut-short";

    /**
     * An answer's bytes, held back until {@value #HELD_BACK} of them (or the end) so that a failure early on
     * is a clean problem, then streamed: the response starts only when they are written.
     */
    private static final class StreamedAnswer extends OutputStream {
        static final int HELD_BACK = 64 * 1024;
        private final Context ctx;
        private final java.io.ByteArrayOutputStream held = new java.io.ByteArrayOutputStream();
        private OutputStream out;

        StreamedAnswer(Context ctx) {
            this.ctx = ctx;
        }

        boolean started() {
            return out != null;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            if (out == null && held.size() + length <= HELD_BACK) {
                held.write(bytes, offset, length);
                return;
            }
            start().write(bytes, offset, length);
        }

        private OutputStream start() throws IOException {
            if (out == null) {
                ctx.contentType("application/json");
                out = ctx.outputStream();
                held.writeTo(out);
                held.reset();
            }
            return out;
        }

        /** The end of the answer: what is still held back is written. */
        void finish() throws IOException {
            start().flush();
        }
    }

    private void listProjections(Context ctx) {
        long head = lethe.store().headPosition();
        Map<String, dev.lethe.core.projection.ProjectionStatus> running = new java.util.HashMap<>();
        projections.statuses().forEach(status -> running.put(status.name(), status));
        List<Map<String, Object>> listed = lethe.projections().list().stream()
                .map(p -> {
                    Map<String, Object> entry = new java.util.LinkedHashMap<>();
                    entry.put("name", p.name());
                    dev.lethe.core.projection.ProjectionStatus status = running.get(p.name());
                    // "stored" when this server does not run it: its states are what an earlier run left.
                    entry.put(
                            "phase", status == null ? "stored" : status.phase().name());
                    if (status != null) {
                        status.failure().ifPresent(failure -> entry.put("failure", failure));
                    }
                    entry.put("checkpoint", p.nextPosition());
                    // Not this log's states (a read model restored from another copy): no lag to give.
                    dev.lethe.core.subscription.CheckpointFit fit = p.fit(lethe.store());
                    entry.put("fit", fit.name());
                    entry.put(
                            "lag",
                            fit == dev.lethe.core.subscription.CheckpointFit.FITS
                                    // Running: where it has read to, events of other categories included,
                                    // which its stored checkpoint passes only with its next commit.
                                    ? Math.max(
                                            0,
                                            head
                                                    + 1
                                                    - Math.max(
                                                            p.nextPosition(),
                                                            status == null ? 0 : status.nextPosition()))
                                    : null);
                    entry.put("keys", p.keyCount());
                    entry.put("updatedAt", p.updatedAt().toString());
                    entry.put("href", "/v1/projections/" + p.name() + "/{key}");
                    return entry;
                })
                .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
        // One that failed before its first commit has no stored row: listed from its status.
        running.values().stream()
                .filter(status ->
                        listed.stream().noneMatch(entry -> entry.get("name").equals(status.name())))
                .forEach(status -> {
                    Map<String, Object> entry = new java.util.LinkedHashMap<>();
                    entry.put("name", status.name());
                    entry.put("phase", status.phase().name());
                    status.failure().ifPresent(failure -> entry.put("failure", failure));
                    entry.put("checkpoint", status.nextPosition());
                    entry.put("fit", dev.lethe.core.subscription.CheckpointFit.FITS.name());
                    entry.put("lag", Math.max(0, head + 1 - status.nextPosition()));
                    entry.put("keys", 0);
                    entry.put("href", "/v1/projections/" + status.name() + "/{key}");
                    listed.add(entry);
                });
        ctx.json(listed);
    }

    /** A GraphQL request as read from its body, whose tree is then no longer referenced. */
    private static final class GraphQlRequest {
        /** Cleared once the query has run, as {@link #variables}. */
        String query;

        final String operationName;
        /** Cleared once the query has run: not kept while its answer is written. */
        Map<String, Object> variables;

        GraphQlRequest(String query, String operationName, Map<String, Object> variables) {
            this.query = query;
            this.operationName = operationName;
            this.variables = variables;
        }
    }

    private GraphQlRequest graphQlRequest(Context ctx) {
        JsonNode body = body(ctx, "query", "variables", "operationName", "extensions");
        JsonNode query = body.get("query");
        if (query == null || !query.isTextual()) {
            throw ApiException.badRequest("the body needs a 'query' string");
        }
        if (body.hasNonNull("variables") && !body.get("variables").isObject()) {
            throw ApiException.badRequest("'variables' must be a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> variables =
                body.hasNonNull("variables") ? Hub.JSON.convertValue(body.get("variables"), Map.class) : Map.of();
        String operationName = body.path("operationName").asText(null);
        if (operationName != null && operationName.length() > 1_000) {
            // graphql-java quotes an unknown one whole in its error: an answer as large as the request.
            throw ApiException.badRequest("'operationName' is " + operationName.length()
                    + " characters long; an operation's name is at most 1000");
        }
        return new GraphQlRequest(query.asText(), operationName, variables);
    }

    private void graphql(Context ctx) {
        GraphQlRequest request = graphQlRequest(ctx);
        String operationName = request.operationName;
        // Within the page budget, answer written: a query may read pages of events (its events fields), and
        // read-model states (its projection fields), each taking more turns, all taken before it runs.
        GraphQlApi.Reads reads = graphQl.reads(request.query, operationName, request.variables);
        int states = reads.states();
        // One turn per page of events (events and audit fields, by what their limits can read: small ones share
        // one), at least one, and STATE_PAGES per state. Refused: more states, or more pages of events, than a
        // request may take; a mix of both over it takes what a request may (withPageBudget caps it).
        int turns = Math.max(1, reads.eventPages()) + states * Hub.STATE_PAGES;
        if ((states > 1 && 1 + states * Hub.STATE_PAGES > hub.turnsPerRequest())
                || reads.eventPages() > hub.turnsPerRequest()) {
            throw new ApiException(
                    413,
                    "Content too large",
                    "this query reads " + reads.eventPages() + " page(s) of events and " + states
                            + " read-model state(s) at once, more than this server's memory allows one request ("
                            + hub.turnsPerRequest() + " pages, a state counting " + Hub.STATE_PAGES
                            + "): ask for fewer events, audit, projection and dataJourney fields in one query");
        }
        hub.withPageBudget(principal(ctx).name(), turns, () -> answerGraphQl(ctx, request));
    }

    private Void answerGraphQl(Context ctx, GraphQlRequest request) {
        GraphQlApi.Mutations mutations = new GraphQlApi.Mutations();
        ExecutionResult result =
                graphQl.execute(request.query, request.operationName, request.variables, principal(ctx), mutations);
        Map<String, String> variableTypes = result.getErrors().stream()
                        .anyMatch(error ->
                                error.getMessage() != null && error.getMessage().startsWith("Variable '"))
                ? GraphQlApi.variableTypes(request.query, request.operationName)
                : Map.of();
        // The body is used: neither it nor its share of the budget is held while the answer goes to a client
        // that may not read it.
        request.variables = null;
        request.query = null;
        releaseParseBudget(ctx);
        metrics.count("graphql_queries", 1);
        if (result.getErrors().stream()
                .anyMatch(error -> error instanceof graphql.ExceptionWhileDataFetching fetching
                        && outOfMemoryIn(fetching.getException()))) {
            outOfMemory.run();
        }
        // Refused for want of a permission, as REST answers it: 403, not "bad request" — also when the
        // refused fields are nullable (subject(naturalKey), the mutations), so that data is there with every
        // field null. A request some of whose fields were answered is a 200 with the errors of the others: a
        // mutation before a refused one stays committed, and a 4xx would tell a client it was not.
        Object data = result.getData();
        // For mutations, whether one went through (a __typename beside them answers nothing about them);
        // for a query, whether any field was answered.
        // A field that answered null without an error (no subject for that natural key) was answered.
        java.util.Set<Object> failedFields = result.getErrors().stream()
                .map(graphql.GraphQLError::getPath)
                .filter(path -> path != null && !path.isEmpty())
                .map(path -> path.get(0))
                .collect(java.util.stream.Collectors.toSet());
        boolean nothing = mutations.ran
                ? !mutations.succeeded
                : data == null
                        || (data instanceof Map<?, ?> fields
                                && !fields.isEmpty()
                                && fields.keySet().stream().allMatch(failedFields::contains));
        // A query's field that failed is a 200 with its error, as GraphQL has it, when another was answered; a
        // request none of whose fields answered (a nullable one failing alone) or none of whose mutations went
        // through is a 4xx, as one non-null field or mutation refused was.
        boolean invalid = !result.getErrors().isEmpty() && (data == null || nothing);
        List<graphql.GraphQLError> reasons = result.getErrors().stream()
                .filter(error -> !(error instanceof graphql.ExceptionWhileDataFetching fetching
                        && fetching.getException() instanceof GraphQlApi.NotRun))
                .toList();
        boolean denied = nothing
                && !reasons.isEmpty()
                && reasons.stream()
                        .allMatch(error -> error instanceof graphql.ExceptionWhileDataFetching fetching
                                && fetching.getException() instanceof AccessDeniedException);
        // Nothing answered because the server could not (a busy or full disk, the master key out of reach): a
        // 503 to retry, or a 500, as REST answers them — not a 400 that tells the client its request was wrong.
        java.util.function.Predicate<Throwable> transientFailure =
                e -> e instanceof LetheException lethe && lethe.isTransient();
        boolean unavailable = nothing
                && !reasons.isEmpty()
                && reasons.stream()
                        .allMatch(error -> error instanceof graphql.ExceptionWhileDataFetching fetching
                                && transientFailure.test(fetching.getException()));
        // Stored data that cannot be read (a state or event altered, or a value copied from elsewhere): the
        // server's 500, as REST answers it, not a 400 that blames the request.
        boolean broken = nothing
                && reasons.stream()
                        .anyMatch(error -> error instanceof graphql.ExceptionWhileDataFetching fetching
                                && ((fetching.getException() instanceof dev.lethe.core.store.StorageException storage
                                                && !storage.isTransient())
                                        || fetching.getException()
                                                instanceof dev.lethe.core.privacy.TamperedDataException));
        // Said in the log as REST's 503s and 500s are: an operator alerting on the log hears of a disk quota or
        // an I/O error whether the clients use REST or GraphQL. By class and Lethe's own message (never a value).
        // The errors that answer UNAVAILABLE or INTERNAL_SERVER_ERROR: those REST answers 503 or 500.
        result.getErrors().stream()
                .filter(error -> error instanceof graphql.ExceptionWhileDataFetching)
                .map(error -> ((graphql.ExceptionWhileDataFetching) error).getException())
                .filter(e -> !(e instanceof ApiException)
                        && List.of("UNAVAILABLE", "INTERNAL_SERVER_ERROR").contains(GraphQlErrors.codeOf(e)))
                .forEach(e -> {
                    if (e instanceof LetheException lethe) {
                        logFailure(lethe, "POST /graphql");
                    } else {
                        // As REST says one it did not foresee: by class only (its message could quote data).
                        log.error(
                                "unexpected error", Map.of("error", e.getClass().getName(), "route", "POST /graphql"));
                    }
                });
        int status = denied ? 403 : unavailable ? 503 : broken ? 500 : invalid ? 400 : 200;
        if (status == 503) {
            ctx.header("Retry-After", "2");
        }
        return writeNow(
                ctx,
                status,
                jsonBytes(GraphQlErrors.forClient(result.toSpecification(), result.getErrors(), variableTypes)));
    }

    /** Checks the subscription's parameters before the event stream starts: afterwards only a 200 is possible. */
    private void checkSubscription(Context ctx) {
        String accept = ctx.header("Accept");
        if (accept == null || !accept.contains("text/event-stream")) {
            // Javalin's SSE route answers anything else with an empty 200: a client would wait for nothing.
            throw new ApiException(
                    406, "Not acceptable", "this is a server-sent event stream: send 'Accept: text/event-stream'");
        }
        subscriptionRequest(ctx);
        // Slots are taken here, at once (checked and counted in one step: requests that arrive together
        // cannot all pass the check), and given back when the stream ends (subscribe) or never starts (after).
        if (openSubscriptions.incrementAndGet() > MAX_SUBSCRIPTIONS) {
            openSubscriptions.decrementAndGet();
            ctx.header("Retry-After", Long.toString(KEEP_ALIVE_SECONDS));
            throw new ApiException(
                    503,
                    "Service unavailable",
                    "this server has " + MAX_SUBSCRIPTIONS + " event streams open, its limit; retry once some have"
                            + " closed");
        }
        String name = principal(ctx).name();
        boolean[] full = {false};
        subscriptionsByPrincipal.compute(name, (key, open) -> {
            int now = open == null ? 0 : open;
            full[0] = now >= MAX_SUBSCRIPTIONS_PER_PRINCIPAL;
            return full[0] ? open : now + 1;
        });
        if (full[0]) {
            openSubscriptions.decrementAndGet();
            ctx.header("Retry-After", Long.toString(KEEP_ALIVE_SECONDS));
            throw new ApiException(
                    429,
                    "Too many requests",
                    "principal " + name + " has " + MAX_SUBSCRIPTIONS_PER_PRINCIPAL + " event streams open, the"
                            + " limit for one principal; close some (a client that reconnects without closing its"
                            + " old streams?) or give each consumer its own token");
        }
        ctx.attribute(SUBSCRIPTION_SLOT, new java.util.concurrent.atomic.AtomicReference<>(name));
    }

    /** The request attribute holding a stream's slot: the principal's name until the slot is given back. */
    private static final String SUBSCRIPTION_SLOT = "subscription-slot";

    /** Gives back the slots {@link #checkSubscription} took for this request, once. */
    private void releaseSubscriptionSlot(Context ctx) {
        java.util.concurrent.atomic.AtomicReference<String> slot = ctx.attribute(SUBSCRIPTION_SLOT);
        String name = slot == null ? null : slot.getAndSet(null);
        if (name != null) {
            openSubscriptions.decrementAndGet();
            subscriptionsByPrincipal.computeIfPresent(name, (key, open) -> open == 1 ? null : open - 1);
        }
    }

    private SubscriptionRequest subscriptionRequest(Context ctx) {
        String lastEventId = ctx.header("Last-Event-ID");
        String category = ctx.queryParam("category");
        long from;
        if (lastEventId != null && lastEventId.indexOf(':') >= 0) {
            // "position:event id:recorded instant", as this server sends them: checked as ?after= checks a
            // cursor (a 409 when the log no longer holds that event there, past its head too).
            from = dev.lethe.server.LogCursor.next(
                    lethe.store(),
                    "Last-Event-ID",
                    lastEventId,
                    "subscribe again" + (category == null ? "" : " to ?category=" + category) + " with ?from=");
        } else {
            // A bare position (clients of earlier releases) is not checked.
            if (lastEventId != null) {
                long last = parseLong("Last-Event-ID", lastEventId);
                if (last < -1 || last == Long.MAX_VALUE) {
                    throw ApiException.badRequest("Last-Event-ID " + last + " is not a position");
                }
                from = last + 1;
            } else {
                from = longParam(ctx, "from", SubscriptionRequest.FROM_END);
            }
            long head = lethe.store().headPosition();
            if (from > head + 1) {
                throw ApiException.badRequest((lastEventId != null ? "Last-Event-ID " + (from - 1) : "from " + from)
                        + " is past the log's head (" + head + "): the events appended next would be skipped;"
                        + " subscribe from at most " + (head + 1)
                        + " (a position kept from before the log was restored from an older copy?)");
            }
        }
        return (category == null ? SubscriptionRequest.allFromStart() : SubscriptionRequest.categoryFromStart(category))
                .from(from);
    }

    private void subscribe(SseClient client) {
        Context ctx = client.ctx();
        Principal principal = principal(ctx);
        // A JWT's exp ends the stream, as it would refuse a new request; the client reconnects with a new
        // token and Last-Event-ID, losing nothing.
        java.time.Instant expires = ctx.attribute(EXPIRES);
        SubscriptionRequest request = subscriptionRequest(ctx);
        CountDownLatch closed = new CountDownLatch(1);
        Subscription subscription = null;
        sseClients.add(client);
        // Events are written from the subscription's thread, comments from this one: one write at a time (Javalin
        // serialises its event writes, not its comments), and no keep-alive behind a write a slow reader holds up.
        java.util.concurrent.locks.ReentrantLock writing = new java.util.concurrent.locks.ReentrantLock();
        try {
            client.keepAlive();
            // The response's headers go now, not with the first event or keep-alive (up to 15 s away): a client
            // knows at once that it is subscribed.
            client.sendComment("subscribed");
            metrics.count("subscriptions", 1);
            client.onClose(closed::countDown); // before subscribing: a client gone meanwhile is seen at once
            subscription = lethe.store().subscribe(request, event -> {
                if (client.terminated() || expired(expires)) {
                    closed.countDown();
                    return;
                }
                String data =
                        Hub.eventJson(lethe.privacy().reveal(event, principal)).toString();
                // The id is the position and, as a witness, the event's id and recorded instant: a reconnect
                // checks that the log still holds that event there.
                writing.lock();
                try {
                    client.sendEvent(event.type(), data, dev.lethe.server.LogCursor.of(event));
                } finally {
                    writing.unlock();
                }
            });
            while (!closed.await(untilNextCheck(expires), java.util.concurrent.TimeUnit.MILLISECONDS)) {
                if (subscription.failure().isPresent() || client.terminated() || expired(expires)) {
                    break;
                }
                // A comment line: it finds a client that went away while no event was due. Skipped while an event
                // is being written: that write finds it.
                if (writing.tryLock()) {
                    try {
                        client.sendComment("keep-alive");
                    } finally {
                        writing.unlock();
                    }
                }
            }
            subscription
                    .failure()
                    .ifPresent(failure -> log.warn(
                            "event stream ended: its subscription failed",
                            Map.of(
                                    "principal",
                                    principal.name(),
                                    "failure",
                                    failure instanceof dev.lethe.core.store.LetheException
                                            ? failure.getMessage()
                                            : failure.getClass().getName())));
            if (expired(expires) && !client.terminated()) {
                if (subscription != null) {
                    subscription.close(); // no event after the comment that ends the stream
                }
                writing.lock();
                try {
                    client.sendComment("the token has expired: reconnect with a new one and Last-Event-ID");
                } finally {
                    writing.unlock();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (subscription != null) {
                subscription.close();
            }
            sseClients.remove(client);
            releaseSubscriptionSlot(ctx);
            client.close();
        }
    }

    private static boolean expired(java.time.Instant expires) {
        return expires != null && !java.time.Instant.now().isBefore(expires);
    }

    /** Milliseconds to the next keep-alive, or to the token's expiry when that comes first. */
    private static long untilNextCheck(java.time.Instant expires) {
        long keepAlive = KEEP_ALIVE_SECONDS * 1000L;
        return expires == null ? keepAlive : Math.max(1, Math.min(keepAlive, millisUntil(expires)));
    }

    private static long millisUntil(java.time.Instant instant) {
        try {
            return java.time.Duration.between(java.time.Instant.now(), instant).toMillis() + 1;
        } catch (ArithmeticException centuriesAway) {
            return Long.MAX_VALUE;
        }
    }

    private void graphiqlAsset(Context ctx) {
        String asset = ctx.pathParam("asset");
        if (!asset.matches("[a-z0-9.\\-]+\\.(js|css)")) {
            throw ApiException.notFound("no asset " + asset);
        }
        InputStream in = LetheServer.class.getResourceAsStream("graphiql/" + asset);
        if (in == null) {
            throw ApiException.notFound("no asset " + asset);
        }
        ctx.contentType(asset.endsWith(".js") ? "text/javascript" : "text/css")
                .header("Cache-Control", "max-age=86400")
                .result(in);
    }

    private void require(Context ctx, dev.lethe.core.privacy.policy.DataPolicy.Permission permission) {
        if (!lethe.policy().may(principal(ctx), permission)) {
            throw new AccessDeniedException(principal(ctx), permission.label());
        }
    }

    private static String text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value != null && value.isTextual() && value.asText().isBlank()) {
            throw ApiException.badRequest("'" + field + "' is empty");
        }
        if (value == null || !value.isTextual()) {
            throw ApiException.badRequest("'" + field + "' is required (a string)");
        }
        return value.asText();
    }

    private static long longParam(Context ctx, String name, long defaultValue) {
        String text = ctx.queryParam(name);
        return text == null ? defaultValue : parseLong(name, text);
    }

    private static long parseLong(String name, String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name + " '" + text + "' is not a whole number");
        }
    }

    private static int intParam(Context ctx, String name, int defaultValue) {
        String text = ctx.queryParam(name);
        if (text == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw ApiException.badRequest(name + " '" + text + "' is not a whole number");
        }
    }

    /**
     * Whether an {@link OutOfMemoryError} is among a failure's causes: graphql-java and futures wrap it in a
     * {@code CompletionException}, which the error handlers would otherwise take for an ordinary failure.
     */
    static boolean outOfMemoryIn(Throwable failure) {
        int depth = 0;
        for (Throwable cause = failure; cause != null && depth < 32; cause = cause.getCause(), depth++) {
            if (cause instanceof OutOfMemoryError) {
                return true;
            }
        }
        return false;
    }

    private void problem(Context ctx, Exception e) {
        if (outOfMemoryIn(e)) {
            outOfMemory.run(); // as for one thrown as it is: a heap that ran out once is not trusted
        }
        if (ctx.res().isCommitted() || ctx.attribute(CUT_SHORT) != null) {
            // A streamed answer (an export) cut short after its first bytes: a problem appended to it would read
            // as part of it. The client sees JSON that does not end; the log says why, by class only.
            io.javalin.router.Endpoint matched = ctx.endpoints().matchedHttpEndpoint();
            log.warn(
                    "answer cut short",
                    Map.of(
                            "error",
                            e.getClass().getName(),
                            "route",
                            matched == null ? routeOf(ctx.path()) : matched.path));
            // Dropped, not ended: HTTP/1.1 would end the chunked body with its last chunk, and a client (or a
            // proxy, a cache) would take JSON that merely stops for a complete answer.
            try {
                org.eclipse.jetty.ee10.servlet.ServletContextRequest.getServletContextRequest(ctx.req())
                        .getConnectionMetaData()
                        .getConnection()
                        .getEndPoint()
                        .close();
            } catch (RuntimeException notJetty) {
                // Not Jetty's request (a test double): the JSON left unfinished still shows it.
            }
            return;
        }
        if (e instanceof ApiException api) {
            if (api.retryAfterSeconds() > 0) {
                ctx.header("Retry-After", Integer.toString(api.retryAfterSeconds()));
            }
            writeProblem(ctx, api.status(), api.title(), api.getMessage());
        } else if (e instanceof WrongExpectedVersionException conflict) {
            ObjectNode extra = Hub.JSON.createObjectNode();
            extra.put("stream", conflict.streamId().value());
            // In the request's own form: a number, or any / no_stream / stream_exists.
            dev.lethe.core.store.ExpectedVersion expected = conflict.expected();
            if (expected instanceof dev.lethe.core.store.ExpectedVersion.Exactly exactly) {
                extra.put("expectedVersion", exactly.version());
            } else {
                extra.put(
                        "expectedVersion",
                        expected == dev.lethe.core.store.ExpectedVersion.NoStream.INSTANCE
                                ? "no_stream"
                                : expected == dev.lethe.core.store.ExpectedVersion.StreamExists.INSTANCE
                                        ? "stream_exists"
                                        : "any");
            }
            extra.put("actualVersion", conflict.actual());
            writeProblem(ctx, 409, "Wrong expected version", conflict.getMessage(), extra);
        } else if (e instanceof DuplicateEventException
                || e instanceof ErasureFenceException
                || e instanceof dev.lethe.core.privacy.AlreadyForgottenException
                || e instanceof dev.lethe.core.privacy.AlreadyCancelledException
                || e instanceof dev.lethe.core.privacy.ForgetRefusedException) {
            writeProblem(ctx, 409, "Conflict", e.getMessage());
        } else if (e instanceof AccessDeniedException) {
            writeProblem(ctx, 403, "Forbidden", e.getMessage());
        } else if (e instanceof dev.lethe.core.privacy.UnknownSubjectException) {
            writeProblem(ctx, 404, "Not found", e.getMessage());
        } else if (e instanceof dev.lethe.server.LogCursor.Mismatch) {
            writeProblem(ctx, 409, "Conflict", e.getMessage());
        } else if (e instanceof InvalidEventException) {
            writeProblem(ctx, 400, "Bad request", e.getMessage());
        } else if (e instanceof java.nio.charset.UnsupportedCharsetException
                || e instanceof java.nio.charset.IllegalCharsetNameException) {
            // Content-Type: application/json; charset=… naming no charset this JVM has: the client's error.
            writeProblem(
                    ctx,
                    415,
                    "Unsupported media type",
                    "the request's Content-Type names a charset this server does not know; send UTF-8"
                            + " (application/json; charset=utf-8)");
        } else if (e instanceof io.javalin.http.HttpResponseException http && http.getStatus() == 413) {
            writeProblem(
                    ctx,
                    413,
                    "Content too large",
                    "the body is over the server's limit of " + config.maxBodyBytes() + " bytes (maxBodyBytes)");
        } else if (e instanceof io.javalin.http.MethodNotAllowedResponse notAllowed) {
            String allowed = String.join(
                    ", ", new java.util.TreeSet<>(notAllowed.getDetails().values()));
            ctx.header("Allow", allowed);
            writeProblem(
                    ctx,
                    405,
                    "Method not allowed",
                    ctx.path() + " does not take " + methodSaid(ctx) + "; it takes " + allowed);
        } else if (e instanceof io.javalin.http.NotFoundResponse) {
            // A path no route matches: Javalin's own ("Endpoint GET /x not found"), worded as Lethe's 404s are.
            writeProblem(ctx, 404, "Not found", noRoute(ctx));
        } else if (e instanceof io.javalin.http.HttpResponseException http) {
            writeProblem(ctx, http.getStatus(), "HTTP " + http.getStatus(), http.getMessage());
        } else if (e instanceof LetheException lethe) {
            // Lethe's own messages name the problem, never a value: the operator's log says what it is (a
            // full disk, a key that no master key epoch unwraps), not only its class.
            io.javalin.router.Endpoint matched = ctx.endpoints().matchedHttpEndpoint();
            logFailure(lethe, matched == null ? routeOf(ctx.path()) : matched.path);
            if (lethe.isTransient()) {
                writeProblem(ctx, 503, "Service unavailable", e.getMessage());
            } else {
                writeProblem(ctx, 500, "Internal error", e.getMessage());
            }
        } else {
            io.javalin.router.Endpoint matched = ctx.endpoints().matchedHttpEndpoint();
            log.error(
                    "unexpected error",
                    Map.of(
                            "error",
                            e.getClass().getName(),
                            "route",
                            matched == null ? routeOf(ctx.path()) : matched.path));
            writeProblem(
                    ctx,
                    500,
                    "Internal error",
                    "the server failed; see its log (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * A failure answered 503 ({@code service unavailable}, level warn) or 500 ({@code server error}, level error)
     * in the log, with Lethe's own message (which names the problem, never a value). A failure that passes is an
     * error too once appends have failed several times in a row: an operator alerting on errors hears of a disk
     * quota or an I/O error that fails every write.
     */
    private void logFailure(LetheException failure, String route) {
        boolean persistent = hub.writeProblem().isPresent();
        java.util.function.BiConsumer<String, Map<String, ?>> level =
                failure.isTransient() && !persistent ? log::warn : log::error;
        level.accept(
                failure.isTransient()
                        ? persistent
                                ? "service unavailable (appends failing: " + hub.writeFailuresInARow.get()
                                        + " in a row)"
                                : "service unavailable"
                        : "server error",
                Map.of(
                        "error",
                        failure.getClass().getName(),
                        "message",
                        String.valueOf(failure.getMessage()),
                        "route",
                        route));
    }

    private static void writeProblem(Context ctx, int status, String title, String detail) {
        writeProblem(ctx, status, title, detail, null);
    }

    private static void writeProblem(Context ctx, int status, String title, String detail, ObjectNode extra) {
        ObjectNode problem = Hub.JSON.createObjectNode();
        problem.put("type", "about:blank");
        problem.put("title", title);
        problem.put("status", status);
        problem.put("detail", detail);
        // The route's pattern, not the path: a path may hold what the request got wrong (an e-mail address
        // where a subject id goes, an IBAN in a stream id), which the detail takes care not to repeat.
        io.javalin.router.Endpoint matched = null;
        try {
            matched = ctx.endpoints().matchedHttpEndpoint();
        } catch (RuntimeException notYetMatched) {
            // refused before routing (authentication): no route to name
        }
        if (matched != null) {
            problem.put("instance", matched.path);
        }
        if (extra != null) {
            problem.setAll(extra);
        }
        ctx.status(status).contentType(PROBLEM_JSON + "; charset=utf-8").result(problem.toString());
    }

    static String resource(String name) {
        try (InputStream in = LetheServer.class.getResourceAsStream(name)) {
            return new String(Objects.requireNonNull(in, name).readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name, e);
        }
    }

    /** The requests being handled now (stopping waits for them). */
    long requestsInFlight() {
        return graceful.getCurrentRequestCount();
    }

    @Override
    public void close() {
        try {
            int subscriptions = sseClients.size();
            sseClients.forEach(SseClient::close);
            // The event streams just ended are still counted until their requests complete: not in flight.
            long inFlight = Math.max(0, requestsInFlight() - subscriptions);
            if (inFlight > 0) {
                log.info(
                        "stopping: letting requests in flight finish",
                        Map.of("requests", inFlight, "atMostSeconds", DRAIN.toSeconds()));
            }
            // With requests in flight, a connection waits DRAIN for its body or answer to move; with none, idle
            // keep-alive connections (a proxy's, a scraper's) close after Jetty's one second, not DRAIN.
            for (org.eclipse.jetty.server.Connector connector :
                    app.jettyServer().server().getConnectors()) {
                if (connector instanceof org.eclipse.jetty.server.AbstractConnector abstractConnector) {
                    abstractConnector.setShutdownIdleTimeout(inFlight > 0 ? DRAIN.toMillis() : 1_000);
                }
            }
            try {
                app.stop();
            } catch (RuntimeException e) {
                // Requests still in flight after DRAIN (a long export): cut off. One log line, then the store
                // closes as on any stop. (Else only idle connections outlasted it.)
                // Counted before the stop: Jetty has aborted them by now.
                log.warn(
                        inFlight > 0 || requestsInFlight() > 0
                                ? "stopping: requests still in flight were cut off"
                                : "stopping: idle connections were closed",
                        Map.of(
                                "atMostSeconds",
                                DRAIN.toSeconds(),
                                "error",
                                e.getClass().getName()));
            }
            long refused = refusedWhileStopping.get();
            if (refused > 0) {
                log.info(
                        "stopping: requests that arrived meanwhile on open connections were refused (503, Retry-After)",
                        Map.of("requests", refused));
            }
        } finally {
            try {
                retention.close();
                subjectIndexer.close();
                projections.close();
            } finally {
                try {
                    lethe.close();
                    log.info("stopped", Map.of());
                } finally {
                    log.releaseLibraryLogs();
                }
            }
        }
    }
}
