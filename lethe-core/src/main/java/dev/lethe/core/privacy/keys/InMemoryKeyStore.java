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
    private final Map<ByteBuffer, SubjectId> blindIndex = new HashMap<>();
    private final Set<SubjectId> fences = new HashSet<>();
    private final List<ErasureReceipt> receipts = new ArrayList<>();
    private final java.util.Set<java.util.UUID> unaudited = new java.util.HashSet<>();
    private final Map<PeriodRef, byte[]> periods = new LinkedHashMap<>();
    private final Set<PeriodRef> destroyed = new HashSet<>();
    private final Map<String, byte[]> secrets = new HashMap<>();
    private final Map<String, String> notes = new HashMap<>();

    @Override
    public synchronized Optional<byte[]> subjectKey(SubjectId subject) {
        return Optional.ofNullable(subjects.get(subject));
    }

    @Override
    public synchronized void createSubject(SubjectId subject, byte[] wrappedKey, Optional<byte[]> index) {
        subjects.put(subject, wrappedKey);
        index.ifPresent(i -> blindIndex.put(ByteBuffer.wrap(i.clone()), subject));
    }

    @Override
    public synchronized Optional<SubjectId> subjectByBlindIndex(byte[] index) {
        return Optional.ofNullable(blindIndex.get(ByteBuffer.wrap(index)));
    }

    @Override
    public synchronized boolean addBlindIndex(SubjectId subject, byte[] index) {
        SubjectId existing = blindIndex.putIfAbsent(ByteBuffer.wrap(index.clone()), subject);
        return existing == null || existing.equals(subject);
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
        blindIndex.values().removeIf(subject::equals);
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
        return destroyed.contains(new PeriodRef(group, period));
    }

    @Override
    public synchronized List<PeriodRef> livePeriods() {
        return List.copyOf(periods.keySet());
    }

    @Override
    public synchronized void destroyPeriod(DataGroup group, String period, Instant at) {
        PeriodRef ref = new PeriodRef(group, period);
        periods.remove(ref);
        destroyed.add(ref);
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
    public synchronized void rewrap(Map<String, byte[]> rewrapped, Map<String, String> newNotes) {
        notes.putAll(newNotes);
        rewrapped.forEach((ref, key) -> {
            KeyRefs.Parsed parsed = KeyRefs.parse(ref);
            switch (parsed.kind()) {
                case "subject" -> subjects.replace(SubjectId.parse(parsed.a()), key);
                case "period" -> periods.replace(new PeriodRef(DataGroup.of(parsed.a()), parsed.b()), key);
                default -> secrets.replace(parsed.a(), key);
            }
        });
    }

    @Override
    public void close() {}
}
