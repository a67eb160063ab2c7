package io.falconq.cli.pipeline;

import io.falconq.formats.io.InvalidInputException;
import io.falconq.core.intquant.IntQuantScheme;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantListTest {
    @TempDir
    Path dir;

    @Test
    void parsesAutoVariantsBySizeOfAStockMixAndByBitsPerWeight() {
        List<VariantSpec> list = VariantList.parse("auto@q4_k_m-size,AUTO@Q4_K_M-imatrix-size,auto@3.50bpw,auto@4bpw");
        assertEquals(List.of("auto@Q4_K_M-size", "auto@Q4_K_M-imatrix-size", "auto@3.5bpw", "auto@4bpw"),
                list.stream().map(VariantSpec::name).toList());
        VariantSpec.Auto bySize = assertInstanceOf(VariantSpec.Auto.class, list.get(0));
        assertEquals("Q4_K_M", bySize.sizeOf().name());
        assertTrue(((VariantSpec.Auto) list.get(1)).sizeOf().imatrix());
        assertEquals(3.5, ((VariantSpec.Auto) list.get(2)).bitsPerWeight());
        assertTrue(list.stream().allMatch(VariantSpec::needsCalibration), "an allocation uses the imatrix");
        assertEquals(Path.of("m", "m-auto-3.5bpw.gguf"), ArtifactPlanner.artifactPath("m", list.get(2)));
        for (String bad : List.of("auto@", "auto@Q9_K-size", "auto@F16-size", "auto@w4-size", "auto@0bpw",
                "auto@-1bpw", "auto@33bpw", "auto@1e1bpw", "auto@Q4_K_M")) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> VariantList.parse(bad), bad);
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
        assertThrows(InvalidInputException.class, () -> VariantList.parse("auto@3.5bpw,auto@3.50bpw"),
                "the same budget twice");
    }

    @Test
    void parsesGgufMixesAndIntegerSchemes() {
        List<VariantSpec> list = VariantList.parse("q8_0, Q4_K, Q4_K_M-imatrix,w8,w4-gptq,w4-awq-g64,w4-gch");
        assertEquals(List.of("Q8_0", "Q4_K_M", "Q4_K_M-imatrix", "w8", "w4-gptq", "w4-awq-g64", "w4-gch"),
                list.stream().map(VariantSpec::name).toList());
        VariantSpec.Gguf q4 = assertInstanceOf(VariantSpec.Gguf.class, list.get(1));
        assertEquals("Q4_K_M", q4.recipe().name(), "Q4_K is llama-quantize's alias of Q4_K_M");
        assertFalse(q4.needsCalibration());
        assertTrue(list.get(2).needsCalibration());
        VariantSpec.IntQuant w8 = assertInstanceOf(VariantSpec.IntQuant.class, list.get(3));
        assertEquals(IntQuantScheme.w8(), w8.scheme());
        assertEquals("rtn", w8.method());
        assertFalse(w8.needsCalibration());
        VariantSpec.IntQuant gptq = assertInstanceOf(VariantSpec.IntQuant.class, list.get(4));
        assertEquals(IntQuantScheme.w4(128), gptq.scheme());
        assertTrue(gptq.needsCalibration());
        assertTrue(VariantSpec.parse("w4-clip").needsCalibration(), "clip searches its ratios on the imatrix");
        assertEquals(64, ((VariantSpec.IntQuant) list.get(5)).scheme().groupSize());
        assertEquals(-1, ((VariantSpec.IntQuant) list.get(6)).scheme().groupSize());
    }

    @Test
    void readsAFileWithCommentsAndReportsTheLineOfAnError() throws IOException {
        Path file = Files.writeString(dir.resolve("variants.txt"), """
                # GGUF
                Q8_0, Q6_K   # near lossless
                
                w4-gptq
                """);
        assertEquals(List.of("Q8_0", "Q6_K", "w4-gptq"), VariantList.read(file).stream().map(VariantSpec::name).toList());
        Files.writeString(file, "Q8_0\nQ4_K_Z\n");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> VariantList.read(file));
        assertTrue(e.getMessage().startsWith(file + ":2: unknown variant \"Q4_K_Z\""), e.getMessage());
    }

    @Test
    void rejectsDuplicatesEmptyListsAndBadGroups() {
        assertThrows(InvalidInputException.class, () -> VariantList.parse("Q8_0,q8_0"));
        assertThrows(InvalidInputException.class, () -> VariantList.parse(" , "));
        InvalidInputException group = assertThrows(InvalidInputException.class, () -> VariantList.parse("w4-g7"));
        assertTrue(group.getMessage().contains("multiple of 8"), group.getMessage());
    }

    @Test
    void theFalconH1FamilyListInExamplesParses() {
        Path file = Path.of("").toAbsolutePath().getParent().resolve("examples/pipeline/falcon-h1-variants.txt");
        assertTrue(Files.isRegularFile(file), "missing " + file);
        List<VariantSpec> variants = VariantList.read(file);
        assertTrue(variants.size() >= 8, variants::toString);
    }
}
