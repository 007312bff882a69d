package dev.lethe.core.privacy.keys;

import dev.lethe.core.privacy.DataGroup;
import dev.lethe.core.privacy.SubjectId;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** A key store in memory, for tests. */
public final class InMemoryKeyStore implements KeyStore {
    private final Map<SubjectId, byte[]> subjects = new HashMap<>();
    private final Map<ByteBuffer, SubjectId> blindIndex = new LinkedHashMap<>();
    private final Map<ByteBuffer, byte[]> sealedIndex = new HashMap<>();
    private final Set<SubjectId> fences = new HashSet<>();
    private final List<ErasureReceipt> receipts = new ArrayList<>();
    private final java.util.Set<java.util.UUID> unaudited = new java.util.HashSet<>();
    private final Map<PeriodRef, byte[]> periods = new LinkedHashMap<>();
    private final Map<PeriodRef, Instant> destroyed = new java.util.TreeMap<>(
            java.util.Comparator.comparing((PeriodRef ref) -> ref.group().name())
                    .thenComparing(PeriodRef::period));
    private final Map<String, byte[]> secrets = new HashMap<>();
    private final Map<String, String> notes = new HashMap<>();

    @Override
    public synchronized Optional<byte[]> subjectKey(SubjectId subject) {
        return Optional.ofNullable(subjects.get(subject));
    }

    @Override
    public synchronized void createSubject(SubjectId subject, byte[] wrappedKey, Optional<IndexEntry> index) {
        subjects.put(subject, wrappedKey);
        index.ifPresent(entry -> putIndex(subject, entry));
    }

    private void putIndex(SubjectId subject, IndexEntry entry) {
        ByteBuffer hash = ByteBuffer.wrap(entry.hash().clone());
        blindIndex.put(hash, subject);
        if (entry.sealed() != null) {
            sealedIndex.put(hash, entry.sealed().clone());
        }
    }

    @Override
    public synchronized Optional<SubjectId> subjectByBlindIndex(byte[] index) {
        return Optional.ofNullable(blindIndex.get(ByteBuffer.wrap(index)));
    }

    @Override
    public synchronized boolean hasUnsealedBlindIndex() {
        return blindIndex.keySet().stream().anyMatch(hash -> !sealedIndex.containsKey(hash));
    }

    @Override
    public synchronized boolean hasBlindIndexEntries() {
        return !blindIndex.isEmpty();
    }

    @Override
    public synchronized List<IndexRow> blindIndexRows() {
        List<IndexRow> rows = new ArrayList<>();
        blindIndex.forEach((hash, subject) ->
                rows.add(new IndexRow(subject, new IndexEntry(hash.array().clone(), sealedIndex.get(hash)))));
        return rows;
    }

    @Override
    public synchronized boolean isForgotten(SubjectId subject) {
        return fences.contains(subject);
    }

    @Override
    public synchronized int forget(
            SubjectId subject, ErasureReceipt receipt, java.util.Collection<java.util.UUID> audited) {
        unaudited.removeAll(audited);
        if (subjects.remove(subject) == null) {
            return -1;
        }
        unaudited.add(receipt.id());
        int before = blindIndex.size();
        blindIndex.entrySet().removeIf(entry -> {
            boolean theirs = entry.getValue().equals(subject);
            if (theirs) {
                sealedIndex.remove(entry.getKey());
            }
            return theirs;
        });
        fences.add(subject);
        receipts.add(receipt);
        return before - blindIndex.size();
    }

    @Override
    public synchronized List<ErasureReceipt> receipts() {
        return List.copyOf(receipts);
    }

    @Override
    public synchronized List<ErasureReceipt> unauditedReceipts() {
        return receipts.stream().filter(r -> unaudited.contains(r.id())).toList();
    }

    @Override
    public synchronized void markAudited(java.util.Collection<java.util.UUID> ids) {
        unaudited.removeAll(ids);
    }

    @Override
    public synchronized Optional<byte[]> periodKey(DataGroup group, String period) {
        return Optional.ofNullable(periods.get(new PeriodRef(group, period)));
    }

    @Override
    public synchronized byte[] createPeriodKey(DataGroup group, String period, byte[] wrappedKey) {
        return periods.computeIfAbsent(new PeriodRef(group, period), p -> wrappedKey);
    }

    @Override
    public synchronized boolean isPeriodDestroyed(DataGroup group, String period) {
        return destroyed.containsKey(new PeriodRef(group, period));
    }

    @Override
    public synchronized List<PeriodRef> livePeriods() {
        return List.copyOf(periods.keySet());
    }

    @Override
    public synchronized void destroyPeriod(DataGroup group, String period, Instant at) {
        PeriodRef ref = new PeriodRef(group, period);
        periods.remove(ref);
        destroyed.putIfAbsent(ref, at);
    }

    @Override
    public synchronized List<DestroyedPeriod> destroyedPeriods() {
        return destroyed.entrySet().stream()
                .map(e -> new DestroyedPeriod(e.getKey().group(), e.getKey().period(), e.getValue()))
                .toList();
    }

    @Override
    public synchronized Optional<String> note(String name) {
        return Optional.ofNullable(notes.get(name));
    }

    @Override
    public synchronized void setNote(String name, String value) {
        notes.put(name, value);
    }

    @Override
    public synchronized Optional<byte[]> secret(String name) {
        return Optional.ofNullable(secrets.get(name));
    }

    @Override
    public synchronized byte[] createSecret(String name, byte[] wrapped) {
        return secrets.computeIfAbsent(name, n -> wrapped);
    }

    @Override
    public synchronized Map<String, byte[]> allWrappedKeys() {
        Map<String, byte[]> all = new LinkedHashMap<>();
        subjects.forEach((s, k) -> all.put(KeyRefs.subject(s), k));
        periods.forEach((p, k) -> all.put(KeyRefs.period(p.group(), p.period()), k));
        secrets.forEach((n, k) -> all.put(KeyRefs.secret(n), k));
        return all;
    }

    @Override
    public synchronized void rewrap(Map<String, byte[]> rewrapped, Map<String, String> newNotes, List<IndexRow> index) {
        notes.putAll(newNotes);
        rewrapped.forEach((ref, key) -> {
            KeyRefs.Parsed parsed = KeyRefs.parse(ref);
            switch (parsed.kind()) {
                case "subject" -> subjects.replace(SubjectId.parse(parsed.a()), key);
                case "period" -> periods.replace(new PeriodRef(DataGroup.of(parsed.a()), parsed.b()), key);
                default -> secrets.put(parsed.a(), key);
            }
        });
        if (index != null) {
            blindIndex.clear();
            sealedIndex.clear();
            index.forEach(row -> putIndex(row.subject(), row.entry()));
        }
    }

    @Override
    public void close() {}
}
