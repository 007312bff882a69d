package dev.lethe.core.privacy;

import dev.lethe.core.store.LetheException;

/**
 * A forget this store refuses whoever asks: it is a copy of a store that still exists and writes the
 * same receipt journal, so the forget would reach that store too (see {@link
 * PrivateEventStore#refuseForgets}). The request is valid; an operator must act first.
 */
public final class ForgetRefusedException extends LetheException {
    public ForgetRefusedException(String why) {
        super("forget refused: " + why);
    }

    @Override
    public boolean isTransient() {
        return false;
    }
}
