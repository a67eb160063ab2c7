package io.falconq.formats.gguf;

import io.falconq.formats.io.InvalidInputException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * GGUF key/value metadata in insertion (file) order, each value with its exact wire type. Typed getters fail with
 * an {@link InvalidInputException} naming the key, the expected and the actual type. Instances returned by the
 * reader are read-only; {@link #copy()} gives a mutable one for a writer.
 */
public final class GgufMetadata {
    /** {@code GGUF_KEY_GENERAL_ALIGNMENT}: UINT32, a power of two; 32 when absent. */
    public static final String ALIGNMENT_KEY = "general.alignment";
    public static final int DEFAULT_ALIGNMENT = 32;

    private final LinkedHashMap<String, GgufValue> values;
    private final String origin;
    private final boolean readOnly;

    private GgufMetadata(LinkedHashMap<String, GgufValue> values, String origin, boolean readOnly) {
        this.values = values;
        this.origin = origin;
        this.readOnly = readOnly;
    }

    /** An empty, mutable metadata map. */
    public GgufMetadata() {
        this(new LinkedHashMap<>(), null, false);
    }

    /** A mutable copy. */
    public GgufMetadata copy() {
        return new GgufMetadata(new LinkedHashMap<>(values), null, false);
    }

    /** A read-only copy whose error messages name {@code origin} (e.g. the file). */
    public GgufMetadata readOnlyCopy(String origin) {
        return new GgufMetadata(new LinkedHashMap<>(values), origin, true);
    }

    /** Adds or replaces {@code key} (a replaced key keeps its position). */
    public GgufMetadata put(String key, GgufValue value) {
        if (readOnly) {
            throw new UnsupportedOperationException("metadata read from " + origin + " is read-only; use copy()");
        }
        if (key == null || key.isEmpty()) {
            throw new IllegalArgumentException("GGUF keys must not be empty");
        }
        values.put(key, java.util.Objects.requireNonNull(value, "value"));
        return this;
    }

    public GgufMetadata putU32(String key, long v) {
        return put(key, GgufValue.u32(v));
    }

    public GgufMetadata putI32(String key, int v) {
        return put(key, GgufValue.i32(v));
    }

    public GgufMetadata putF32(String key, float v) {
        return put(key, GgufValue.f32(v));
    }

    public GgufMetadata putBool(String key, boolean v) {
        return put(key, GgufValue.bool(v));
    }

    public GgufMetadata putString(String key, String v) {
        return put(key, GgufValue.string(v));
    }

    public GgufMetadata putU64(String key, long v) {
        return put(key, GgufValue.u64(v));
    }

    public GgufMetadata remove(String key) {
        if (readOnly) {
            throw new UnsupportedOperationException("metadata read from " + origin + " is read-only; use copy()");
        }
        values.remove(key);
        return this;
    }

    public boolean containsKey(String key) {
        return values.containsKey(key);
    }

    public int size() {
        return values.size();
    }

    /** Keys in order. */
    public List<String> keys() {
        return List.copyOf(values.keySet());
    }

    /** Entries in order (unmodifiable view). */
    public Map<String, GgufValue> asMap() {
        return Collections.unmodifiableMap(values);
    }

    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public GgufValue get(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            throw new InvalidInputException(where() + "missing GGUF key '" + key + "'");
        }
        return v;
    }

    /** The alignment this metadata prescribes: {@code general.alignment} (UINT32, power of two) or 32. */
    public int alignment() {
        GgufValue v = values.get(ALIGNMENT_KEY);
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        long a = scalar(ALIGNMENT_KEY, GgufValueType.UINT32, Long.class);
        if (a == 0 || (a & (a - 1)) != 0) {
            throw new InvalidInputException(where() + "'" + ALIGNMENT_KEY + "' = " + a + " is not a power of two");
        }
        return (int) a;
    }

    // ---- typed getters ----------------------------------------------------------------------------------------

    public int getU16(String key) {
        return scalar(key, GgufValueType.UINT16, Integer.class);
    }

    /** A UINT32 value, 0..2^32-1. */
    public long getU32(String key) {
        return scalar(key, GgufValueType.UINT32, Long.class);
    }

    /** A UINT32 value that must fit an int (counts and sizes). */
    public int getU32AsInt(String key) {
        long v = getU32(key);
        if (v > Integer.MAX_VALUE) {
            throw new InvalidInputException(where() + "GGUF key '" + key + "' = " + v + " is too large (> 2^31-1)");
        }
        return (int) v;
    }

    public int getI32(String key) {
        return scalar(key, GgufValueType.INT32, Integer.class);
    }

    public float getF32(String key) {
        return scalar(key, GgufValueType.FLOAT32, Float.class);
    }

    public boolean getBool(String key) {
        return scalar(key, GgufValueType.BOOL, Boolean.class);
    }

    public String getString(String key) {
        return scalar(key, GgufValueType.STRING, String.class);
    }

    /** A UINT64 value as raw bits. */
    public long getU64(String key) {
        return scalar(key, GgufValueType.UINT64, Long.class);
    }

    @SuppressWarnings("unchecked")
    public List<String> getStringArray(String key) {
        return (List<String>) array(key, GgufValueType.STRING).rawValue();
    }

    public int[] getI32Array(String key) {
        return (int[]) array(key, GgufValueType.INT32).value();
    }

    /** A UINT32 array as raw bits. */
    public int[] getU32Array(String key) {
        return (int[]) array(key, GgufValueType.UINT32).value();
    }

    public float[] getF32Array(String key) {
        return (float[]) array(key, GgufValueType.FLOAT32).value();
    }

    public boolean[] getBoolArray(String key) {
        return (boolean[]) array(key, GgufValueType.BOOL).value();
    }

    private GgufValue array(String key, GgufValueType elementType) {
        GgufValue v = get(key);
        if (!v.isArray() || v.elementType() != elementType) {
            throw typeMismatch(key, "ARRAY[" + elementType + "]", v);
        }
        return v;
    }

    private <T> T scalar(String key, GgufValueType type, Class<T> cls) {
        GgufValue v = get(key);
        if (v.type() != type) {
            throw typeMismatch(key, type.name(), v);
        }
        return cls.cast(v.rawValue());
    }

    private InvalidInputException typeMismatch(String key, String expected, GgufValue actual) {
        return new InvalidInputException(where() + "GGUF key '" + key + "' has type " + actual.typeName()
                + ", expected " + expected);
    }

    private String where() {
        return origin == null ? "" : origin + ": ";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufMetadata m && values.equals(m.values) && keys().equals(m.keys());
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
