package io.falconq.cli.report;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * How an {@code auto@} variant's per-tensor types were chosen (issue 15): the budget, the allocator's prediction, the
 * chosen types, and the measured sensitivities they were chosen from at one reference type.
 *
 * @param budget            {@code size:BYTES} (a stock mix's file size) or {@code bpw:BITS}, as recorded in the GGUF
 * @param fileType          the file type (general.file_type; the mix of tensors the table does not cover)
 * @param predictedDeltaKld the table's summed ΔKLD of the chosen types (nats), what the allocation minimised
 * @param exact             whether the solver proved the choice optimal for the table
 * @param types             every quantized tensor's type (GGUF tensor name → ggml type name)
 * @param referenceType     the type {@code referenceDeltaKld} is measured at
 * @param referenceDeltaKld measured ΔKLD (nats) of each tensor quantized alone to {@code referenceType}; tensors
 *                          that cannot take it are absent
 */
public record AllocationReport(String budget, String fileType, double predictedDeltaKld, boolean exact,
                               Map<String, String> types, String referenceType, Map<String, Double> referenceDeltaKld) {
    public AllocationReport {
        Objects.requireNonNull(budget, "budget");
        Objects.requireNonNull(fileType, "fileType");
        Objects.requireNonNull(referenceType, "referenceType");
        ReportChecks.requireFinite("allocation", "predictedDeltaKld", predictedDeltaKld);
        types = Collections.unmodifiableMap(new TreeMap<>(types));
        referenceDeltaKld = Collections.unmodifiableMap(new TreeMap<>(referenceDeltaKld));
    }
}
