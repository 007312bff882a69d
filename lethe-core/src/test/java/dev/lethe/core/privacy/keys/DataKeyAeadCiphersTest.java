package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Data keys with a cipher of their own and keys without one (they share their thread's spare cipher, keyed
 * anew at each call), interleaved as a replay over many subjects goes, and one key used by several threads.
 */
class DataKeyAeadCiphersTest {
    private static final byte[] AAD = "event/path".getBytes(StandardCharsets.UTF_8);

    @Test
    void keys_with_and_without_their_own_cipher_each_seal_and_open_with_their_own_key() throws Exception {
        Random random = new Random(7);
        List<DataKeyAead> keys = new ArrayList<>();
        List<byte[]> sealed = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            DataKeyAead aead = new DataKeyAead(key);
            if (i % 2 == 0) {
                aead.allowOwnCipher();
            }
            keys.add(aead);
            sealed.add(aead.encrypt(("value " + i).getBytes(StandardCharsets.UTF_8), AAD));
        }
        for (int i = keys.size() - 1; i >= 0; i -= 7) {
            assertThat(open(keys, sealed, i)).isEqualTo("value " + i);
            int other = (i + 101) % keys.size();
            assertThat(open(keys, sealed, other)).isEqualTo("value " + other);
        }
        // Neither the spare cipher nor an own one, keyed for one key, opens another's ciphertext.
        assertThatThrownBy(() -> keys.get(1).decrypt(sealed.get(3), AAD)).isInstanceOf(GeneralSecurityException.class);
        assertThatThrownBy(() -> keys.get(2).decrypt(sealed.get(4), AAD)).isInstanceOf(GeneralSecurityException.class);
        assertThat(open(keys, sealed, 2)).isEqualTo("value 2");
    }

    @Test
    void a_key_whose_cipher_is_dropped_goes_on_with_the_spare_one() throws Exception {
        DataKeyAead aead = new DataKeyAead(new byte[32]);
        assertThat(aead.dropOwnCipher()).isFalse();
        aead.allowOwnCipher();
        byte[] sealed = aead.encrypt("before".getBytes(StandardCharsets.UTF_8), AAD);
        assertThat(aead.dropOwnCipher()).isTrue();
        assertThat(aead.dropOwnCipher()).isFalse();
        assertThat(new String(aead.decrypt(sealed, AAD), StandardCharsets.UTF_8))
                .isEqualTo("before");
    }

    @Test
    void one_key_used_by_several_threads_at_once_opens_every_value() throws Exception {
        DataKeyAead aead = new DataKeyAead(new byte[32]);
        aead.allowOwnCipher();
        List<byte[]> sealed = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            sealed.add(aead.encrypt(("value " + i).getBytes(StandardCharsets.UTF_8), AAD));
        }
        ExecutorService threads = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> opened = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int offset = t;
                opened.add(threads.submit(() -> {
                    int count = 0;
                    for (int round = 0; round < 50; round++) {
                        for (int i = offset; i < sealed.size(); i += 3) {
                            String value = new String(aead.decrypt(sealed.get(i), AAD), StandardCharsets.UTF_8);
                            if (!value.equals("value " + i)) {
                                throw new AssertionError("value " + i + " opened as " + value);
                            }
                            count++;
                        }
                        if (offset == 0 && round == 25) {
                            aead.dropOwnCipher();
                        }
                    }
                    return count;
                }));
            }
            for (Future<Integer> each : opened) {
                assertThat(each.get(60, TimeUnit.SECONDS)).isPositive();
            }
        } finally {
            threads.shutdownNow();
        }
    }

    private static String open(List<DataKeyAead> keys, List<byte[]> sealed, int i) throws GeneralSecurityException {
        return new String(keys.get(i).decrypt(sealed.get(i), AAD), StandardCharsets.UTF_8);
    }
}
