package dev.lethe.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.privacy.RevealedEvent;
import dev.lethe.core.privacy.SubjectId;
import dev.lethe.core.privacy.keys.ErasureReceipt;
import dev.lethe.core.store.AppendResult;
import dev.lethe.core.store.Direction;
import dev.lethe.server.demo.DataJourney;
import graphql.ExecutionInput;
import graphql.ExecutionResult;
import graphql.GraphQL;
import graphql.GraphQLContext;
import graphql.analysis.MaxQueryDepthInstrumentation;
import graphql.execution.CoercedVariables;
import graphql.execution.instrumentation.ChainedInstrumentation;
import graphql.language.IntValue;
import graphql.language.StringValue;
import graphql.language.Value;
import graphql.schema.Coercing;
import graphql.schema.CoercingParseLiteralException;
import graphql.schema.DataFetchingEnvironment;
import graphql.schema.GraphQLScalarType;
import graphql.schema.GraphQLSchema;
import graphql.schema.idl.RuntimeWiring;
import graphql.schema.idl.SchemaGenerator;
import graphql.schema.idl.SchemaParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The GraphQL data hub at {@code /graphql}: the schema in {@code schema.graphqls}, resolved through the
 * same {@link Hub} as REST, with the caller's principal from the request. Queries deeper than
 * {@value #MAX_DEPTH} or more complex than {@value #MAX_COMPLEXITY} fields are refused before execution.
 */
final class GraphQlApi {
    // Deep enough for GraphiQL's introspection query (depth 13); the schema itself has no recursion.
    static final int MAX_DEPTH = 20;
    static final int MAX_COMPLEXITY = 400;

    /**
     * A field's cost: 1, plus its children's, and for a list with a {@code limit} (events, audit) its
     * children's once per {@value Hub#DEFAULT_LIMIT} items asked for, so that aliases of
     * {@code events(limit: 10000)} cannot make one request decrypt millions of events. Counted over the
     * operation as it executes — every alias, fragment and spread expanded — so that aliases sharing a
     * named fragment count once each (graphql-java's own complexity check counted such a fragment once for
     * all of them: 300 aliases of 10,000 events passed).
     */
    static long cost(graphql.normalized.ExecutableNormalizedField field) {
        long children = 0;
        for (graphql.normalized.ExecutableNormalizedField child : field.getChildren()) {
            children = Math.min(children + cost(child), Integer.MAX_VALUE);
        }
        Object limit = field.getResolvedArguments().get("limit");
        long pages = limit instanceof Number n
                ? Math.max(1, (Math.max(n.longValue(), 0) + Hub.DEFAULT_LIMIT - 1) / Hub.DEFAULT_LIMIT)
                : 1;
        return Math.min(1 + children * Math.min(pages, Integer.MAX_VALUE), Integer.MAX_VALUE);
    }

    /** Refuses, before anything is resolved, an operation whose {@link #cost} exceeds {@value #MAX_COMPLEXITY}. */
    static final class CostLimit extends graphql.execution.instrumentation.SimplePerformantInstrumentation {
        @Override
        public graphql.execution.instrumentation.InstrumentationContext<ExecutionResult> beginExecuteOperation(
                graphql.execution.instrumentation.parameters.InstrumentationExecuteOperationParameters parameters,
                graphql.execution.instrumentation.InstrumentationState state) {
            long total = 0;
            for (graphql.normalized.ExecutableNormalizedField field : parameters
                    .getExecutionContext()
                    .getNormalizedQueryTree()
                    .get()
                    .getTopLevelFields()) {
                total = Math.min(total + cost(field), Integer.MAX_VALUE);
            }
            if (total > MAX_COMPLEXITY) {
                throw new graphql.execution.AbortExecutionException(
                        "maximum query complexity exceeded " + total + " > " + MAX_COMPLEXITY + ": each field of"
                                + " events and audit counts once per " + Hub.DEFAULT_LIMIT + " items of its limit;"
                                + " ask for a smaller limit or fewer fields");
            }
            return graphql.execution.instrumentation.SimpleInstrumentationContext.noOp();
        }
    }

    static final String PRINCIPAL = "principal";

    private final Hub hub;
    private final JsonLog log;
    private final GraphQL graphQl;
    private final GraphQLSchema schema;
    private final String sdl;

    GraphQlApi(Hub hub, JsonLog log) {
        this.hub = hub;
        this.log = log;
        this.sdl = resource("schema.graphqls");
        this.schema = new SchemaGenerator().makeExecutableSchema(new SchemaParser().parse(sdl), wiring());
        this.graphQl = GraphQL.newGraphQL(schema)
                .instrumentation(new ChainedInstrumentation(
                        List.of(new MaxQueryDepthInstrumentation(MAX_DEPTH), new CostLimit())))
                .build();
    }

    String sdl() {
        return sdl;
    }

    /**
     * The variables the request's operation declares, each with its type as written ({@code Int}, {@code [String!]}):
     * for an error about a variable's value, which says the type rather than quote the value. Empty when the query
     * does not parse (it did, to have run: then never).
     */
    static Map<String, String> variableTypes(String query, String operationName) {
        graphql.language.Document document;
        try {
            document = graphql.parser.Parser.parse(query);
        } catch (RuntimeException unparsable) {
            return Map.of();
        }
        Map<String, String> types = new java.util.LinkedHashMap<>();
        for (graphql.language.OperationDefinition operation :
                document.getDefinitionsOfType(graphql.language.OperationDefinition.class)) {
            if (operationName == null || operationName.equals(operation.getName())) {
                for (graphql.language.VariableDefinition variable : operation.getVariableDefinitions()) {
                    types.putIfAbsent(variable.getName(), graphql.language.AstPrinter.printAst(variable.getType()));
                }
            }
        }
        return types;
    }

    /**
     * The most field selections a request may expand to, fragment spreads spelt out (a spread counts its
     * fragment's fields each time): far above what the cost limit lets run, far below what exhausts memory.
     */
    static final long MAX_EXPANDED_FIELDS = 10_000;

    /** What a query reads: pages of events ({@code events}, {@code audit} fields) and read-model states. */
    record Reads(int eventPages, int states) {
        static final Reads NOTHING = new Reads(0, 0);
    }

    /**
     * How many pages of events ({@code events}, {@code audit} fields) and read-model states ({@code projection}
     * and {@code dataJourney} fields) the operation asks for, aliases and fragments expanded: each takes some of
     * the page budget, taken before the query runs. None for a query that does not parse or validate: {@link
     * #execute} answers it with its errors.
     *
     * @throws ApiException 400 for a query that expands to more than {@link #MAX_EXPANDED_FIELDS} fields:
     *     fragments that spread others twice grow exponentially (30 of them, 1 KB, make a billion fields),
     *     which every walk of the query — this one, validation, the depth and cost limits — would expand
     */
    Reads reads(String query, String operationName, Map<String, Object> variables) {
        graphql.language.Document document;
        try {
            document = new graphql.parser.Parser().parseDocument(query);
        } catch (RuntimeException | StackOverflowError unreadable) {
            return Reads.NOTHING; // execute() answers it with the parser's error
        }
        // Named twice, a fragment would be counted by one definition and run by another (graphql-java's
        // normaliser takes the last one, before validation refuses the document): refused first.
        java.util.Set<String> names = new java.util.HashSet<>();
        for (graphql.language.Definition<?> definition : document.getDefinitions()) {
            String name = definition instanceof graphql.language.FragmentDefinition fragment
                    ? "fragment " + fragment.getName()
                    : definition instanceof graphql.language.OperationDefinition operation
                                    && operation.getName() != null
                            ? "operation " + operation.getName()
                            : null;
            if (name != null && !names.add(name)) {
                throw ApiException.badRequest("the query defines " + name + " twice; names must be unique");
            }
        }
        long expanded = expandedFields(document);
        if (expanded > MAX_EXPANDED_FIELDS) {
            throw ApiException.badRequest("this query expands to more than " + MAX_EXPANDED_FIELDS
                    + " fields once its fragments are spread out: spread fewer fragments, or fragments within"
                    + " fragments fewer times");
        }
        try {
            var fields = graphql.normalized.ExecutableNormalizedOperationFactory
                    .createExecutableNormalizedOperationWithRawVariables(
                            schema,
                            document,
                            operationName,
                            graphql.execution.RawVariables.of(variables == null ? Map.of() : variables))
                    .getTopLevelFields();
            // An events or audit field reads up to its limit of events, each at most EventData.MAX_SIZE, and
            // stops soon after Hub.PAGE_BYTES: aliases of small pages share a turn.
            long bytes = 0;
            int states = 0;
            for (var field : fields) {
                switch (field.getName()) {
                    case "events", "audit" -> {
                        Object limit = field.getResolvedArguments().get("limit");
                        long events = limit instanceof Number n ? Math.max(1, n.longValue()) : Hub.DEFAULT_LIMIT;
                        bytes += Math.min(
                                Hub.PAGE_BYTES,
                                Math.min(events, Hub.PAGE_BYTES) * dev.lethe.core.store.EventData.MAX_SIZE);
                    }
                    case "projection", "dataJourney" -> states++;
                    default -> {}
                }
            }
            return new Reads((int) Math.min(Integer.MAX_VALUE, (bytes + Hub.PAGE_BYTES - 1) / Hub.PAGE_BYTES), states);
        } catch (RuntimeException | StackOverflowError unreadable) {
            // A query that does not validate (a fragment that spreads itself overflows the normaliser):
            // execute() refuses it with its errors, before anything is read.
            return Reads.NOTHING;
        }
    }

    /**
     * The field selections of {@code document}'s operations with every fragment spread spelt out, counted
     * without spelling them out (each fragment's size is computed once): at most {@code
     * MAX_EXPANDED_FIELDS + 1}, beyond which the exact count does not matter. A spread of an unknown
     * fragment, or one within itself, counts 0: validation refuses those.
     */
    static long expandedFields(graphql.language.Document document) {
        Map<String, graphql.language.FragmentDefinition> fragments = new java.util.HashMap<>();
        for (graphql.language.Definition<?> definition : document.getDefinitions()) {
            if (definition instanceof graphql.language.FragmentDefinition fragment) {
                fragments.putIfAbsent(fragment.getName(), fragment);
            }
        }
        Map<String, Long> sizes = new java.util.HashMap<>();
        long total = 0;
        try {
            for (graphql.language.Definition<?> definition : document.getDefinitions()) {
                if (definition instanceof graphql.language.OperationDefinition operation) {
                    total = capped(
                            total + fieldsIn(operation.getSelectionSet(), fragments, sizes, new java.util.HashSet<>()));
                }
            }
        } catch (StackOverflowError deep) {
            return MAX_EXPANDED_FIELDS + 1; // thousands of fragments each spreading the next: too large anyway
        }
        return total;
    }

    private static long fieldsIn(
            graphql.language.SelectionSet selections,
            Map<String, graphql.language.FragmentDefinition> fragments,
            Map<String, Long> sizes,
            java.util.Set<String> spreading) {
        if (selections == null) {
            return 0;
        }
        long count = 0;
        for (graphql.language.Selection<?> selection : selections.getSelections()) {
            if (selection instanceof graphql.language.Field field) {
                count += 1 + fieldsIn(field.getSelectionSet(), fragments, sizes, spreading);
            } else if (selection instanceof graphql.language.InlineFragment inline) {
                count += fieldsIn(inline.getSelectionSet(), fragments, sizes, spreading);
            } else if (selection instanceof graphql.language.FragmentSpread spread) {
                String name = spread.getName();
                Long size = sizes.get(name);
                graphql.language.FragmentDefinition fragment = fragments.get(name);
                if (size == null && fragment != null && spreading.add(name)) {
                    size = fieldsIn(fragment.getSelectionSet(), fragments, sizes, spreading);
                    spreading.remove(name);
                    sizes.put(name, size);
                }
                count += size == null ? 0 : size;
            }
            count = capped(count);
        }
        return count;
    }

    private static long capped(long count) {
        return Math.min(count, MAX_EXPANDED_FIELDS + 1);
    }

    ExecutionResult execute(String query, String operationName, Map<String, Object> variables, Principal principal) {
        return execute(query, operationName, variables, principal, new Mutations());
    }

    /** As {@link #execute(String, String, Map, Principal)}; {@code mutations} hears how its mutations went. */
    ExecutionResult execute(
            String query,
            String operationName,
            Map<String, Object> variables,
            Principal principal,
            Mutations mutations) {
        ExecutionInput input = ExecutionInput.newExecutionInput()
                .query(query)
                .operationName(operationName)
                .variables(variables == null ? Map.of() : variables)
                .graphQLContext(Map.of(PRINCIPAL, principal, MUTATIONS, mutations))
                .build();
        return graphQl.execute(input);
    }

    static final String MUTATIONS = "mutations";

    /** How a request's mutations went: whether one ran, and whether one was refused (the later ones then do not run). */
    static final class Mutations {
        volatile boolean ran;
        volatile boolean refused;
        volatile boolean succeeded;
    }

    /** A mutation not run, because an earlier one of the request was refused. */
    static final class NotRun extends RuntimeException {
        NotRun() {
            super("not run: an earlier mutation of this request was refused (the ones before it stay committed)");
        }
    }

    /**
     * A mutation run in order (graphql-java runs a request's mutations one after another): once one is
     * refused, the later ones are not run, as a client that guards the first (an expected version) expects;
     * those before it stay committed.
     */
    private static graphql.schema.DataFetcher<Object> inOrder(graphql.schema.DataFetcher<?> mutation) {
        return env -> {
            Mutations mutations = env.getGraphQlContext().get(MUTATIONS);
            if (mutations.refused) {
                throw new NotRun();
            }
            mutations.ran = true;
            try {
                Object result = mutation.get(env);
                mutations.succeeded = true;
                return result;
            } catch (Exception e) {
                mutations.refused = true;
                throw e;
            }
        };
    }

    private static Principal principal(DataFetchingEnvironment env) {
        return env.getGraphQlContext().get(PRINCIPAL);
    }

    private RuntimeWiring wiring() {
        return RuntimeWiring.newRuntimeWiring()
                .scalar(LONG)
                .scalar(JSON_SCALAR)
                .type(
                        "Query",
                        type -> type.dataFetcher("events", this::events)
                                .dataFetcher(
                                        "eventTypes",
                                        // Maps, not Jackson nodes, whose fields graphql-java does not read.
                                        env -> Hub.JSON.convertValue(hub.schemasJson(), List.class))
                                .dataFetcher(
                                        "subject",
                                        env -> hub.lethe
                                                .privacy()
                                                .lookup(env.getArgument("naturalKey"), principal(env))
                                                .map(s -> Map.of(
                                                        "id",
                                                        s.toString(),
                                                        "forgotten",
                                                        hub.lethe
                                                                .privacy()
                                                                .keys()
                                                                .isForgotten(s)))
                                                .orElse(null))
                                .dataFetcher(
                                        "projections",
                                        env -> hub.lethe.projections().list().stream()
                                                .map(p -> Map.of(
                                                        "name",
                                                        p.name(),
                                                        "checkpoint",
                                                        p.nextPosition(),
                                                        "keys",
                                                        p.keyCount(),
                                                        "fit",
                                                        p.fit(hub.lethe.store()).name()))
                                                .toList())
                                .dataFetcher(
                                        "projection",
                                        // A Map, which graphql-java reads fields from; an ObjectNode gave nulls.
                                        env -> Hub.JSON.convertValue(
                                                hub.projectionState(
                                                        env.getArgument("name"),
                                                        env.getArgument("key"),
                                                        principal(env)),
                                                Map.class))
                                .dataFetcher(
                                        "projectionKeys",
                                        env -> Hub.JSON.convertValue(
                                                hub.projectionKeys(
                                                        env.getArgument("name"),
                                                        env.getArgument("after"),
                                                        env.getArgument("limit")),
                                                Map.class))
                                .dataFetcher(
                                        "audit",
                                        env -> events(hub.audit(Hub.limit(env.getArgument("limit")), principal(env))))
                                .dataFetcher(
                                        "retentionPlan",
                                        env -> hub.retentionPlan(env.getArgument("now"), principal(env)))
                                .dataFetcher("scheduledForgets", env -> {
                                    String subject = env.getArgument("subject");
                                    return hub
                                            .lethe
                                            .privacy()
                                            .scheduledForgets(
                                                    subject == null ? null : SubjectId.parse(subject), principal(env))
                                            .stream()
                                            .map(dev.lethe.core.privacy.PrivateEventStore.ScheduledForget::asMap)
                                            .toList();
                                })
                                .dataFetcher("receipts", env -> {
                                    String subject = env.getArgument("subject");
                                    return hub
                                            .lethe
                                            .privacy()
                                            .receipts(subject == null ? null : SubjectId.parse(subject), principal(env))
                                            .stream()
                                            .map(ErasureReceipt::asMap)
                                            .toList();
                                })
                                .dataFetcher(
                                        "dataJourney",
                                        env -> hub.projections
                                                .state(DataJourney.PROJECTION, "global")
                                                .orElse(new DataJourney.State(
                                                        List.of(), List.of(), List.of(), List.of()))))
                .type(
                        "Mutation",
                        type -> type.dataFetcher("append", inOrder(env -> {
                                    AppendResult result = hub.append(
                                            principal(env),
                                            env.getArgument("stream"),
                                            Hub.JSON.valueToTree(env.getArgument("expectedVersion")),
                                            Hub.JSON.valueToTree(env.getArgument("events")));
                                    return Hub.JSON.convertValue(Hub.appendJson(result), Map.class);
                                }))
                                .dataFetcher("forget", inOrder(env -> {
                                    ErasureReceipt receipt = hub.lethe
                                            .privacy()
                                            .forget(
                                                    SubjectId.parse(env.getArgument("subject")),
                                                    env.getArgument("legalBasis"),
                                                    env.getArgument("reason"),
                                                    principal(env));
                                    hub.forgotten(receipt, log);
                                    Map<String, Object> answer = receipt.asMap();
                                    answer.put(
                                            "plaintextKeyFields",
                                            hub.lethe.privacy().schemas().plaintextNaturalKeyFields());
                                    return answer;
                                }))
                                .dataFetcher(
                                        "scheduleForget",
                                        inOrder(env -> hub.scheduled(
                                                        hub.lethe
                                                                .privacy()
                                                                .scheduleForget(
                                                                        SubjectId.parse(env.getArgument("subject")),
                                                                        dev.lethe.server.Instants.parseDeadline(
                                                                                "at", env.getArgument("at")),
                                                                        env.getArgument("legalBasis"),
                                                                        principal(env)),
                                                        log)
                                                .asMap()))
                                .dataFetcher(
                                        "cancelScheduledForget",
                                        inOrder(env -> hub.cancelled(
                                                        hub.lethe
                                                                .privacy()
                                                                .cancelScheduledForget(
                                                                        env.getArgument("schedule"),
                                                                        env.getArgument("reason"),
                                                                        principal(env)),
                                                        log)
                                                .asMap())))
                .type(
                        "DataJourney",
                        type -> type.dataFetcher(
                                        "events",
                                        env -> ((DataJourney.State) env.getSource())
                                                .events().stream()
                                                        .filter(e -> matches(env.getArgument("period"), e.period()))
                                                        .filter(e ->
                                                                matches(env.getArgument("itemTypes"), e.itemType()))
                                                        .toList())
                                .dataFetcher(
                                        "items",
                                        env -> ((DataJourney.State) env.getSource())
                                                .items().stream()
                                                        .filter(i ->
                                                                matches(env.getArgument("itemTypes"), i.itemType()))
                                                        .toList()))
                .type(
                        "JourneyEvent",
                        type -> type.dataFetcher("sourceInfo", env -> {
                            DataJourney.JourneyEvent event = env.getSource();
                            return Map.of(
                                    "by",
                                    String.valueOf(event.by()),
                                    "lastUpdated",
                                    event.lastUpdated(),
                                    "version",
                                    event.version());
                        }))
                .build();
    }

    private static boolean matches(Object wanted, String actual) {
        return wanted == null || Objects.equals(wanted.toString(), actual);
    }

    private Object events(DataFetchingEnvironment env) {
        String stream = env.getArgument("stream");
        String category = env.getArgument("category");
        String type = env.getArgument("type");
        String asOf = env.getArgument("asOf");
        Object fromArgument = env.getArgument("from");
        long from = fromArgument == null ? 0 : ((Number) fromArgument).longValue();
        int limit = Hub.limit(env.getArgument("limit"));
        if (stream != null && category != null) {
            throw dev.lethe.core.store.InvalidEventException.of("events", "give stream or category, not both");
        }
        String period = env.getArgument("period");
        if (period != null && !isPeriod(period)) {
            throw dev.lethe.core.store.InvalidEventException.of(
                    "period", "is not a year (2026), month (2026-11) or day (2026-11-26) of the calendar");
        }
        // Filtered before they are revealed: the keys of events left out are not released (nor audited).
        java.util.function.Predicate<dev.lethe.core.store.RecordedEvent> keep =
                e -> (type == null || e.type().equals(type))
                        && (period == null || e.recordedAt().toString().startsWith(period));
        if (stream == null && asOf != null) {
            throw dev.lethe.core.store.InvalidEventException.of("asOf", "applies to one stream: give stream too");
        }
        // Within the request's page budget (LetheServer.graphql holds it).
        Hub.Page page = stream != null
                ? hub.readStreamPage(stream, from, limit, Direction.FORWARD, asOf, principal(env), keep)
                : hub.readLogPage(category, Hub.logFrom(hub.lethe.store(), from), limit, principal(env), keep);
        if (page.cut()) {
            // Not cut short silently: paging on with from + limit would skip the events left out.
            throw dev.lethe.core.store.InvalidEventException.of(
                    "limit",
                    limit + " events from " + from + " hold more than " + Hub.PAGE_BYTES / (1024 * 1024)
                            + " MiB: ask for fewer at a time");
        }
        return events(page.events());
    }

    private static List<Object> events(List<RevealedEvent> events) {
        List<Object> out = new java.util.ArrayList<>(events.size());
        events.forEach(e -> out.add(Hub.JSON.convertValue(Hub.eventJson(e), Map.class)));
        return out;
    }

    private static String resource(String name) {
        try (InputStream in = GraphQlApi.class.getResourceAsStream(name)) {
            return new String(Objects.requireNonNull(in, name).readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + name, e);
        }
    }

    static final GraphQLScalarType LONG = GraphQLScalarType.newScalar()
            .name("Long")
            .description("A 64-bit integer")
            .coercing(new Coercing<Long, Long>() {
                @Override
                public Long serialize(Object value, GraphQLContext context, Locale locale) {
                    return ((Number) value).longValue();
                }

                @Override
                public Long parseValue(Object input, GraphQLContext context, Locale locale) {
                    if (input instanceof Number number) {
                        // Exactly, as a literal is: 1.9 is not 1, nor 2^64 + 1 the number 1.
                        try {
                            return new java.math.BigDecimal(number.toString()).longValueExact();
                        } catch (ArithmeticException | NumberFormatException e) {
                            throw new graphql.schema.CoercingParseValueException("expected a whole number from "
                                    + Long.MIN_VALUE + " to " + Long.MAX_VALUE + ", got "
                                    + (number.toString().length() > 40
                                            ? number.toString().substring(0, 40) + "…"
                                            : number));
                        }
                    }
                    throw new graphql.schema.CoercingParseValueException("expected a whole number, got a "
                            + (input == null ? "null" : input.getClass().getSimpleName()));
                }

                @Override
                public Long parseLiteral(
                        Value<?> input, CoercedVariables variables, GraphQLContext context, Locale locale) {
                    if (input instanceof IntValue value) {
                        try {
                            return value.getValue().longValueExact();
                        } catch (ArithmeticException e) {
                            throw new CoercingParseLiteralException("a Long is at most " + Long.MAX_VALUE);
                        }
                    }
                    throw new CoercingParseLiteralException("expected a whole number");
                }
            })
            .build();

    static final GraphQLScalarType JSON_SCALAR = GraphQLScalarType.newScalar()
            .name("JSON")
            .description("Any JSON value")
            .coercing(new Coercing<Object, Object>() {
                @Override
                public Object serialize(Object value, GraphQLContext context, Locale locale) {
                    return value instanceof JsonNode node ? Hub.JSON.convertValue(node, Object.class) : value;
                }

                @Override
                public Object parseValue(Object input, GraphQLContext context, Locale locale) {
                    return input;
                }

                @Override
                public Object parseLiteral(
                        Value<?> input, CoercedVariables variables, GraphQLContext context, Locale locale) {
                    return literal(input);
                }
            })
            .build();

    private static Object literal(Value<?> value) {
        if (value instanceof StringValue s) {
            return s.getValue();
        }
        if (value instanceof IntValue i) {
            return i.getValue();
        }
        if (value instanceof graphql.language.FloatValue f) {
            return f.getValue();
        }
        if (value instanceof graphql.language.BooleanValue b) {
            return b.isValue();
        }
        if (value instanceof graphql.language.NullValue) {
            return null;
        }
        if (value instanceof graphql.language.ArrayValue a) {
            return a.getValues().stream().map(GraphQlApi::literal).toList();
        }
        if (value instanceof graphql.language.ObjectValue o) {
            ObjectNode node = Hub.JSON.createObjectNode();
            o.getObjectFields().forEach(f -> node.set(f.getName(), Hub.JSON.valueToTree(literal(f.getValue()))));
            return Hub.JSON.convertValue(node, Map.class);
        }
        // Not the value itself: error messages reach the caller, and it may hold personal data.
        throw new CoercingParseLiteralException("unsupported JSON literal: a "
                + value.getClass().getSimpleName().replace("Value", "").toLowerCase(java.util.Locale.ROOT)
                + " is not JSON (write true, false or null in lower case, quote strings, and pass variables"
                + " as whole arguments)");
    }

    /** A year (2026), month (2026-11) or day (2026-11-26) that exists: 2026-13 and 2026-02-30 do not. */
    static boolean isPeriod(String period) {
        try {
            switch (period.length()) {
                case 4 -> java.time.Year.parse(period);
                case 7 -> java.time.YearMonth.parse(period);
                case 10 -> java.time.LocalDate.parse(period);
                default -> {
                    return false;
                }
            }
            return period.chars().allMatch(c -> c == '-' || Character.isDigit(c));
        } catch (java.time.format.DateTimeParseException e) {
            return false;
        }
    }
}
