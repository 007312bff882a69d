package dev.lethe.core.privacy.keys;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

/** A key store whose calls a test sees (and may fail, or run something beside) before they reach another. */
public final class InterceptedKeyStore {
    /** What runs before each call: it may throw, which the caller of the method then sees. */
    @FunctionalInterface
    public interface BeforeCall {
        void before(String method, Object[] args) throws Throwable;
    }

    private InterceptedKeyStore() {}

    /** {@code inner}, each of whose calls first goes through {@code before}. */
    public static KeyStore of(KeyStore inner, BeforeCall before) {
        return (KeyStore) Proxy.newProxyInstance(
                KeyStore.class.getClassLoader(), new Class<?>[] {KeyStore.class}, (proxy, method, args) -> {
                    before.before(method.getName(), args);
                    try {
                        return method.invoke(inner, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
