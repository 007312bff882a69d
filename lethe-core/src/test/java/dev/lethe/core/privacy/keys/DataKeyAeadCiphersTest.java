package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** More data keys on one thread than it keeps ciphers for: the rest share a spare cipher, each call keyed anew. */
class DataKeyAeadCiphersTest {
    @Test
    void keys_past_the_threads_own_ciphers_still_seal_and_open_each_with_its_own_key() throws Exception {
        Random random = new Random(7);
        List<DataKeyAead> keys = new ArrayList<>();
        List<byte[]> sealed = new ArrayList<>();
        byte[] aad = "event/path".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < DataKeyAead.CIPHERS_PER_THREAD + 200; i++) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            DataKeyAead aead = new DataKeyAead(key);
            keys.add(aead);
            sealed.add(aead.encrypt(("value " + i).getBytes(StandardCharsets.UTF_8), aad));
        }
        // Interleaved, as a replay over many subjects goes: own ciphers and the spare one alternate.
        for (int i = keys.size() - 1; i >= 0; i -= 7) {
            assertThat(new String(keys.get(i).decrypt(sealed.get(i), aad), StandardCharsets.UTF_8))
                    .isEqualTo("value " + i);
            int other = (i + 4_100) % keys.size();
            assertThat(new String(keys.get(other).decrypt(sealed.get(other), aad), StandardCharsets.UTF_8))
                    .isEqualTo("value " + other);
        }
        // The spare cipher keyed for one key never opens another's ciphertext.
        int last = keys.size() - 1;
        assertThatThrownBy(() -> keys.get(last).decrypt(sealed.get(last - 1), aad))
                .isInstanceOf(GeneralSecurityException.class);
    }
}
