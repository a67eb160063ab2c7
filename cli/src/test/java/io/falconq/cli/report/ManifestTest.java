package io.falconq.cli.report;

import io.falconq.formats.io.Sha256;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ManifestTest {
    // FIPS 180-2 appendix B.1: SHA-256("abc")
    static final String SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    // SHA-256 of the empty string (FIPS 180-4 examples / `sha256sum /dev/null`)
    static final String SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    @TempDir
    Path dist;

    @Test
    void listsPublishedFilesSortedWithSizeAndSha256() throws IOException {
        Files.createDirectories(dist.resolve("tiny/tiny-w4-gptq"));
        Files.writeString(dist.resolve("tiny/tiny-Q8_0.gguf"), "abc", StandardCharsets.US_ASCII);
        Files.write(dist.resolve("tiny/tiny-w4-gptq/model.safetensors"), new byte[0]);
        Files.writeString(dist.resolve("report.json"), "abc", StandardCharsets.US_ASCII);
        // never published: pipeline state, temporaries, an old manifest
        Files.createDirectories(dist.resolve(".falconq/steps"));
        Files.writeString(dist.resolve(".falconq/steps/x.done"), "state");
        Files.writeString(dist.resolve("tiny/tiny-Q4_0.gguf.partial-1234"), "half");
        Files.writeString(dist.resolve("manifest.json"), "old");

        Manifest manifest = Manifest.scan(dist);
        assertEquals(List.of(
                new Manifest.Entry("report.json", 3, SHA256_ABC),
                new Manifest.Entry("tiny/tiny-Q8_0.gguf", 3, SHA256_ABC),
                new Manifest.Entry("tiny/tiny-w4-gptq/model.safetensors", 0, SHA256_EMPTY)), manifest.artifacts());

        manifest.write(dist.resolve(Manifest.FILE_NAME), true);
        String json = Files.readString(dist.resolve(Manifest.FILE_NAME));
        assertTrue(json.contains("\"path\" : \"tiny/tiny-Q8_0.gguf\""), json);
        assertEquals(json, Manifest.scan(dist).toJson(), "rescanning gives the same bytes (manifest excludes itself)");
    }

    @Test
    void reportFilesWritesAllFourAndRerenderReproducesThem() throws IOException {
        ReportFiles.writeAll(SampleReports.tinyReport(), dist);
        String md = Files.readString(dist.resolve(MarkdownReport.FILE_NAME));
        String html = Files.readString(dist.resolve(HtmlReport.FILE_NAME));
        String manifest = Files.readString(dist.resolve(Manifest.FILE_NAME));
        assertTrue(manifest.contains("report.html") && manifest.contains("report.md") && manifest.contains("report.json"));
        Files.delete(dist.resolve(MarkdownReport.FILE_NAME));
        Files.delete(dist.resolve(HtmlReport.FILE_NAME));
        Report reread = ReportFiles.rerender(dist);
        assertEquals(SampleReports.tinyReport(), reread);
        assertEquals(md, Files.readString(dist.resolve(MarkdownReport.FILE_NAME)));
        assertEquals(html, Files.readString(dist.resolve(HtmlReport.FILE_NAME)));
        assertEquals(manifest, Files.readString(dist.resolve(Manifest.FILE_NAME)));
    }

    @Test
    void sha256MatchesThePublishedTestVector() {
        assertEquals(SHA256_ABC, Sha256.of("abc".getBytes(StandardCharsets.US_ASCII)));
    }
}
