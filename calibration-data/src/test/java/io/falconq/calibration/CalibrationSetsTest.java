package io.falconq.calibration;

import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationSetsTest {
    @Test
    void everySetMatchesItsChecksumAndIsSmall() throws Exception {
        for (CalibrationSets s : CalibrationSets.values()) {
            byte[] b = s.bytes();
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
            assertEquals(s.sha256(), sha, s.address());
            assertTrue(b.length > 50_000 && b.length < 1_000_000, s.address() + " is " + b.length + " bytes");
            assertTrue(s.text().indexOf('\r') < 0, "LF line ends");
        }
    }

    @Test
    void addressesResolve() {
        assertEquals(CalibrationSets.EN, CalibrationSets.find("builtin:en").orElseThrow());
        assertEquals(CalibrationSets.ES, CalibrationSets.find("ES").orElseThrow());
        assertTrue(CalibrationSets.find("builtin:xx").isEmpty());
        assertTrue(CalibrationSets.ES.text().startsWith("Génesis 1\n\n1 EN el principio crió Dios"));
    }
}
