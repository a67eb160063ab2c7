package io.falconq.runtime.eval;

import io.falconq.formats.io.InvalidInputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A logits folder that is not what falconq wrote is refused naming the file and the reason. */
class LogitsFolderTest {

    private static String refused(Path dir) {
        return assertThrows(InvalidInputException.class, () -> LogitsFolder.open(dir)).getMessage();
    }

    @Test
    void aFolderWithoutItsIndexIsNotALogitsFolder(@TempDir Path dir) {
        assertTrue(refused(dir).contains("no texts.tsv"), refused(dir));
    }

    @Test
    void everyListedTextMustBeThereOnceWithAPlainName(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(LogitsFolder.INDEX), "de\n");
        assertTrue(refused(dir).contains("de.logits: no such file"), refused(dir));
        Files.writeString(dir.resolve(LogitsFolder.INDEX), "../outside\n");
        assertTrue(refused(dir).contains("must be letters, digits"), refused(dir));
        Files.writeString(dir.resolve(LogitsFolder.INDEX), "\n\n");
        assertTrue(refused(dir).contains("lists no text"), refused(dir));
        Files.write(dir.resolve("de.logits"), new byte[] {1, 2, 3});
        Files.writeString(dir.resolve(LogitsFolder.INDEX), "de\n");
        assertThrows(InvalidInputException.class, () -> LogitsFolder.open(dir), "a truncated logits file");
    }

    @Test
    void labelsThatCannotNameAFileAreRefused() {
        for (String bad : new String[] {"", ".hidden", "a/b", "a b", "x\ty"}) {
            assertThrows(IllegalArgumentException.class, () -> LogitsFolder.checkLabel(bad), bad);
        }
        LogitsFolder.checkLabel("zh");
        LogitsFolder.checkLabel("valid.txt");
    }
}
