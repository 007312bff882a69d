package dev.lethe.core.privacy.keys;

import java.util.List;

/** A master key that hands every call to another: tests override what they make fail or wait. */
public class ForwardingMasterKey implements MasterKey {
    protected final MasterKey inner;

    public ForwardingMasterKey(MasterKey inner) {
        this.inner = inner;
    }

    @Override
    public int epoch() {
        return inner.epoch();
    }

    @Override
    public byte[] wrap(byte[] key, byte[] context) {
        return inner.wrap(key, context);
    }

    @Override
    public byte[] unwrap(byte[] wrapped, byte[] context) {
        return inner.unwrap(wrapped, context);
    }

    @Override
    public List<Integer> liveEpochs() {
        return inner.liveEpochs();
    }

    @Override
    public int beginRotation() {
        return inner.beginRotation();
    }

    @Override
    public List<Integer> finishRotation() {
        return inner.finishRotation();
    }

    @Override
    public java.util.OptionalInt epochOf(byte[] wrapped) {
        return inner.epochOf(wrapped);
    }

    @Override
    public String describe() {
        return inner.describe();
    }
}
