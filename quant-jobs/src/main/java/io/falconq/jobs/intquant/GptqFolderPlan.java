package io.falconq.jobs.intquant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.falconq.formats.safetensors.SafetensorsShardPlan;
import io.falconq.formats.safetensors.SafetensorsWriter;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The folder an int-quant job writes, planned before it runs ({@link IntQuantJob#planFolder}): which tensor goes in
 * which shard, and the size of every file by the writers' own arithmetic (each shard's header and data, the index of
 * a sharded folder, the two config files, the source's other files as copied).
 *
 * @param fileBytes every file of the folder by name, shards first
 */
public record GptqFolderPlan(SafetensorsShardPlan shards, Map<String, Long> fileBytes) {
    /** Each shard's {@code "__metadata__"}, as transformers writes it. */
    static final Map<String, String> SHARD_METADATA = Map.of("format", "pt");

    public GptqFolderPlan {
        fileBytes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fileBytes));
    }

    static GptqFolderPlan of(SafetensorsShardPlan shards, JsonNode sourceConfig, ObjectNode quantizationConfig,
                             Map<String, Long> copiedFiles) {
        Map<String, Long> files = new LinkedHashMap<>();
        for (SafetensorsShardPlan.Shard shard : shards.shards()) {
            files.put(shard.fileName(), SafetensorsWriter.plannedFileSize(SHARD_METADATA, shard.tensors()));
        }
        if (shards.sharded()) {
            files.put(SafetensorsShardPlan.INDEX_FILE, (long) shards.indexJson().length);
        }
        GptqFolderWriter.configFiles(sourceConfig, quantizationConfig).forEach((n, b) -> files.put(n, (long) b.length));
        files.putAll(copiedFiles);
        return new GptqFolderPlan(shards, files);
    }

    /** Bytes of all files. */
    public long totalBytes() {
        return fileBytes.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Bytes of tensor data (the shards without their headers). */
    public long tensorBytes() {
        return shards.totalSize();
    }
}
