package dev.lethe.core.privacy.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.ProviderException;
import org.junit.jupiter.api.Test;

/** Which PKCS#11 failures say the device failed rather than the wrapped key: read from the provider's text. */
class Pkcs11FailureKindsTest {
    @Test
    void a_handle_or_device_failure_is_the_devices_and_a_tag_that_does_not_verify_is_the_keys() {
        assertThat(Pkcs11MasterKey.deviceFailure(new ProviderException(
                        "Could not initialize cipher", new Exception("CKR_OBJECT_HANDLE_INVALID"))))
                .isTrue();
        assertThat(Pkcs11MasterKey.deviceFailure(new ProviderException("Token has been removed")))
                .isTrue();
        assertThat(Pkcs11MasterKey.deviceFailure(new javax.crypto.AEADBadTagException("Tag mismatch")))
                .isFalse();
        assertThat(Pkcs11MasterKey.deviceFailure(new java.security.GeneralSecurityException(
                        "doFinal failed", new Exception("CKR_ENCRYPTED_DATA_INVALID"))))
                .isFalse();
        assertThat(Pkcs11MasterKey.deviceFailure(new ProviderException((String) null)))
                .isFalse();
        // SunPKCS11 turns CKR_GENERAL_ERROR from a decrypt into a bad tag: ambiguous, probed by the caller.
        var general = new javax.crypto.AEADBadTagException("doFinal failed");
        general.initCause(new Exception("CKR_GENERAL_ERROR"));
        assertThat(Pkcs11MasterKey.deviceFailure(general)).isFalse();
        assertThat(Pkcs11MasterKey.generalError(general)).isTrue();
        assertThat(Pkcs11MasterKey.generalError(new javax.crypto.AEADBadTagException("Tag mismatch")))
                .isFalse();
    }
}
