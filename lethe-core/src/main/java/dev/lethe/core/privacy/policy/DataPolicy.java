package dev.lethe.core.privacy.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.Principal;
import dev.lethe.core.store.InvalidEventException;
import java.io.IOException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.Period;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The data policy, read from YAML: the data groups with their retention and key period, the roles with
 * the groups each may read and what else each may do, and whether appends are checked strictly.
 * {@code notices} name keys of the file that have no effect any more ({@code forgetMarkers}), which
 * {@code lethe policy check} reports; they are accepted so that older files still parse.
 * {@code receiptJournal}, when set, is an absolute path outside the data directory where every erasure
 * receipt is also written, so that a data directory restored from a backup forgets again, as it opens,
 * the subjects forgotten since the backup was taken (docs/privacy.md §9). {@code numericIdCategories}
 * names stream categories whose ids are numbers that are not personal data ({@code order-123456789}):
 * strict mode and {@code lethe policy check} do not read their digits as phone numbers.
 *
 * <pre>
 * strict: true
 * groups:
 *   identity: { retention: P10Y, period: P1Y }
 *   contact:  { retention: P2Y,  period: P1M }
 * roles:
 *   dpo:     { read: [identity, contact], may: [forget, export, rotate-keys, change-policy], append: ["*"] }
 *   advisor: { read: [identity, contact], append: [customer, order] }
 *   analyst: { read: [], append: [] }
 * </pre>
 *
 * <p>A role's {@code append} lists the stream categories it may append to over HTTP ({@code *}: any); a role
 * without one may append to any stream (policies written before it existed).
 */
