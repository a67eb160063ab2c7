package io.falconq.formats.gguf;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One typed GGUF metadata value. The type is part of the value: llama.cpp reads hparams with typed getters, so a
 * UINT32 written as INT32 is a different file (GGUF-NOTES.md §1.2). Java representation of {@link #value()}:
 *
 * <table>
 * <tr><th>type</th><th>scalar</th><th>array element type → array</th></tr>
 * <tr><td>UINT8, UINT16</td><td>Integer (0..255, 0..65535)</td><td>byte[] / short[] (raw bits)</td></tr>
 * <tr><td>INT8, INT16</td><td>Byte, Short</td><td>byte[], short[]</td></tr>
 * <tr><td>UINT32</td><td>Long (0..2^32-1)</td><td>int[] (raw bits)</td></tr>
 * <tr><td>INT32</td><td>Integer</td><td>int[]</td></tr>
 * <tr><td>FLOAT32, FLOAT64</td><td>Float, Double</td><td>float[], double[]</td></tr>
 * <tr><td>BOOL</td><td>Boolean</td><td>boolean[]</td></tr>
 * <tr><td>STRING</td><td>String</td><td>List&lt;String&gt;</td></tr>
 * <tr><td>UINT64, INT64</td><td>Long (UINT64 as raw bits)</td><td>long[]</td></tr>
 * </table>
 *
 * @param type        the value's type; ARRAY for arrays
 * @param elementType for arrays the element type (never ARRAY: GGUF has no nested arrays), otherwise null
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {
    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        if (type == GgufValueType.ARRAY) {
            Objects.requireNonNull(elementType, "elementType");
            if (elementType == GgufValueType.ARRAY) {
                throw new IllegalArgumentException("GGUF does not support arrays of arrays");
            }
            Class<?> expected = arrayClass(elementType);
            if (!expected.isInstance(value)) {
                throw new IllegalArgumentException("array of " + elementType + " needs a " + expected.getSimpleName()
                        + ", got " + value.getClass().getSimpleName());
            }
            if (value instanceof List<?> list) {
                for (Object o : list) {
                    if (!(o instanceof String)) {
                        throw new IllegalArgumentException("array of STRING holds a " + (o == null ? "null" : o.getClass().getSimpleName()));
                    }
                }
                value = List.copyOf(list.stream().map(String.class::cast).toList());
            } else {
                value = cloneArray(value);
            }
        } else {
            if (elementType != null) {
                throw new IllegalArgumentException("a scalar " + type + " has no element type");
            }
            Class<?> expected = scalarClass(type);
            if (!expected.isInstance(value)) {
                throw new IllegalArgumentException(type + " needs a " + expected.getSimpleName() + ", got "
                        + value.getClass().getSimpleName());
            }
            long range = switch (type) {
                case UINT8 -> 0xffL;
                case UINT16 -> 0xffffL;
                case UINT32 -> 0xffff_ffffL;
                default -> -1;
            };
            if (range > 0) {
                long v = ((Number) value).longValue();
                if (v < 0 || v > range) {
                    throw new IllegalArgumentException(type + " value " + v + " is out of range [0, " + range + "]");
                }
            }
        }
    }

    // ---- scalar factories -------------------------------------------------------------------------------------

    public static GgufValue u8(int v) {
        return new GgufValue(GgufValueType.UINT8, null, v);
    }

    public static GgufValue i8(byte v) {
        return new GgufValue(GgufValueType.INT8, null, v);
    }

    public static GgufValue u16(int v) {
        return new GgufValue(GgufValueType.UINT16, null, v);
    }

    public static GgufValue i16(short v) {
        return new GgufValue(GgufValueType.INT16, null, v);
    }

    public static GgufValue u32(long v) {
        return new GgufValue(GgufValueType.UINT32, null, v);
    }

    public static GgufValue i32(int v) {
        return new GgufValue(GgufValueType.INT32, null, v);
    }

    public static GgufValue f32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, null, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, null, v);
    }

    public static GgufValue string(String v) {
        return new GgufValue(GgufValueType.STRING, null, v);
    }

    /** UINT64 from raw bits (values of 2^63 and above are negative longs). */
    public static GgufValue u64(long v) {
        return new GgufValue(GgufValueType.UINT64, null, v);
    }

    public static GgufValue i64(long v) {
        return new GgufValue(GgufValueType.INT64, null, v);
    }

    public static GgufValue f64(double v) {
        return new GgufValue(GgufValueType.FLOAT64, null, v);
    }

    // ---- array factories --------------------------------------------------------------------------------------

    /** An array of {@code elementType}; {@code values} as listed in the class comment. */
    public static GgufValue array(GgufValueType elementType, Object values) {
        return new GgufValue(GgufValueType.ARRAY, elementType, values);
    }

    public static GgufValue stringArray(List<String> v) {
        return array(GgufValueType.STRING, v);
    }

    public static GgufValue i32Array(int[] v) {
        return array(GgufValueType.INT32, v);
    }

    /** UINT32 array from raw bits. */
    public static GgufValue u32Array(int[] v) {
        return array(GgufValueType.UINT32, v);
    }

    public static GgufValue f32Array(float[] v) {
        return array(GgufValueType.FLOAT32, v);
    }

    public static GgufValue boolArray(boolean[] v) {
        return array(GgufValueType.BOOL, v);
    }

    public boolean isArray() {
        return type == GgufValueType.ARRAY;
    }

    /** Elements of an array value (1 for a scalar). */
    public int length() {
        if (!isArray()) {
            return 1;
        }
        return value instanceof List<?> l ? l.size() : java.lang.reflect.Array.getLength(value);
    }

    /** A description such as {@code UINT32} or {@code ARRAY[STRING]}. */
    public String typeName() {
        return isArray() ? "ARRAY[" + elementType + "]" : type.name();
    }

    /** The value; arrays are returned as copies (string lists are immutable). */
    @Override
    public Object value() {
        return isArray() && !(value instanceof List<?>) ? cloneArray(value) : value;
    }

    /** The internal array without a copy, for writers; callers must not modify it. */
    Object rawValue() {
        return value;
    }

    static Class<?> scalarClass(GgufValueType t) {
        return switch (t) {
            case UINT8, UINT16, INT32 -> Integer.class;
            case INT8 -> Byte.class;
            case INT16 -> Short.class;
            case UINT32, UINT64, INT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case FLOAT64 -> Double.class;
            case ARRAY -> throw new IllegalArgumentException("ARRAY is not a scalar type");
        };
    }

    static Class<?> arrayClass(GgufValueType t) {
        return switch (t) {
            case UINT8, INT8 -> byte[].class;
            case UINT16, INT16 -> short[].class;
            case UINT32, INT32 -> int[].class;
            case FLOAT32 -> float[].class;
            case BOOL -> boolean[].class;
            case STRING -> List.class;
            case UINT64, INT64 -> long[].class;
            case FLOAT64 -> double[].class;
            case ARRAY -> throw new IllegalArgumentException("GGUF does not support arrays of arrays");
        };
    }

    private static Object cloneArray(Object a) {
        return switch (a) {
            case byte[] b -> b.clone();
            case short[] s -> s.clone();
            case int[] i -> i.clone();
            case long[] l -> l.clone();
            case float[] f -> f.clone();
            case double[] d -> d.clone();
            case boolean[] z -> z.clone();
            default -> throw new IllegalArgumentException("not a primitive array: " + a.getClass());
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufValue v && type == v.type && elementType == v.elementType
                && Arrays.deepEquals(new Object[] {value}, new Object[] {v.value});
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(new Object[] {type, elementType, value});
    }

    @Override
    public String toString() {
        if (!isArray()) {
            return type == GgufValueType.STRING ? "\"" + value + "\"" : type == GgufValueType.UINT64
                    ? Long.toUnsignedString((Long) value) : String.valueOf(value);
        }
        return typeName() + "(" + length() + ")";
    }
}
