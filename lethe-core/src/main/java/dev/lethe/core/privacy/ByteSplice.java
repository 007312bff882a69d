package dev.lethe.core.privacy;

/**
 * A copy of a byte array with some ranges replaced, in increasing order: how the codec puts envelopes
 * in place of personal values and back, leaving every other byte as it was. Nothing is copied if
 * nothing is replaced.
 */
final class ByteSplice {
    private final byte[] in;
    private byte[] out;
    private int size;
    private int copied;

    ByteSplice(byte[] in) {
        this.in = in;
    }

    void replace(int start, int end, char before, byte[] value, char after) {
        copy(start);
        ensure(value.length + 2);
        out[size++] = (byte) before;
        write(value);
        out[size++] = (byte) after;
        copied = end;
    }

    void replace(int start, int end, byte[] value) {
        copy(start);
        ensure(value.length);
        write(value);
        copied = end;
    }

    private void copy(int upTo) {
        if (out == null) {
            out = new byte[in.length * 2 + 64];
        }
        ensure(upTo - copied);
        System.arraycopy(in, copied, out, size, upTo - copied);
        size += upTo - copied;
    }

    private void write(byte[] value) {
        System.arraycopy(value, 0, out, size, value.length);
        size += value.length;
    }

    private void ensure(int more) {
        if (size + more > out.length) {
            out = java.util.Arrays.copyOf(out, Math.max(out.length * 2, size + more));
        }
    }

    boolean changed() {
        return out != null;
    }

    byte[] finish() {
        if (out == null) {
            return in;
        }
        copy(in.length);
        return size == out.length ? out : java.util.Arrays.copyOf(out, size);
    }
}