public record DataPolicy(
        Map<DataGroup, GroupRule> groups,
        Map<String, RoleRule> roles,
        boolean strict,
        List<String> notices,
        java.util.Optional<java.nio.file.Path> receiptJournal,
        Set<String> numericIdCategories) {
    /** What a role may do besides reading. */
    public enum Permission {
        FORGET("forget"),
        EXPORT("export"),
        ROTATE_KEYS("rotate-keys"),
        CHANGE_POLICY("change-policy");

        private final String label;

        Permission(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        static Permission parse(String text, String where) {
            for (Permission permission : values()) {
                if (permission.label.equals(text)) {
                    return permission;
                }
            }
            throw InvalidEventException.of(
                    where, "unknown permission '" + text + "' (forget, export, rotate-keys, change-policy)");
        }
    }

    /** The role of a caller who names none: reserved, never declared, so it reads nothing and may nothing. */
    public static final String NO_ROLE = "none";

    /** Whether {@code retention} from {@code reference} ends before {@code period} does (not past the calendar). */
    private static boolean shorter(LocalDate reference, Period retention, Period period) {
        try {
            return reference.plus(retention).isBefore(reference.plus(period));
        } catch (java.time.DateTimeException | ArithmeticException e) {
            return false; // a retention past the calendar (P999999999Y: keep for good) is not shorter
        }
    }

    /** A group's retention and key period ({@code P1D}, {@code P1M} or {@code P1Y}). */
    public record GroupRule(Period retention, RetentionPeriods periods) {}

    /**
     * What a role may read and do. {@code appendable}: the stream categories it may append to over HTTP
     * ({@code *}: any); empty for a role whose policy names no {@code append} list, which may append to any
     * stream, as every role could before the list existed.
     */
    public record RoleRule(
            Set<DataGroup> readable, Set<Permission> permissions, java.util.Optional<Set<String>> appendable) {
        public RoleRule {
            appendable = appendable.map(Set::copyOf);
        }

        /** A role that may append to any stream. */
        public RoleRule(Set<DataGroup> readable, Set<Permission> permissions) {
            this(readable, permissions, java.util.Optional.empty());
        }

        /** Whether it may append to a stream of {@code category}. */
        public boolean mayAppendTo(String category) {
            return appendable
                    .map(set -> set.contains(ANY_STREAM) || set.contains(category))
                    .orElse(true);
        }
    }

    /** In a role's {@code append} list: every stream. */
    public static final String ANY_STREAM = "*";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            // A key written twice (two 'dpo:' roles) is a mistake, not "the last one wins".
            .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public DataPolicy {
        groups = Map.copyOf(groups);
        roles = Map.copyOf(roles);
        for (Map.Entry<String, RoleRule> role : roles.entrySet()) {
            for (DataGroup group : role.getValue().readable()) {
                if (!groups.containsKey(group)) {
                    throw InvalidEventException.of(
                            "policy role " + role.getKey(), "reads unknown data group '" + group + "'");
                }
            }
        }
    }

    /** The text of the default policy: groups identity, contact, financial, clientaggregate; roles dpo, advisor, analyst. */
    public static String defaultYaml() {
        try (var in = DataPolicy.class.getResourceAsStream("default-policy.yaml")) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException | NullPointerException e) {
            throw new IllegalStateException("default-policy.yaml is missing from lethe-core", e);
        }
    }

    /** Whether a document with something in it follows (a trailing "---", as generators write, is none). */
    private static boolean anotherDocument(com.fasterxml.jackson.core.JsonParser documents) throws IOException {
        while (documents.nextToken() != null) {
            JsonNode next = YAML.readTree(documents);
            if (next != null && !next.isMissingNode() && !next.isNull()) {
                return true;
            }
        }
        return false;
    }

    /** The largest policy text read, as UTF-8: 1 MiB. */
    public static final int MAX_BYTES = 1 << 20;

    /** Parses a policy from YAML text; every problem names where it is. */
    public static DataPolicy parse(String yaml) {
        if (yaml != null
                && yaml.length() > MAX_BYTES / 4
                && yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_BYTES) {
            // policy set refuses what every later open would: a store whose policy no open reads is locked out.
            throw InvalidEventException.of(
                    "policy", "is over " + MAX_BYTES + " bytes; a data policy is a few kilobytes");
        }
        JsonNode root;
        // One value, then the end: not readValues, which takes a list at the root for a stream of documents.
        try (com.fasterxml.jackson.core.JsonParser documents = YAML.createParser(yaml)) {
            root = YAML.readTree(documents);
            if (anotherDocument(documents)) {
                // Only one would be read: a second one ("---" then "strict: true") would be ignored.
                throw InvalidEventException.of("policy", "holds more than one YAML document ('---'); give one");
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            String reason =
                    String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("");
            String where = at == null || at.getLineNr() < 0
                    ? ""
                    : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
            if (yaml.indexOf('\t') >= 0 && reason.contains("scanning for the next token")) {
                int line = (int) yaml.substring(0, yaml.indexOf('\t'))
                                .chars()
                                .filter(c -> c == '\n')
                                .count()
                        + 1;
                reason = "a tab character; YAML indents with spaces only";
                where = " (line " + line + ")";
            }
            throw InvalidEventException.of("policy", "is not valid YAML: " + reason + where);
        } catch (IOException e) {
            throw InvalidEventException.of("policy", "cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw InvalidEventException.of("policy", "must be a YAML mapping with 'groups' and 'roles'");
        }
        dev.lethe.core.spi.YamlAliases.firstLine(yaml).ifPresent(line -> {
            throw InvalidEventException.of(
                    "policy",
                    "uses a YAML alias (*name) at line " + line
                            + ", which would be read as the text of its name: write the value out");
        });
        // forgetMarkers is still read (a file of an earlier release keeps working, with a notice), not offered.
        onlyKeys(
                root,
                "policy",
                Set.of("forgetMarkers"),
                "strict",
                "receiptJournal",
                "numericIdCategories",
                "groups",
                "roles");
        Map<DataGroup, GroupRule> groups = new LinkedHashMap<>();
        JsonNode groupNodes = root.path("groups");
        if (!groupNodes.isObject() || groupNodes.isEmpty()) {
            throw InvalidEventException.of("policy", "needs 'groups': a mapping of data group to {retention, period}");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = groupNodes.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String where = "policy group " + entry.getKey();
            DataGroup group;
            try {
                group = DataGroup.of(entry.getKey());
            } catch (InvalidEventException e) {
                throw e.at(where);
            }
            if (!entry.getValue().isObject()) {
                throw InvalidEventException.of(where, "must be a mapping {retention: …, period: …}");
            }
            onlyKeys(entry.getValue(), where, "retention", "period");
            groups.put(
                    group,
                    new GroupRule(
                            period(entry.getValue().path("retention"), where + ".retention"),
                            RetentionPeriods.parse(
                                    // Absent: one key per month. Written but empty ("period:"): refused, not
                                    // taken for the default.
                                    entry.getValue().path("period").isMissingNode()
                                            ? "P1M"
                                            : entry.getValue().path("period").asText(""),
                                    where + ".period")));
        }
        Map<String, RoleRule> roles = new LinkedHashMap<>();
        JsonNode roleNodes = root.path("roles");
        if (!roleNodes.isObject() || roleNodes.isEmpty()) {
            throw InvalidEventException.of("policy", "needs 'roles': a mapping of role to {read: […], may: […]}");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = roleNodes.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            String where = "policy role " + entry.getKey();
            String roleName = entry.getKey();
            if (roleName.isBlank()
                    || !roleName.strip().equals(roleName)
                    || roleName.codePoints()
                            .anyMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT)) {
                // A role no token, JWT or --role could name as written, or one that prints as another.
                throw InvalidEventException.of(
                        "policy roles",
                        "a role name is empty, begins or ends with a space, or holds a control or invisible"
                                + " character: name each role with visible characters");
            }
            if (!entry.getValue().isObject()) {
                throw InvalidEventException.of(where, "must be a mapping {read: […], may: […]}");
            }
            if (NO_ROLE.equals(entry.getKey())) {
                // Declared, it would give its groups and permissions to every caller who names no role.
                throw InvalidEventException.of(
                        where,
                        "'" + NO_ROLE + "' is reserved: it is the role of callers who give none, who read every"
                                + " personal field as restricted; give the role another name (in policy.yaml, by"
                                + " hand, if this store's policy declares it)");
            }
            onlyKeys(entry.getValue(), where, "read", "may", "append");
            Set<DataGroup> readable = new TreeSet<>(java.util.Comparator.comparing(DataGroup::name));
            for (JsonNode name : list(entry.getValue().path("read"), where + ".read")) {
                DataGroup group = DataGroup.of(name.asText());
                if (!groups.containsKey(group)) {
                    throw InvalidEventException.of(
                            where + ".read", "names group '" + group + "', which 'groups' does not declare");
                }
                readable.add(group);
            }
            Set<Permission> permissions = java.util.EnumSet.noneOf(Permission.class);
            for (JsonNode name : list(entry.getValue().path("may"), where + ".may")) {
                permissions.add(Permission.parse(name.asText(), where));
            }
            java.util.Optional<Set<String>> appendable = java.util.Optional.empty();
            JsonNode append = entry.getValue().path("append");
            if (append.isNull()) {
                // "append:" with nothing after it: meant as none, read as any before the list existed.
                throw InvalidEventException.of(
                        where + ".append",
                        "needs a list: [] for no stream, [\"*\"] for every stream, or the categories");
            }
            if (!append.isMissingNode()) {
                Set<String> categories = new TreeSet<>();
                for (JsonNode name : list(append, where + ".append")) {
                    if (!name.isTextual()) {
                        throw InvalidEventException.of(
                                where + ".append",
                                "holds "
                                        + (name.isNull()
                                                ? "null"
                                                : name.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " "
                                                        + name)
                                        + ", not a stream category");
                    }
                    String category = name.asText();
                    if (!ANY_STREAM.equals(category)) {
                        try {
                            dev.lethe.core.spi.AppendRules.checkCategory(category);
                        } catch (InvalidEventException e) {
                            throw InvalidEventException.of(
                                    where + ".append",
                                    "'" + category + "' is not a stream category (the part of a stream id before its"
                                            + " first '-'), nor '" + ANY_STREAM + "' for every stream: "
                                            + e.getMessage());
                        }
                    }
                    categories.add(category);
                }
                appendable = java.util.Optional.of(categories);
            }
            roles.put(entry.getKey(), new RoleRule(readable, permissions, appendable));
        }
        List<String> notices = new java.util.ArrayList<>();
        // Obsolete: parsed as before (empty or false: off; refused if not a boolean), so that older files
        // open. "true" asked for a protection that now always runs: policy check says so.
        JsonNode markers = root.path("forgetMarkers");
        if (!markers.isMissingNode() && !markers.isNull() && !markers.isBoolean()) {
            throw InvalidEventException.of(
                    "policy forgetMarkers", "must be true or false, got '" + markers.asText() + "'");
        }
        if (markers.asBoolean(false)) {
            notices.add("forgetMarkers has no effect any more: every writer open now checks the audit trail for"
                    + " forgets a restored keys.db lacks (docs/privacy.md §9); remove the line");
        }
        // Kept up to a period past its retention (privacy.md §11): said where the period is the longer of the two.
        LocalDate reference = LocalDate.of(2001, 1, 1);
        groups.forEach((group, rule) -> {
            // A day is the shortest period: nothing to advise (a retention under a day keeps values up to a day).
            if (rule.periods() != RetentionPeriods.DAY
                    && shorter(reference, rule.retention(), rule.periods().length())) {
                String periodText = rule.periods().length().toString();
                notices.add("group '" + group.name() + "' has a retention (" + rule.retention()
                        + ") shorter than its key period (" + periodText + "): a period's key is destroyed when the"
                        + " retention has run from the period's end, so a value is kept up to " + periodText + " + "
                        + rule.retention() + " after it is written; a shorter period (period: P1D) keeps it closer to"
                        + " its retention");
            }
        });
        // A policy written before append lists existed: every token of such a role may write any stream.
        List<String> appendAnywhere = roles.entrySet().stream()
                .filter(role -> role.getValue().appendable().isEmpty())
                .map(Map.Entry::getKey)
                .sorted()
                .toList();
        if (!appendAnywhere.isEmpty()) {
            notices.add("role(s) " + appendAnywhere + " have no 'append' list: over HTTP they may append to every"
                    + " stream, a customer's too; give each one (append: [categories], [] for none, [\"*\"] for"
                    + " all)");
        }
        return new DataPolicy(
                groups,
                roles,
                flag(root, "strict"),
                List.copyOf(notices),
                receiptJournal(root),
                numericIdCategories(root));
    }

    /** A stream category: what comes before the first '-' of a stream id. */
    private static final java.util.regex.Pattern CATEGORY = java.util.regex.Pattern.compile("[^\\s$@-][^\\s@-]{0,99}");

    private static Set<String> numericIdCategories(JsonNode root) {
        Set<String> categories = new TreeSet<>();
        for (JsonNode name : list(root.path("numericIdCategories"), "policy numericIdCategories")) {
            // YAML reads [123] as a number: a category of digits is a category all the same.
            if (!(name.isTextual() || name.isIntegralNumber())
                    || !CATEGORY.matcher(name.asText()).matches()) {
                throw InvalidEventException.of(
                        "policy numericIdCategories",
                        "'" + name.asText() + "' is not a stream category (what comes before the first '-' of a"
                                + " stream id: order for order-123456789; no spaces, '@' or '$' first)");
            }
            categories.add(name.asText());
        }
        return Set.copyOf(categories);
    }

    private static java.util.Optional<java.nio.file.Path> receiptJournal(JsonNode root) {
        JsonNode value = root.path("receiptJournal");
        if (value.isMissingNode()) {
            return java.util.Optional.empty();
        }
        if (!value.isTextual() || value.asText().isBlank()) {
            throw InvalidEventException.of(
                    "policy receiptJournal",
                    "must be the absolute path of a file outside the data directory, e.g."
                            + " /var/lib/lethe-receipts/receipts.jsonl; leave the key out for none");
        }
        java.nio.file.Path path;
        try {
            path = java.nio.file.Path.of(value.asText());
        } catch (java.nio.file.InvalidPathException e) {
            throw InvalidEventException.of("policy receiptJournal", "is not a path: " + e.getReason());
        }
        if (!path.isAbsolute()) {
            throw InvalidEventException.of(
                    "policy receiptJournal",
                    "'" + value.asText() + "' is relative; give an absolute path (a relative one would depend on the"
                            + " directory each process starts in)");
        }
        return java.util.Optional.of(path.normalize());
    }

    private static boolean flag(JsonNode root, String name) {
        JsonNode value = root.path(name);
        if (value.isNull()) {
            // "strict:" with nothing after it: refused rather than read as false, which it may not mean.
            throw InvalidEventException.of("policy " + name, "must be true or false, got nothing");
        }
        if (!value.isMissingNode() && !value.isBoolean()) {
            throw InvalidEventException.of("policy " + name, "must be true or false, got '" + value.asText() + "'");
        }
        return value.asBoolean(false);
    }

    /** Refuses a key of {@code node} other than {@code allowed}: a misspelt one would be ignored silently. */
    private static void onlyKeys(JsonNode node, String where, String... allowed) {
        onlyKeys(node, where, Set.of(), allowed);
    }

    /** As {@link #onlyKeys(JsonNode, String, String...)}, also taking keys that are no longer listed as choices. */
    private static void onlyKeys(JsonNode node, String where, Set<String> retired, String... allowed) {
        Set<String> known = Set.of(allowed);
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name) && !retired.contains(name)) {
                throw InvalidEventException.of(
                        where, "has an unknown key '" + name + "'; the keys are " + String.join(", ", allowed));
            }
        }
    }

    /** A YAML list (absent: empty); a single value written without brackets is refused, not ignored. */
    private static JsonNode list(JsonNode node, String where) {
        if (node.isMissingNode() || node.isNull()) {
            return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
        }
        if (!node.isArray()) {
            throw InvalidEventException.of(where, "must be a list, e.g. [" + node.asText() + "]");
        }
        return node;
    }

    private static Period period(JsonNode node, String where) {
        if (node.isMissingNode() || node.isNull()) {
            throw InvalidEventException.of(where, "is missing (an ISO-8601 period such as P2Y or P90D)");
        }
        try {
            Period period = Period.parse(node.asText());
            if (period.isNegative()) {
                throw InvalidEventException.of(
                        where,
                        "'" + node.asText() + "' has a negative part; give years, months and days that are not"
                                + " negative (P11M29D, not P1Y-1D)");
            }
            return period;
        } catch (DateTimeParseException e) {
            boolean time = node.asText().toUpperCase(java.util.Locale.ROOT).contains("T");
            throw InvalidEventException.of(
                    where,
                    "'" + node.asText() + "' is not "
                            + (time
                                    ? "a period of years, months and days (hours and smaller are not taken: a key"
                                            + " period is a day at least), such as P2Y or P90D"
                                    : "an ISO-8601 period such as P2Y or P90D"));
        }
    }

    /**
     * Who may read and do what, and how long each group is kept, as plain maps (sorted): what the audit
     * trail records of a policy change, so that who could read a group on a given day can be told from
     * the trail alone. No comments or other text of the file.
     */
    public Map<String, Object> accessSummary() {
        Map<String, Object> roleMap = new java.util.TreeMap<>();
        roles.forEach((name, rule) -> {
            Map<String, Object> role = new java.util.LinkedHashMap<>();
            role.put(
                    "read",
                    rule.readable().stream().map(DataGroup::name).sorted().toList());
            role.put(
                    "may",
                    rule.permissions().stream().map(Permission::label).sorted().toList());
            role.put(
                    "append",
                    rule.appendable()
                            .map(c -> (Object) c.stream().sorted().toList())
                            .orElse("any (no list)"));
            roleMap.put(name, role);
        });
        Map<String, Object> groupMap = new java.util.TreeMap<>();
        groups.forEach(
                (group, rule) -> groupMap.put(group.name(), rule.retention().toString()));
        // The key period too: a change from one key a month to one a day changes what a retention run destroys when.
        Map<String, Object> periodMap = new java.util.TreeMap<>();
        groups.forEach((group, rule) ->
                periodMap.put(group.name(), rule.periods().name().toLowerCase(java.util.Locale.ROOT)));
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("roles", roleMap);
        out.put("retention", groupMap);
        out.put("period", periodMap);
        out.put("strict", strict);
        return out;
    }

    /** The most of {@link #accessSummary} an audit entry keeps (an event holds at most 1 MiB). */
    public static final int MAX_AUDITED_SUMMARY_BYTES = 256 * 1024;

    /**
     * {@link #accessSummary} for an audit entry: the summary, or, for a policy so large that it would take
     * more than {@value #MAX_AUDITED_SUMMARY_BYTES} bytes, a note saying so (the entry's sha256 names the file):
     * an entry over the event size limit would be refused, and with it the policy change, or every open.
     */
    public Map<String, Object> auditedAccessSummary() {
        Map<String, Object> summary = accessSummary();
        int size = dev.lethe.core.store.Json.of(summary).unsafeBytes().length;
        if (size > MAX_AUDITED_SUMMARY_BYTES) {
            return Map.of(
                    "omitted",
                    "the summary of " + roles.size() + " roles and " + groups.size() + " groups takes " + size
                            + " bytes, more than an audit entry keeps (" + MAX_AUDITED_SUMMARY_BYTES
                            + "): the sha256 names the file");
        }
        return summary;
    }

    public boolean knows(DataGroup group) {
        return groups.containsKey(group);
    }

    public GroupRule rule(DataGroup group) {
        GroupRule rule = groups.get(group);
        if (rule == null) {
            throw InvalidEventException.of(
                    "data group", "'" + group + "' is not declared in the data policy; declared: " + groups.keySet());
        }
        return rule;
    }

    /** Whether the principal's role may read personal data of the group. */
    public boolean mayRead(Principal principal, DataGroup group) {
        RoleRule role = roles.get(principal.role());
        return role != null && role.readable().contains(group);
    }

    /**
     * Whether the principal's role may append to {@code stream} over HTTP: a declared role whose {@code append}
     * list names its category or {@code *}, or that has no such list.
     */
    public boolean mayAppend(Principal principal, dev.lethe.core.store.StreamId stream) {
        RoleRule role = roles.get(principal.role());
        return role != null && role.mayAppendTo(stream.category());
    }

    public boolean may(Principal principal, Permission permission) {
        RoleRule role = roles.get(principal.role());
        return role != null && role.permissions().contains(permission);
    }

    /**
     * When the shortest key period holding {@code at} ends, over every group (a day's end with any group cut by
     * day, else a month's, else a year's): until then, a value sealed at {@code at} belongs to the same periods.
     */
    public Instant earliestPeriodEnd(Instant at) {
        java.time.LocalDate date = at.atZone(ZoneOffset.UTC).toLocalDate();
        java.time.LocalDate earliest = date.plusDays(1); // no group: a day, the shortest period there is
        boolean any = false;
        for (GroupRule rule : groups.values()) {
            java.time.LocalDate end;
            try {
                end = rule.periods().endOf(rule.periods().idOf(date));
            } catch (InvalidEventException beyondFourDigitYears) {
                end = date.plusDays(1); // nothing personal is sealed then anyway (idOf refuses it)
            }
            if (!any || end.isBefore(earliest)) {
                earliest = end;
                any = true;
            }
        }
        return earliest.atStartOfDay(ZoneOffset.UTC).toInstant();
    }

    /** The key period a value of the group written at {@code at} belongs to. */
    public String periodOf(DataGroup group, Instant at) {
        return rule(group).periods().idOf(at.atZone(ZoneOffset.UTC).toLocalDate());
    }

    /** Whether the retention of the group's period has ended at {@code now}. */
    public boolean hasExpired(DataGroup group, String period, Instant now) {
        return expiresAt(group, period).map(end -> !now.isBefore(end)).orElse(false);
    }

    /**
     * When the retention of the group's period ends: the end of the period plus the group's retention.
     * Empty for a retention that ends past the calendar (year 999,999,999: {@code P999999999Y}, "keep for
     * ever"), which never expires; it must not stop the expiry of the other groups.
     */
    public Optional<Instant> expiresAt(DataGroup group, String period) {
        GroupRule rule = rule(group);
        try {
            return Optional.of(rule.periods()
                    .endOf(period)
                    .plus(rule.retention())
                    .atStartOfDay()
                    .toInstant(ZoneOffset.UTC));
        } catch (java.time.DateTimeException | ArithmeticException pastTheCalendar) {
            return Optional.empty();
        }
    }
}
